"""``privacy-desk templates`` tells whoever drafts a reply which letters exist and what each one
needs; ``draft`` with several bad values names every one of them at once, with the bad value."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from support import add_case

from bot.cli import main
from templates import TEMPLATE_NAMES


def test_templates_lists_every_letter_with_its_languages_and_what_it_answers(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["templates"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["TEMPLATE", "LANGUAGES", "ANSWERS"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert list(rows) == list(TEMPLATE_NAMES)
    assert "ja, en" in rows["purpose_notice"] and "Art. 32(2)" in rows["purpose_notice"]
    assert "third-party records" in rows["disclosure_answer"]


def test_templates_show_lists_each_value_with_kind_choices_default_and_whether_required(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["templates", "show", "disclosure_answer"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines()[3:] if line.strip()}
    assert rows["VALUE"].split() == ["VALUE", "KIND", "REQUIRED", "DEFAULT", "CHOICES", "MEANING"]
    assert "yes" in rows["method"] and "email, post, file" in rows["method"]
    assert "yes (may be empty)" in rows["items"]
    assert "whole number > 0" in rows["fee"] and "(left out)" in rows["fee"]
    assert "Art. 38" in rows["fee"]
    assert "email, post, file" in rows["requested_method"]
    assert "third_party_records" in rows and " no " in rows["third_party_records"]

    assert main(["templates", "show", "ack", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    late = next(v for v in record["values"] if v["value"] == "late")
    assert (late["kind"], late["required"], late["default"]) == ("flag", False, "no")
    assert record["languages"] == ["ja", "en"]


def test_templates_show_of_an_unknown_template_names_the_ones_there_are(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["templates", "show", "disclosure"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no mail template 'disclosure'" in err
    assert "disclosure_answer" in err


def test_an_operators_folder_shows_in_the_languages(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "ack.ja.txt.j2").write_text("{% set subject %}x{% endset %}x", encoding="utf-8")
    monkeypatch.setenv("PD_TEMPLATES_DIR", str(tmp_path))
    assert main(["templates", "--json"]) == 0
    assert {r["template"]: r["languages"] for r in json.loads(capsys.readouterr().out)}["ack"] == [
        "ja",
        "en",
    ]


def test_a_draft_with_three_bad_values_reports_all_three_one_per_line(
    database: str,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PD_DATABASE_URL", database)
    now = datetime.now(UTC)
    with Session(engine) as session:
        ref = add_case(session, "hanako@example.jp", received=now, due=now + timedelta(days=14))
        session.commit()
    args = ["draft", ref, "disclosure_answer", "--set", "method=fax", "--set", "fee=-500",
            "--set", "posted_on=2026-13-01", "--set", "items=会員情報", "--as", "yamada"]  # fmt: skip
    assert main(args) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "privacy-desk: disclosure_answer: 3 values are missing or wrong:",
        "  value 'method' must be one of email, post, file, not 'fax'",
        "  value 'posted_on' must be a date (YYYY-MM-DD) or an aware datetime, not '2026-13-01'",
        "  value 'fee' must be a whole number above zero, not '-500'",
    ]
