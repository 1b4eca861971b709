"""Measure how fast the command line starts: ``--help`` and ``cases`` beside a bare Python start.

    python bench/cli_start.py [--runs 15]

Each command runs ``--runs`` times in a fresh process (``cases`` on a new, migrated SQLite
database in a temporary folder, which is also the working folder: no ``.env`` is read), and the
median wall time of each is printed with how much it costs over ``python -c pass``, against the
targets of the command line (``--help`` under 300 ms, ``cases`` under 800 ms over a bare start).
``python -c "import sqlmodel"`` is timed too, for scale: most of what ``cases`` needs is the ORM.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGETS = {"--help": 0.300, "cases": 0.800}  # seconds over a bare Python start


def _command() -> list[str]:
    """The installed console script when there is one (what an operator runs), else the same
    entry point through ``-c``."""
    script = Path(sys.executable).with_name("privacy-desk")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from bot.cli import main; raise SystemExit(main())"]


def _median(argv: list[str], runs: int, env: dict[str, str], cwd: str) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="runs of each command (15)")
    args = parser.parse_args(argv)

    desk = _command()
    with tempfile.TemporaryDirectory(prefix="pd-bench-start-") as tmp:
        # The desk's own settings only: none of the caller's PD_* or SLACK_* names.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PD_", "SLACK_"))}
        env["PD_DATABASE_URL"] = f"sqlite:///{tmp}/desk.db"
        subprocess.run([*desk, "db", "upgrade"], env=env, cwd=tmp, stdout=subprocess.DEVNULL, check=True)  # fmt: skip
        bare = _median([sys.executable, "-c", "pass"], args.runs, env, tmp)
        # For scale on a loaded machine: what the ORM's import alone costs here and now.
        orm = _median([sys.executable, "-c", "import sqlmodel"], args.runs, env, tmp)
        print(f"median of {args.runs} runs; {' '.join(desk)}")
        print(f"{'command':<12}{'median ms':>10}{'over bare':>11}{'target':>9}")
        print(f"{'bare python':<12}{bare * 1000:>10.0f}")
        print(f"{'(the ORM)':<12}{orm * 1000:>10.0f}{(orm - bare) * 1000:>11.0f}")
        failed = False
        for command, target in TARGETS.items():
            took = _median([*desk, command], args.runs, env, tmp)
            over = took - bare
            failed |= over > target
            verdict = "ok" if over <= target else "SLOW"
            print(
                f"{command:<12}{took * 1000:>10.0f}{over * 1000:>11.0f}"
                f"{target * 1000:>7.0f}  {verdict}"
            )
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
