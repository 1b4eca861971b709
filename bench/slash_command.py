"""How long ``/privacy open``, ``mine`` and ``search`` take to find their answer, against the
ack budget (``bot.slack.home.ACK_BUDGET``, 2 s; Slack allows 3 s for the ack).

    python bench/slash_command.py [--cases N] [--runs R]

A new SQLite desk in a temporary folder gets N cases (default 300, all assigned to one staff
member, each with a long subject), as tests/bot/slack/test_command.py builds them; then each
subcommand is answered R times (default 5) by the code behind the Slack command. Printed: the
subcommand, median and slowest wall time, and whether the slowest was within the ack budget
(when it is not, staff get "Looking that up…" first and the answer follows: still in time,
but a step more). Run it on an idle machine: it measures speed, the tests do not.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from sqlmodel import Session  # noqa: E402
from support import add_case  # noqa: E402

from bot.slack import home  # noqa: E402
from storage.db import make_engine, upgrade  # noqa: E402

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
STAFF = "U0STAFF001"
SUBJECT = "<!channel> *bold* evil.example " + "長い件名" * 200
ASKED = ("open", "mine", "search example")


def fill(url: str, count: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    with Session(engine) as session:
        for n in range(count):
            add_case(
                session,
                f"requester{n:03d}@example.jp",
                received=NOW - timedelta(days=3),
                due=NOW + timedelta(hours=n + 1),
                assignee=STAFF,
                subject=SUBJECT,
            )
        session.commit()
    engine.dispose()


async def answer(desk: Any, text: str) -> float:
    started = time.perf_counter()
    await desk.answer(text, STAFF, None)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/desk.db"
        fill(url, args.cases)
        engine = make_engine(url)
        desk = home._Desk(engine, "partial", lambda: NOW)
        print(f"{args.cases:,} cases; ack budget {home.ACK_BUDGET:.1f} s")
        print(f"{'subcommand':<16}{'median ms':>10}{'slowest ms':>11}  within budget")
        for text in ASKED:
            took = [asyncio.run(answer(desk, text)) for _ in range(args.runs)]
            within = "yes" if max(took) <= home.ACK_BUDGET else "NO"
            median, slowest = statistics.median(took) * 1000, max(took) * 1000
            print(f"{text:<16}{median:>10.1f}{slowest:>11.1f}  {within}")
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
