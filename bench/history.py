"""Measure a requester's history (``storage.repo.requester_history``) among 100,000 cases.

    python bench/history.py [--n 100000] [--runs 200] [--postgresql URL]

Builds a database of N cases (SQLite in a temporary folder, or the empty PostgreSQL database at
URL) with bulk inserts: most requesters write once, 5,000 write about six times, and one
busy requester (1,000 cases by address, 1,000 more by name and phone from other addresses, a
shared phone number with 300 other names). Then times ``requester_history`` for random cases
and for cases of the busy requester and its shared line: median and p95 over ``--runs`` calls.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, insert, text
from sqlmodel import Session, select

from storage import repo
from storage.db import open_database
from storage.models import Case

START = datetime(2024, 1, 1, tzinfo=UTC)
BUSY = "busy@example.jp"
BUSY_NAME, BUSY_PHONE = "佐藤 花子", "09012345678"


def _rows(n: int, rand: random.Random) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for i in range(n):
        # most write once; 30% are among 5,000 who write again (six cases each on average)
        person = n + rand.randrange(5000) if rand.random() < 0.3 else i
        rows.append(
            {
                "ref": f"PD-{2024 + i // 400_000}-{i % 400_000:06d}",
                "requester": f"person{person}@example.jp",
                "requester_name": f"Requester {person}",
                "requester_phone": f"080{person:08d}"[:11],
                "received_at": START + timedelta(minutes=7 * i),
            }
        )
    for i in range(1000):  # the busy requester by address, then by name and phone elsewhere
        rows[i * 37]["requester"] = BUSY
        rows[i * 37 + 1].update(
            requester=f"work{i}@example.co.jp", requester_name=BUSY_NAME, requester_phone=BUSY_PHONE
        )
    for i in range(300):  # a shared line: the same phone, other names
        rows[i * 101 + 5].update(requester_phone=BUSY_PHONE, requester_name=f"Other {i}")
    return rows


def build(engine: Engine, n: int, seed: int) -> None:
    rand = random.Random(seed)
    table = Case.__table__  # type: ignore[attr-defined]
    now = datetime.now(UTC)
    common = {
        "kind": "privacy",
        "status": "new",
        "intents": ["deletion"],
        "language": "ja",
        "jurisdiction": "appi",
        "needs_triage": False,
        "flags": [],
        "slack_state": "posted",
        "created_at": now,
        "updated_at": now,
    }
    rows = [{**common, **row} for row in _rows(n, rand)]
    with engine.begin() as connection:
        for start in range(0, len(rows), 5000):
            connection.execute(insert(table), rows[start : start + 5000])
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text('ANALYZE "case"'))
        else:
            connection.execute(text("ANALYZE"))


def _time(engine: Engine, cases: list[Case], runs: int) -> tuple[float, float, float]:
    """(median ms, p95 ms, mean cases found) of ``runs`` lookups over ``cases``."""
    took, found = [], 0
    with Session(engine) as session:
        for i in range(runs):
            case = cases[i % len(cases)]
            started = time.perf_counter()
            found += len(repo.requester_history(session, case))
            took.append((time.perf_counter() - started) * 1000)
    took.sort()
    return statistics.median(took), took[int(len(took) * 0.95) - 1], found / runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=20261202)
    parser.add_argument("--postgresql", metavar="URL", help="an empty PostgreSQL database")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="pd-bench-") as tmp:
        url = args.postgresql or f"sqlite:///{tmp}/history.db"
        engine = open_database(url, auto_upgrade=True)
        started = time.perf_counter()
        build(engine, args.n, args.seed)
        print(
            f"{engine.dialect.name}: {args.n:,} cases built in {time.perf_counter() - started:.1f} s"
        )
        rand = random.Random(args.seed)
        with Session(engine, expire_on_commit=False) as session:
            ids = rand.sample(range(1, args.n + 1), min(args.runs, args.n))
            sample = list(session.exec(select(Case).where(Case.id.in_(ids))))  # type: ignore[union-attr]
            busy = list(
                session.exec(select(Case).where(Case.requester_phone == BUSY_PHONE).limit(20))
            )
        print(f"{'lookup':<34} {'median ms':>10} {'p95 ms':>8} {'found':>6}")
        for name, cases in (("random case", sample), ("busy requester / shared line", busy)):
            median, p95, found = _time(engine, cases, args.runs)
            print(f"{name:<34} {median:>10.2f} {p95:>8.2f} {found:>6.1f}")
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
