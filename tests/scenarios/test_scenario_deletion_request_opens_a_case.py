"""A requester asks by mail for their data to be deleted: a case opens with the APPI deadline,
and `privacy-desk case REF --json` shows what was asked, why, the message and the audit trail."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from bot.cli import main
from bot.intake import Intake

TOKYO = ZoneInfo("Asia/Tokyo")
# 01:30 in Tokyo on 3 March is still 2 March in UTC: the day that counts is Tokyo's.
SENT = datetime(2026, 3, 2, 16, 30, tzinfo=UTC)
NOW = datetime(2026, 3, 3, 0, 5, tzinfo=UTC)
DUE = datetime(2026, 3, 17, 23, 59, 59, 999999, tzinfo=TOKYO)  # 3 March + 14 calendar days

REQUEST = (
    "ヒカクプラス会員の佐藤花子です。\n"
    "私の個人情報をすべて削除してください。\n"
    "よろしくお願いいたします。"
)


def test_deletion_request_opens_a_case_with_its_deadline(
    database: str,
    engine: Engine,
    make_mail: Callable[..., bytes],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    raw = make_mail(
        REQUEST, subject="個人情報削除のお願い", date=SENT, message_id="<req-1@mail.example.jp>"
    )
    result = Intake(engine, clock=lambda: NOW).process(raw)

    assert result.action == "opened"
    assert result.ref is not None and re.fullmatch(r"PD-2026-\d{6}", result.ref)
    assert result.intents == ("deletion",)
    assert result.answer_due == DUE

    monkeypatch.setenv("PD_DATABASE_URL", database)
    assert main(["case", result.ref.lower(), "--json"]) == 0  # as typed by staff
    record = json.loads(capsys.readouterr().out)

    assert record["ref"] == result.ref
    assert record["status"] == "new"
    assert record["kind"] == "privacy"
    assert record["intents"] == ["deletion"]
    assert record["language"] == "ja"
    assert record["requester"] == "hanako@example.jp"
    assert record["addresses"] == ["hanako@example.jp"]
    assert datetime.fromisoformat(record["received_at"]) == SENT
    assert datetime.fromisoformat(record["answer_due"]) == DUE

    [message] = record["messages"]
    assert message["message_id"] == "req-1@mail.example.jp"
    assert message["subject"] == "個人情報削除のお願い"
    assert message["disposition"] == "case"
    assert message["intents"] == ["deletion"]
    reasons = message["classification"]["reasons"]["deletion"]
    assert any("削除" in reason for reason in reasons)

    event, drafted = record["audit"]
    assert (event["actor"], event["action"]) == ("intake", "case opened")
    assert event["detail"]["message_id"] == "req-1@mail.example.jp"
    assert event["detail"]["intents"] == ["deletion"]
    assert event["detail"]["reasons"]["deletion"] == reasons
    # the acknowledgement is drafted for staff to approve, not sent (PD_AUTO_ACK is off)
    assert (drafted["action"], drafted["detail"]["template"]) == ("draft prepared", "ack")


def test_the_case_table_shows_the_tokyo_due_date(
    database: str,
    engine: Engine,
    make_mail: Callable[..., bytes],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = Intake(engine, clock=lambda: NOW).process(
        make_mail(REQUEST, subject="個人情報削除のお願い", date=SENT)
    )
    monkeypatch.setenv("PD_DATABASE_URL", database)
    assert main(["cases"]) == 0
    out = capsys.readouterr().out
    [row] = [line for line in out.splitlines() if line.startswith(str(result.ref))]
    assert "deletion" in row
    assert "2026-03-17" in row
    assert "h***@example.jp" in row and "hanako@" not in out  # the table masks addresses
    assert re.search(r"^1 cases?$", out, re.MULTILINE)
