"""Measure end-to-end intake into SQLite: messages per second and peak memory.

    python bench/ingest.py [--n 10000] [--size 5000] [--workers 2]

Writes N generated messages (the mix of bench/parse_classify.py, each with its own Message-ID) to
a temporary folder, then runs ``privacy-desk ingest FOLDER`` in a fresh process into a new SQLite
database under the same temporary folder, and reports the rate and the peak RSS of the largest
process (the command, or the worker that parses and classifies beside it).
A second run over the same folder (everything already stored) is timed too.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from parse_classify import generate

ROOT = Path(__file__).resolve().parent.parent


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _run_ingest(folder: Path, url: str) -> tuple[float, int, str]:
    """Run the real command in a fresh process; (seconds, exit status, last line)."""
    env = dict(os.environ, PD_DATABASE_URL=url)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; raise SystemExit(main())",
         "ingest", "--quiet", str(folder)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    return seconds, done.returncode, (done.stdout.strip().splitlines() or [done.stderr])[-1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--size", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=20261101)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="pd-bench-") as tmp:
        folder = Path(tmp) / "mail"
        folder.mkdir()
        total = 0
        for i, (_kind, raw) in enumerate(generate(args.n, args.size, args.seed)):
            (folder / f"{i:06d}.eml").write_bytes(raw)
            total += len(raw)
        url = f"sqlite:///{tmp}/bench.db"
        rows = []
        for label in ("first ingest", "again (all duplicates)"):
            seconds, code, last = _run_ingest(folder, url)
            if code != 0:
                print(f"ingest exited {code}: {last}", file=sys.stderr)
                return 1
            rows.append((label, seconds, last))
        print(f"{args.n} messages, {total / args.n:,.0f} bytes on average, into {url}")
        print(f"{'run':<24}{'seconds':>9}{'msg/s':>10}  command's summary")
        for label, seconds, last in rows:
            print(f"{label:<24}{seconds:>9.2f}{args.n / seconds:>10,.0f}  {last}")
        largest = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"peak RSS of the largest process (the command or its worker): {largest:.1f} MiB")
        print(f"database size {Path(tmp, 'bench.db').stat().st_size / 2**20:.1f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
