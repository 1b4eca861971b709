"""How many rights requests of a labelled corpus get the legal clock the law gives them.

    python bench/clock_coverage.py CORPUS_DIR [CORPUS_DIR...]

Each folder is in the LABELS.md format. Every message is taken in, through the desk's own intake
(``bot.intake.Intake``), into a new SQLite database in a temporary folder; then, for every message
labelled with a rights request, the case it landed in is read back. A request is *covered* when
its case's answer deadline is no later than the one the law gives its labelled rights requests,
counted from its receipt (APPI: 14 calendar days; a marketing opt-out 15 business days) — whether
the classifier read the request or the safety net (DESIGN rule 6) gave the case the strictest
rights-request clock while it waits for triage.
Printed: per folder and in all, requests, covered, and the uncovered ones split by what became of
them (archived as machine mail or spam, or a case with a later or no deadline), with file names.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlmodel import Session

from bot.intake import Intake, read, received_time
from handlers import sla
from handlers.intents import RIGHTS
from storage import repo
from storage.db import make_engine, upgrade


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpora", nargs="+", type=Path, metavar="CORPUS_DIR")
    args = parser.parse_args(argv)
    now = datetime.now(UTC)
    totals: Counter[str] = Counter()
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/coverage.db")
        upgrade(engine)
        intake = Intake(engine, clock=lambda: now)
        for corpus in args.corpora:
            counts: Counter[str] = Counter()
            missed: list[str] = []
            for line in (corpus / "labels.jsonl").read_text(encoding="utf-8").splitlines():
                if not line.strip():
                    continue
                row = json.loads(line)
                item = read((corpus / row["file"]).read_bytes())
                result = intake.process_read(item)
                if not set(row["intents"]) & set(RIGHTS):
                    continue
                counts["requests"] += 1
                received = received_time(item.message, now) if item.message else now
                wanted = [i for i in row["intents"] if i in RIGHTS]
                owed = sla.deadlines(received, wanted).answer_due
                assert owed is not None
                due = None
                if result.ref:
                    with Session(engine) as session:
                        case = repo.case_by_ref(session, result.ref)
                        due = case.answer_due if case else None
                if due is not None and due <= owed:
                    counts["covered"] += 1
                    continue
                why = (
                    result.action
                    if result.action in ("archived", "duplicate")
                    else ("later deadline" if due else "no deadline")
                )
                counts[why] += 1
                missed.append(f"{row['file']} ({why}; labelled {', '.join(row['intents'])})")
            totals.update(counts)
            _print(str(corpus), counts, missed)
        engine.dispose()
    if len(args.corpora) > 1:
        _print("all", totals, [])
    return 0


def _print(name: str, counts: Counter[str], missed: list[str]) -> None:
    requests, covered = counts["requests"], counts["covered"]
    rest = ", ".join(
        f"{k} {v}" for k, v in sorted(counts.items()) if k not in ("requests", "covered")
    )
    share = covered / requests if requests else 1.0
    print(
        f"{name}: {requests} rights requests, {covered} with their clock ({share:.3f}); {rest or 'none without'}"
    )
    for line in missed:
        print(f"  {line}")


if __name__ == "__main__":
    sys.exit(main())
