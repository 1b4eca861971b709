"""The README's first job on embedded defaults: `privacy-desk ingest examples/mail` then
`privacy-desk cases`, in a fresh folder with nothing configured: an SQLite database appears under
./var and the cases are listed with their intents and due dates."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.cli import main

TOKYO = ZoneInfo("Asia/Tokyo")
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "mail"


def test_ingest_the_examples_then_list_the_cases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "examples" / "mail")
    monkeypatch.chdir(tmp_path)
    labels = [
        json.loads(line)
        for line in (EXAMPLES / "labels.jsonl").read_text().splitlines()
        if line.strip()
    ]
    machine = [x for x in labels if {"auto_reply", "spam"} & set(x["intents"])]
    requests = [x for x in labels if x not in machine]

    assert main(["ingest", "examples/mail"]) == 0
    ingested = capsys.readouterr().out
    assert (tmp_path / "var" / "privacy-desk.db").is_file()
    assert ingested.splitlines()[-1] == (
        f"{len(labels)} messages: {len(machine)} archived, {len(requests)} opened"
    )
    line_001 = next(line for line in ingested.splitlines() if line.endswith("001.eml"))
    assert "disclosure" in line_001
    assert "due 2026-11-17" in line_001  # received 3 Nov 09:15 JST + 14 calendar days

    assert main(["cases", "--json"]) == 0
    cases = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert Counter(tuple(c["intents"]) for c in cases) == Counter(
        tuple(sorted(x["intents"])) for x in requests
    )
    for case in cases:
        assert case["status"] == "new"
        # No human mail without a clock (DESIGN rule 6): a case nobody has read yet runs on
        # the strictest rights-request deadline and waits for a person to decide what it is.
        assert case["answer_due"] is not None
        if not case["intents"]:
            assert case["needs_triage"] and case["triage_due"] is not None
        assert "@" in case["requester"] and "***" in case["requester"]

    assert main(["cases"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:4] == ["case", "status", "kind", "intents"]
    assert "due" in table[0].split()
    assert table[-1] == f"{len(requests)} cases"
    rows = {line.split()[0]: line for line in table[1:-1]}
    assert set(rows) == {c["ref"] for c in cases}
    for case in cases:
        row = rows[case["ref"]]
        for intent in case["intents"]:
            assert intent in row
        if case["answer_due"]:
            due = datetime.fromisoformat(case["answer_due"]).astimezone(TOKYO)
            assert due.date().isoformat() in row
