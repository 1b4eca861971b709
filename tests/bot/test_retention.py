"""Retention (bot.retention.purge): a finished case loses its raw mail and texts PD_RETENTION_DAYS
after it closed (a closing, a refusal or answer sent, a later message), not a second before;
the audit trail and the minimum record stay; purging twice changes nothing; mail still queued is
left to send; labels stay while their messages go; and the command line."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, col, select

from bot.cases import CaseDesk
from bot.cli import main
from bot.intake import Intake
from bot.replies import Replies, ReplySettings, Sender
from bot.retention import purge
from handlers.retention import RetentionError, parse_days
from mail.smtp import parse_smtp_url
from storage import repo
from storage.models import AuditEvent, Case, Draft, LabelledExample, MailMessage, OutboxItem

TOKYO = ZoneInfo("Asia/Tokyo")
RECEIVED = datetime(2026, 6, 1, 10, 0, tzinfo=TOKYO)
YEAR = timedelta(days=365)
SECOND = timedelta(seconds=1)
APPROVER = "U0APPROVE1"
STAFF = "U0STAFF001"
SETTINGS = ReplySettings.from_env(
    {"PD_FROM_ADDRESS": "privacy@example-hikaku.co.jp", "PD_APPROVERS": APPROVER}
)
NOTE = "本人から電話あり。山田花子様、携帯 090-1111-2222 へ折り返し希望"
ANSWER = "当社は、お客様の同意なく提携先へ情報を提供しておりません。"


class Desk:
    def __init__(self, engine: Engine, make_mail: Callable[..., bytes], smtp: Any) -> None:
        self.engine, self.make_mail = engine, make_mail
        self.now = RECEIVED
        self.intake = Intake(engine, clock=self.clock, replies=SETTINGS)
        self.replies = Replies(engine, SETTINGS, clock=self.clock)
        self.cases = CaseDesk(engine, self.replies, clock=self.clock)
        self.sender = Sender(engine, parse_smtp_url(smtp.url()), clock=self.clock)

    def clock(self) -> datetime:
        return self.now.astimezone(UTC)

    def open(self, body: str, **headers: str) -> str:
        result = self.intake.process(self.make_mail(body, date=self.now, **headers))
        assert result.action == "opened" and result.ref is not None
        return result.ref

    def case(self, ref: str) -> Case:
        with Session(self.engine) as session:
            case = repo.case_by_ref(session, ref)
            assert case is not None
            return case

    def note(self, ref: str, words: str) -> None:
        """A staff reply in the case's Slack thread, as the app records it."""
        with Session(self.engine) as session:
            repo.audit(session, self.case(ref).id, STAFF, "note", text=words)
            session.commit()

    def events(self, ref: str) -> list[AuditEvent]:
        with Session(self.engine) as session:
            return list(
                session.exec(
                    select(AuditEvent)
                    .where(AuditEvent.case_id == self.case(ref).id)
                    .order_by(col(AuditEvent.id))
                )
            )

    def messages(self, ref: str) -> list[MailMessage]:
        with Session(self.engine) as session:
            return list(
                session.exec(
                    select(MailMessage)
                    .where(MailMessage.case_id == self.case(ref).id)
                    .order_by(col(MailMessage.id))
                )
            )

    def drafts(self, ref: str) -> list[Draft]:
        with Session(self.engine) as session:
            return repo.drafts(session, case_id=self.case(ref).id)

    def answer(self, ref: str) -> OutboxItem:
        """Draft, approve and send the answer to an inquiry: the case is answered."""
        draft = self.replies.draft(ref, "inquiry_answer", {"answer_text": ANSWER}, editor=STAFF)
        self.replies.approve(draft.id or 0, approver=APPROVER)
        assert asyncio.run(self.sender.run_once()).sent == 1
        with Session(self.engine) as session:
            item = session.exec(select(OutboxItem).where(OutboxItem.draft_id == draft.id)).one()
        return item


@pytest.fixture
def desk(engine: Engine, make_mail: Callable[..., bytes], smtp_server: Any) -> Desk:
    return Desk(engine, make_mail, smtp_server)


def test_a_closed_case_is_purged_a_year_after_closing_and_not_a_second_before(
    desk: Desk,
) -> None:
    ref = desk.open("私の個人情報をすべて削除してください。", subject="個人情報削除のお願い")
    desk.note(ref, NOTE)
    desk.now = RECEIVED + timedelta(days=2)
    desk.cases.close(ref, reason="電話で取り下げの申し出", actor=APPROVER)
    closed = desk.clock()
    before = desk.case(ref)
    trail = [(e.id, e.action) for e in desk.events(ref)]

    assert purge(desk.engine, closed + YEAR - SECOND, 365).cases == []
    dry = purge(desk.engine, closed + YEAR, 365, dry_run=True)
    [listed] = dry.cases
    assert (listed.ref, listed.closed_at, listed.messages, listed.drafts, listed.notes) == (
        ref, closed, 1, 1, 1,
    )  # fmt: skip
    assert desk.messages(ref)[0].raw is not None  # a dry run changes nothing
    assert [(e.id, e.action) for e in desk.events(ref)] == trail

    done = purge(desk.engine, closed + YEAR, 365)
    assert [(c.ref, c.messages, c.drafts, c.notes) for c in done.cases] == [(ref, 1, 1, 1)]
    [message] = desk.messages(ref)
    assert (message.raw, message.subject) == (None, "")
    assert message.message_id and message.sha256  # the mailbox is never taken in again
    assert {(d.subject, d.body, tuple(d.values)) for d in desk.drafts(ref)} == {("", "", ())}
    after = desk.case(ref)
    assert after.requester_name == "" and before.requester_name == "Hanako Sato"
    kept = ("ref", "requester", "status", "intents", "received_at", "answer_due", "closed_at")
    assert {k: getattr(after, k) for k in kept} == {k: getattr(before, k) for k in kept}
    assert after.purged_at == closed + YEAR

    events = desk.events(ref)
    assert [(e.id, e.action) for e in events[:-1]] == trail  # nothing of the trail lost
    [note] = [e for e in events if e.action == "note"]
    assert NOTE not in json.dumps(note.detail, ensure_ascii=False) and note.actor == STAFF
    [closing] = [e for e in events if e.action == "case closed"]
    assert closing.detail["reason"] == "電話で取り下げの申し出"  # decisions keep their grounds
    last = events[-1]
    assert (last.action, last.actor, last.at) == ("purged", "retention", closed + YEAR)
    assert last.detail | {"closed_at": None} == {
        "closed_at": None, "days": 365, "messages": 1, "outbox": 0, "drafts": 1, "notes": 1,
        "examples": 0, "files": 0, "attachments": 0, "queued_kept": 0,
    }  # fmt: skip

    # Twice: nothing more happens, however late.
    assert purge(desk.engine, closed + 3 * YEAR, 365).cases == []
    assert len(desk.events(ref)) == len(events)


def test_an_answered_case_closes_when_its_answer_is_sent_and_a_later_message_reopens_the_clock(
    desk: Desk,
) -> None:
    ref = desk.open("個人情報の取り扱いについて教えてください。")
    desk.now = RECEIVED + timedelta(days=3)
    item = desk.answer(ref)
    sent = desk.clock()
    case = desk.case(ref)
    assert (case.status, case.closed_at) == ("answered", None)  # no closed_at: the send counts
    assert purge(desk.engine, sent + YEAR - SECOND, 365).cases == []

    desk.now = RECEIVED + timedelta(days=100)
    result = desk.intake.process(
        desk.make_mail("ご回答ありがとうございました。", In_Reply_To=f"<{item.message_id}>")
    )
    assert (result.action, result.ref) == ("linked", ref)
    thanked = desk.clock()
    assert purge(desk.engine, sent + YEAR, 365).cases == []  # the follow-up restarted it
    [done] = purge(desk.engine, thanked + YEAR, 365).cases
    # in, our answer, the thanks; the answer's raw in the outbox too; the unsent ack's draft
    # and the answer's draft both lose their text.
    assert (done.ref, done.messages, done.outbox, done.drafts) == (ref, 3, 1, 2)
    assert [m.raw for m in desk.messages(ref)] == [None, None, None]
    with desk.engine.connect() as connection:
        lengths = connection.execute(text("SELECT length(raw) FROM outboxitem")).scalars().all()
    assert lengths == [0]
    assert desk.case(ref).status == "answered"


def test_cases_still_open_are_never_purged(desk: Desk) -> None:
    ref = desk.open("私の個人情報を開示してください。")
    assert purge(desk.engine, desk.clock() + 5 * YEAR, 365).cases == []
    assert desk.messages(ref)[0].raw is not None


def test_mail_still_queued_is_left_to_send(desk: Desk, smtp_server: Any) -> None:
    ref = desk.open("個人情報の取り扱いについて教えてください。")
    draft = desk.replies.draft(ref, "inquiry_answer", {"answer_text": ANSWER}, editor=STAFF)
    desk.replies.approve(draft.id or 0, approver=APPROVER)
    desk.cases.close(ref, reason="回答送付済みとして終了", actor=APPROVER)
    [done] = purge(desk.engine, desk.clock() + YEAR, 365).cases
    assert (done.outbox, done.queued) == (0, 1)
    assert asyncio.run(desk.sender.run_once()).sent == 1
    [mail] = smtp_server.received
    sent = message_from_bytes(mail.data, policy=policy.default)
    assert sent["To"] == "Hanako Sato <hanako@example.jp>"
    body = sent.get_body(("plain",))
    assert isinstance(body, EmailMessage) and ANSWER in body.get_content()


def test_messages_of_no_case_go_a_period_after_they_came(desk: Desk) -> None:
    away = desk.make_mail(
        "ただいま不在にしております。", sender="Taro <taro@example.co.jp>",
        Auto_Submitted="auto-replied",
    )  # fmt: skip
    assert desk.intake.process(away).action == "archived"
    came = desk.clock()
    assert purge(desk.engine, came + YEAR - SECOND, 365).caseless == 0
    assert purge(desk.engine, came + YEAR, 365).caseless == 1
    with Session(desk.engine) as session:
        [stored] = session.exec(select(MailMessage)).all()
        assert stored.raw is None and stored.message_id
        [event] = session.exec(select(AuditEvent).where(AuditEvent.action == "purged")).all()
        assert event.case_id is None and event.detail["messages"] == 1
    assert purge(desk.engine, came + 2 * YEAR, 365).caseless == 0


def test_labels_go_with_their_case_and_the_export_skips_them(
    desk: Desk, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ref = desk.open("個人情報の取り扱いについて教えてください。")
    desk.cases.reclassify(ref, ["deletion"], actor=APPROVER)
    desk.cases.close(ref, reason="電話で対応済み", actor=APPROVER)
    monkeypatch.setenv("PD_DATABASE_URL", desk.engine.url.render_as_string(hide_password=False))
    assert main(["examples", "export", str(tmp_path / "before")]) == 0
    assert "1 labelled examples written" in capsys.readouterr().out

    [done] = purge(desk.engine, desk.clock() + YEAR, 365).cases
    assert done.examples == 1  # issue 16: a purge reaches the case's labelled examples too
    with Session(desk.engine) as session:
        assert session.exec(select(LabelledExample)).all() == []
    assert main(["examples", "export", str(tmp_path / "after")]) == 0
    assert "0 labelled examples written" in capsys.readouterr().out
    assert (tmp_path / "after" / "labels.jsonl").read_text() == ""


def test_the_purge_command(
    engine: Engine,
    make_mail: Callable[..., bytes],
    smtp_server: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    desk = Desk(engine, make_mail, smtp_server)
    desk.now = datetime(2024, 4, 1, 10, 0, tzinfo=TOKYO)  # long ago: the command runs at now
    old = desk.open("私の個人情報を削除してください。")
    desk.cases.close(old, reason="取り下げ", actor=APPROVER)
    recent = desk.open("個人情報の取り扱いについて教えてください。", sender="jiro@example.jp")
    monkeypatch.setenv("PD_DATABASE_URL", engine.url.render_as_string(hide_password=False))

    monkeypatch.setenv("PD_RETENTION_DAYS", "a year")
    assert main(["purge"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "PD_RETENTION_DAYS must be a whole number of days" in err

    monkeypatch.setenv("PD_RETENTION_DAYS", "365")
    assert main(["purge", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"{old}  " in out and "closed 2024-04-01  1 message, 0 sent mails, 1 draft" in out
    assert "would purge 1 case closed more than 365 days ago" in out and recent not in out
    assert desk.messages(old)[0].raw is not None

    assert main(["purge"]) == 0
    assert "purged 1 case closed more than 365 days ago" in capsys.readouterr().out
    assert desk.messages(old)[0].raw is None and desk.messages(recent)[0].raw is not None
    assert main(["purge"]) == 0
    assert "purged 0 cases" in capsys.readouterr().out


def test_retention_days_setting() -> None:
    assert parse_days(None) == parse_days(" ") == 365
    assert parse_days("30") == 30
    for bad in ("0", "-5", "1.5", "一年"):
        with pytest.raises(RetentionError, match="PD_RETENTION_DAYS"):
            parse_days(bad)
