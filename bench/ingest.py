"""Measure end-to-end intake into SQLite: messages per second and peak memory.

    python bench/ingest.py [--n 10000] [--size 5000] [--workers 2]

Writes N generated messages (the mix of bench/parse_classify.py, each with its own Message-ID) to
a temporary folder, then runs the same path as ``privacy-desk ingest FOLDER`` into a fresh SQLite
database under the same temporary folder, and reports the rate and the peak RSS of the process.
A second run over the same folder (everything already stored) is timed too.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from parse_classify import generate

from bot.cli import main as cli_main


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--size", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=20261101)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="pd-bench-") as tmp:
        folder = Path(tmp) / "mail"
        folder.mkdir()
        kinds: Counter[str] = Counter()
        total = 0
        for i, (kind, raw) in enumerate(generate(args.n, args.size, args.seed)):
            (folder / f"{i:06d}.eml").write_bytes(raw)
            kinds[kind] += 1
            total += len(raw)
        rss_before = _peak_rss_mib()
        url = f"sqlite:///{tmp}/bench.db"
        os.environ["PD_DATABASE_URL"] = url
        rows = []
        for label in ("first ingest", "again (all duplicates)"):
            started = time.perf_counter()
            code = cli_main(["ingest", "--quiet", str(folder)])
            seconds = time.perf_counter() - started
            if code != 0:
                print(f"ingest exited {code}", file=sys.stderr)
                return code
            rows.append((label, seconds))
        print(f"{args.n} messages, {total / args.n:,.0f} bytes on average, into {url}")
        print(f"{'run':<24}{'seconds':>9}{'msg/s':>10}")
        for label, seconds in rows:
            print(f"{label:<24}{seconds:>9.2f}{args.n / seconds:>10,.0f}")
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(
            f"peak RSS {_peak_rss_mib():.1f} MiB (before ingest: {rss_before:.1f} MiB; "
            f"largest worker process: {children:.1f} MiB)"
        )
        print(f"database size {Path(tmp, 'bench.db').stat().st_size / 2**20:.1f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
