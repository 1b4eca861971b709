"""How long `privacy-desk cases` takes over 100,000 cases, with each filter.

    python bench/cases_listing.py [--cases N] [--runs R] [--database URL]

A new database (SQLite in a temporary folder by default; ``--database`` names an empty
PostgreSQL one) is filled with N cases (default 100,000: a third open, varied intents,
assignees and receipt days), then each command below runs R times (default 5) in this process,
the way a user runs it, its output discarded. Printed: the command, the rows it printed and the
median and slowest wall time. The page is cut and counted in SQL, and only the rows shown are
asked whether they are overdue, so a page should cost little more than the count.

Measured 2026-12-03 (branch search), ``python bench/cases_listing.py --runs 3`` and with
``--database postgresql+psycopg://postgres@127.0.0.1/<an empty database>``, 100,000 cases, on
the shared 2-core machine while seven other helpers ran their tests (load average 13-16: several
times an idle machine's figures). Median ms, SQLite / PostgreSQL:

    cases                                          356 / 580
    cases --status in_progress                     268 / 296
    cases --assignee U0STAFF007                    398 / 499
    cases --intent disclosure --intent complaint   720 / 481
    cases --since 2026-01-01                       572 / 432
    cases --overdue                                971 / 451
    cases --json --limit 500                       428 / 621
    cases --limit 0 (100,002 lines)             24,914 / 23,905

``cases --limit 0`` took 49 s before (Case objects loaded one by one and every cell measured
character by character); it reads plain rows now (``storage.repo.CaseLine``). What is left is
Python's per row work (decoding JSON and timestamps, formatting 100,000 lines), linear in the
cases.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert

from bot.cli import main
from storage.db import make_engine, upgrade
from storage.models import Case

INTENTS = (["deletion"], ["disclosure"], ["stop_use", "complaint"], ["inquiry"], [])
STATUSES = ("new", "in_progress", "awaiting_approval", "answered", "closed", "closed")
COMMANDS = (
    ["cases"],
    ["cases", "--status", "in_progress"],
    ["cases", "--assignee", "U0STAFF007"],
    ["cases", "--intent", "disclosure", "--intent", "complaint"],
    ["cases", "--since", "2026-01-01"],
    ["cases", "--overdue"],
    ["cases", "--json", "--limit", "500"],
    ["cases", "--limit", "0"],
)


def fill(url: str, count: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    rows = []
    for n in range(count):
        received = start + timedelta(minutes=7 * n)
        rows.append(
            {
                "ref": f"PD-{received.year}-{n + 1:06d}",
                "kind": "privacy",
                "status": STATUSES[n % len(STATUSES)],
                "intents": INTENTS[n % len(INTENTS)],
                "language": "ja",
                "requester": f"user{n}@example.jp",
                "requester_name": "",
                "jurisdiction": "appi",
                "received_at": received,
                "answer_due": received + timedelta(days=14),
                "needs_triage": False,
                "flags": [],
                "assignee": f"U0STAFF{n % 40:03d}" if n % 3 else None,
                "slack_state": "posted",
                "created_at": received,
                "updated_at": received,
            }
        )
    with engine.begin() as connection:
        for at in range(0, len(rows), 10_000):
            connection.execute(insert(Case), rows[at : at + 10_000])
    engine.dispose()


def timed(argv: list[str], runs: int) -> tuple[int, list[float]]:
    times: list[float] = []
    lines = 0
    for _ in range(runs):
        out = io.StringIO()
        began = time.perf_counter()
        with contextlib.redirect_stdout(out):
            assert main(argv) == 0
        times.append(time.perf_counter() - began)
        lines = out.getvalue().count("\n")
    return lines, times


def run(url: str, count: int, runs: int) -> None:
    fill(url, count)
    os.environ["PD_DATABASE_URL"] = url
    print(f"{count:,} cases, {url.split(':', 1)[0]}, median and slowest of {runs} runs")
    for argv in COMMANDS:
        lines, times = timed(argv, runs)
        print(
            f"  {' '.join(argv):<50} {lines:>7,} lines  "
            f"{statistics.median(times) * 1000:7.0f} ms  (max {max(times) * 1000:.0f} ms)"
        )


def main_bench(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database", help="an empty PostgreSQL database URL (default: SQLite)")
    args = parser.parse_args(argv)
    if args.database:
        run(args.database, args.cases, args.runs)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{tmp}/cases.db", args.cases, args.runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main_bench())
