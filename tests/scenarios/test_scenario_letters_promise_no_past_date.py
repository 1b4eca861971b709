"""A letter never promises a date that has passed, and only automatic mail says it is one.

A request read after its answer deadline gets an acknowledgement that apologises and promises no
date; a draft left unapproved past the date it promises is written anew with the case's dates
for the approver to read (or refused, once a person edited it); a queued automatic
acknowledgement whose date passed while the SMTP server was away is held back; and of the mail
that reaches the requester's server, the acknowledgement and the code carry `Auto-Submitted`,
the approved answer does not. On SQLite and PostgreSQL, against aiosmtpd."""

from __future__ import annotations

import asyncio
import email
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email import policy
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.intake import Intake
from bot.replies import DraftRenewed, Replies, ReplyError, ReplySettings, Sender
from handlers.clock import TOKYO
from mail.parse import ParsedMessage, parse_message
from mail.smtp import parse_smtp_url
from storage import repo
from storage.models import AuditEvent, Draft, OutboxItem

DESK = "privacy@example-hikaku.co.jp"
SETTINGS = {
    "PD_FROM_ADDRESS": DESK,
    "PD_COMPANY_NAME": "株式会社テスト商事",
    "PD_APPROVERS": "sato",
}
START = datetime(2026, 3, 3, 0, 5, tzinfo=UTC)  # a Tuesday morning in Tokyo
REQUEST = "会員の佐藤花子です。\n私の個人情報をすべて削除してください。"
JA_DATE = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日")


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Desk:
    engine: Engine
    clock: Clock
    make_mail: Callable[..., bytes]
    smtp_server: Any
    env: dict[str, str]

    @property
    def replies(self) -> Replies:
        return Replies(self.engine, ReplySettings.from_env(self.env), clock=self.clock)

    def request(self, sent: datetime) -> str:
        raw = self.make_mail(REQUEST, sender="佐藤 花子 <hanako@example.jp>", date=sent,
                             subject="個人情報削除のお願い")  # fmt: skip
        settings = ReplySettings.from_env(self.env)
        result = Intake(self.engine, clock=self.clock, replies=settings).process(raw)
        assert result.action == "opened" and result.ref
        return result.ref

    def draft(self, ref: str, template: str = "ack") -> Draft:
        with Session(self.engine) as session:
            case = repo.case_by_ref(session, ref)
            assert case is not None
            return next(d for d in repo.drafts(session, case_id=case.id) if d.template == template)

    def send(self) -> list[ParsedMessage]:
        """One pass of the outbox; what the SMTP server has received so far, parsed."""
        sender = Sender(self.engine, parse_smtp_url(self.smtp_server.url()), clock=self.clock)
        asyncio.run(sender.run_once())
        return [parse_message(got.data) for got in self.smtp_server.received]

    def outbox_items(self) -> list[OutboxItem]:
        with Session(self.engine) as session:
            return list(repo.outbox(session))

    def actions(self, ref: str) -> list[str]:
        with Session(self.engine) as session:
            found = repo.case_file(session, ref)
        assert found is not None
        return [e.action for e in found.events]


@pytest.fixture
def desk(engine: Engine, make_mail: Callable[..., bytes], smtp_server: Any) -> Desk:
    return Desk(engine, Clock(START), make_mail, smtp_server, dict(SETTINGS))


def _dates(text: str) -> list[date]:
    return [date(int(y), int(m), int(d)) for y, m, d in JA_DATE.findall(text)]


def _promises_nothing_past(text: str, today: date, *, received: date, missed: date) -> None:
    """Every date in the letter is either to come, the day of receipt, or the missed deadline
    said to be missed."""
    for day in _dates(text):
        assert day >= today or day in (received, missed), f"{day} is past: {text}"
    assert f"{missed.year}年{missed.month}月{missed.day}日" in text
    assert "（経過）" in text and "お詫び" in text
    assert "回答期限までにご回答いたします" not in text


def test_an_overdue_case_s_acknowledgement_approved_promises_no_past_date(desk: Desk) -> None:
    sent = START - timedelta(days=20)  # read three weeks late: its 14 days have run out
    ref = desk.request(sent)
    draft = desk.draft(ref)
    assert draft.values["late"] is True
    assert draft.id is not None
    desk.replies.approve(draft.id, approver="sato", revision=draft.revision)

    [mail] = desk.send()
    today = START.astimezone(TOKYO).date()
    missed = datetime.fromisoformat(draft.values["answer_due"]["iso"]).astimezone(TOKYO).date()
    assert missed < today
    _promises_nothing_past(mail.text, today, received=sent.astimezone(TOKYO).date(), missed=missed)
    assert "できる限り速やかにご回答いたします" in mail.text  # when: without a date


def test_a_draft_whose_date_passed_is_renewed_for_the_approver_to_read(desk: Desk) -> None:
    ref = desk.request(START)
    first = desk.draft(ref)
    assert first.id is not None and first.values.get("late") is False
    desk.clock.now = START + timedelta(days=20)  # nobody approved it in time

    with pytest.raises(DraftRenewed, match=r"a date already past: it is written anew") as told:
        desk.replies.approve(first.id, approver="sato", revision=first.revision)
    assert "revision 2" in str(told.value)
    renewed = desk.draft(ref)
    assert (renewed.id, renewed.revision, renewed.status) == (first.id, 2, "draft")
    assert renewed.body != first.body and "（経過）" in renewed.body
    assert "draft renewed" in desk.actions(ref)
    assert desk.send() == []  # nothing went out: the approver has not seen the new text

    # Approving what one did not see is refused; approving the revision read sends it.
    with pytest.raises(ReplyError, match="changed"):
        desk.replies.approve(first.id, approver="sato", revision=first.revision)
    desk.replies.approve(first.id, approver="sato", revision=renewed.revision)
    [mail] = desk.send()
    today = desk.clock.now.astimezone(TOKYO).date()
    missed = datetime.fromisoformat(renewed.values["answer_due"]["iso"]).astimezone(TOKYO).date()
    _promises_nothing_past(mail.text, today, received=START.astimezone(TOKYO).date(), missed=missed)
    sent = email.message_from_bytes(desk.smtp_server.received[-1].data, policy=policy.default)
    assert isinstance(sent, EmailMessage)
    html = sent.get_body(preferencelist=("html",))  # the template's own words: HTML goes too
    assert html is not None and "（経過）" in html.get_content()


def test_an_edited_draft_whose_date_passed_is_refused_with_the_reason(desk: Desk) -> None:
    ref = desk.request(START)
    draft = desk.draft(ref)
    assert draft.id is not None
    edited = desk.replies.edit(
        draft.id, subject=draft.subject, body=draft.body + "\n追伸：担当 佐藤", editor="yamada"
    )
    desk.clock.now = START + timedelta(days=20)

    with pytest.raises(ReplyError, match="its text was edited") as refused:
        desk.replies.approve(draft.id, approver="sato", revision=edited.revision)
    assert not isinstance(refused.value, DraftRenewed)
    assert "a date already past" in str(refused.value)
    assert desk.draft(ref).body == edited.body  # a person's words are not rewritten
    assert desk.send() == []
    with Session(desk.engine) as session:
        [event] = session.exec(
            select(AuditEvent).where(AuditEvent.action == "approval refused")
        ).all()
    assert "its text was edited" in event.detail["reason"]


def test_a_queued_automatic_acknowledgement_rechecks_its_date_before_it_is_sent(
    desk: Desk,
) -> None:
    desk.env["PD_AUTO_ACK"] = "1"
    ref = desk.request(START)
    [item] = desk.outbox_items()
    assert item.automatic and item.status == "queued"
    desk.clock.now = START + timedelta(days=20)  # the SMTP server was away all that time

    assert desk.send() == []
    [item] = desk.outbox_items()
    assert item.status == "failed"
    assert item.last_error is not None and "a date already past" in item.last_error
    assert "mail failed" in desk.actions(ref)


def test_auto_submitted_only_on_automatic_mail(desk: Desk) -> None:
    desk.env["PD_AUTO_ACK"] = "1"
    ref = desk.request(START)
    desk.replies.send_code(ref, approver="sato")  # the code: sent without its text being read
    answer = desk.replies.draft(
        ref, "inquiry_answer", {"answer_text": "ご質問の件は以下のとおりです。"}, editor="yamada"
    )
    assert answer.id is not None
    desk.replies.approve(answer.id, approver="sato", revision=answer.revision)

    mails = {m.subject: m for m in desk.send()}
    [ack] = [m for s, m in mails.items() if "受付" in s]
    [code] = [m for s, m in mails.items() if "確認コード" in s]
    [approved] = [m for s, m in mails.items() if "お問い合わせへのご回答" in s]
    for automatic in (ack, code):
        assert automatic.header("Auto-Submitted") == "auto-replied"
        assert automatic.header("X-Auto-Response-Suppress") == "All"
    assert approved.header("Auto-Submitted") is None
    assert approved.header("X-Auto-Response-Suppress") is None
    for mail in (ack, code, approved):
        assert mail.header("X-Privacy-Desk-Loop") == DESK


def test_a_request_to_the_requester_whose_reply_date_passed_is_refused(desk: Desk) -> None:
    ref = desk.request(START)
    asked = desk.replies.draft(
        ref,
        "identity_request",
        {"kind": "identity", "needed": ["本人確認書類の写し"], "reply_by": date(2026, 3, 17)},
        editor="yamada",
    )
    assert asked.id is not None
    desk.clock.now = datetime(2026, 3, 18, 1, 0, tzinfo=UTC)
    with pytest.raises(ReplyError, match="reply_by 2026-03-17, a date already past") as refused:
        desk.replies.approve(asked.id, approver="sato", revision=asked.revision)
    assert "does not pick a new date" in str(refused.value)
    assert desk.draft(ref, "identity_request").revision == asked.revision
