"""Hanako asks for her data to be deleted; the desk keeps her mail encrypted (PD_RAW_KEYS),
answers, and exports her whole case file for an audit. A year after the answer went out, the
scheduled purge deletes the raw mail and texts; the export then holds what is left, says it was
purged, and still shows the whole audit trail. A second purge changes nothing."""

from __future__ import annotations

import asyncio
import json
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from bot import settings
from bot.cli import main
from bot.intake import Intake
from bot.replies import Replies, ReplySettings, Sender
from bot.retention import purge
from mail.smtp import parse_smtp_url
from storage import crypto, repo

TOKYO = ZoneInfo("Asia/Tokyo")
RECEIVED = datetime(2026, 3, 2, 9, 30, tzinfo=TOKYO)
APPROVER = "U0APPROVE1"
REQUEST = "私の個人情報をすべて削除してください。会員番号は HK-778812 です。"
SETTINGS = ReplySettings.from_env(
    {"PD_FROM_ADDRESS": "privacy@example-hikaku.co.jp", "PD_APPROVERS": APPROVER}
)


@pytest.fixture
def keyed(monkeypatch: pytest.MonkeyPatch, engine: Engine) -> Iterator[None]:
    """PD_RAW_KEYS set for the desk's process and for the commands run in the test."""
    monkeypatch.setenv("PD_RAW_KEYS", crypto.new_key())
    monkeypatch.setenv("PD_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    crypto.configure(settings.read().keys.keyring)
    yield
    crypto.configure(None)


def test_a_case_is_exported_whole_then_purged_a_year_after_its_answer(
    engine: Engine,
    make_mail: Callable[..., bytes],
    keyed: None,
    smtp_server: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    now = [RECEIVED]

    def clock() -> datetime:
        return now[0].astimezone(UTC)

    request = make_mail(REQUEST, subject="個人情報削除のお願い", date=RECEIVED)
    result = Intake(engine, clock=clock, replies=SETTINGS).process(request)
    assert result.action == "opened" and result.ref
    ref = result.ref
    with engine.connect() as connection:
        [stored] = connection.execute(text("SELECT raw FROM message")).scalars().all()
    assert b"hanako@example.jp" not in bytes(stored)  # encrypted at rest

    # Staff verify her identity and answer; the answer goes out three days later.
    replies = Replies(engine, SETTINGS, clock=clock)
    replies.mark_verified(ref, actor=APPROVER, how="運転免許証の写しで確認")
    values = {"deleted": ["会員登録情報", "お見積り履歴"], "done_on": date(2026, 3, 5)}
    draft = replies.draft(ref, "deletion_done", values, editor=APPROVER)
    replies.approve(draft.id or 0, approver=APPROVER)
    now[0] = RECEIVED + timedelta(days=3)
    sender = Sender(engine, parse_smtp_url(smtp_server.url()), clock=clock)
    assert asyncio.run(sender.run_once()).sent == 1
    answered = clock()

    # The export for the audit, as a zip: the mail exactly as it came, our answer, the file.
    before = tmp_path / "before.zip"
    assert main(["export", ref.lower(), "--out", str(before)]) == 0
    assert f"{ref}: case.json and 2 messages in {before}" in capsys.readouterr().out
    with zipfile.ZipFile(before) as archive:
        assert sorted(archive.namelist()) == [
            "case.json", "messages/001-in.eml", "messages/002-out.eml",
        ]  # fmt: skip
        assert archive.read("messages/001-in.eml") == request
        answer = message_from_bytes(archive.read("messages/002-out.eml"), policy=policy.default)
        record = json.loads(archive.read("case.json"))
    assert answer["To"] == "Hanako Sato <hanako@example.jp>"
    body = answer.get_body(("plain",))
    assert isinstance(body, EmailMessage) and "お見積り履歴" in body.get_content()
    assert record["purged"] is None
    assert record["case"]["status"] == "answered"
    assert record["case"]["requester_name"] == "Hanako Sato"
    assert record["case"]["answer_due"] and record["case"]["verified_how"]
    assert [d["template"] for d in record["drafts"]] == ["ack", "deletion_done"]
    assert "お見積り履歴" in record["drafts"][1]["body"]
    assert [o["status"] for o in record["outbox"]] == ["sent"]
    assert "raw" not in record["outbox"][0]
    actions = [e["action"] for e in record["audit"]]
    assert actions[0] == "case opened" and "mail sent" in actions

    # The scheduler's purge: not a second before a year after the answer went out.
    assert purge(engine, answered + timedelta(days=365, seconds=-1), 365).cases == []
    [done] = purge(engine, answered + timedelta(days=365), 365).cases
    assert (done.ref, done.messages, done.outbox, done.drafts) == (ref, 2, 1, 2)
    assert purge(engine, answered + timedelta(days=800), 365).cases == []  # twice: nothing

    after = tmp_path / "after"
    assert main(["export", ref, "--out", str(after)]) == 0
    out = capsys.readouterr().out
    assert f"{ref}: case.json and 0 messages in {after}" in out and "was purged on" in out
    assert sorted(p.name for p in after.rglob("*")) == ["case.json"]
    assert after.stat().st_mode & 0o077 == 0  # personal data: the owner's alone
    kept = json.loads((after / "case.json").read_text(encoding="utf-8"))
    assert kept["purged"]["at"] == (answered + timedelta(days=365)).isoformat()
    assert kept["case"]["ref"] == ref and kept["case"]["status"] == "answered"
    assert kept["case"]["requester"] == "hanako@example.jp"
    assert kept["case"]["requester_name"] == ""
    assert kept["case"]["intents"] == record["case"]["intents"]
    assert [m["purged"] for m in kept["messages"]] == [True, True]
    assert [m["file"] for m in kept["messages"]] == [None, None]
    assert [m["message_id"] for m in kept["messages"]] == [
        m["message_id"] for m in record["messages"]
    ]
    assert {d["body"] for d in kept["drafts"]} == {""}
    assert [e["action"] for e in kept["audit"]] == [*actions, "purged"]
    assert REQUEST not in json.dumps(kept, ensure_ascii=False)

    # A second export into the same place is refused, not mixed.
    assert main(["export", ref, "--out", str(after)]) == 2
    assert "is not an empty folder" in capsys.readouterr().err
    assert main(["export", ref, "--out", str(before)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["export", "PD-2026-999999", "--out", str(tmp_path / "none")]) == 2
    assert "no case PD-2026-999999" in capsys.readouterr().err

    with Session(engine) as session:
        case = repo.case_by_ref(session, ref)
        assert case is not None and case.purged_at is not None
