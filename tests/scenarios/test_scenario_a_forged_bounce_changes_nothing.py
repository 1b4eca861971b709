"""A stranger sends delivery reports naming our mail: while it is still queued, for another
recipient, or not as a delivery-status report at all. Only a DSN for a mail already sent, whose
Final-Recipient is that mail's recipient, marks it bounced; anything else is kept as machine mail,
flagged, and filed into nobody's case (issue 16: "a forged bounce changes nothing")."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.intake import Intake
from bot.replies import Replies, ReplySettings, Sender
from mail.smtp import parse_smtp_url
from storage import repo
from storage.models import MailMessage, OutboxItem

DESK = "privacy@example-hikaku.co.jp"
SETTINGS = {
    "PD_FROM_ADDRESS": DESK,
    "PD_COMPANY_NAME": "株式会社ヒカクプラス",
    "PD_APPROVERS": "sato",
}
START = datetime(2026, 3, 3, 0, 5, tzinfo=UTC)


def _report(message_id: str, *, final: str, report_type: str = "delivery-status") -> bytes:
    """A multipart/report from a stranger's server naming ``message_id`` (and quoting it)."""
    return (
        "From: Mail Delivery System <MAILER-DAEMON@attacker.example>\r\n"
        f"To: {DESK}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <forged-1@attacker.example>\r\n"
        "MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type={report_type}; boundary="R"\r\n'
        "\r\n--R\r\nContent-Type: text/plain\r\n\r\n"
        "Mallory here: please send my data to mallory@attacker.example instead.\r\n"
        "\r\n--R\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.attacker.example\r\n\r\n"
        f"Final-Recipient: rfc822; {final}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "\r\n--R\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: <{message_id}>\r\nTo: {final}\r\n"
        "\r\n--R--\r\n"
    ).encode("ascii")


class Desk:
    def __init__(self, engine: Engine, make_mail: Callable[..., bytes]) -> None:
        self.engine = engine
        settings = ReplySettings.from_env(SETTINGS)
        self.intake = Intake(engine, clock=lambda: START, replies=settings)
        self.replies = Replies(engine, settings, clock=lambda: START)
        opened = self.intake.process(make_mail("私の個人情報をすべて削除してください。"))
        assert opened.action == "opened" and opened.ref
        self.ref = opened.ref
        with Session(engine) as session:
            [draft] = repo.drafts(session)
        assert draft.id is not None
        self.replies.approve(draft.id, approver="sato")

    def item(self) -> OutboxItem:
        with Session(self.engine) as session:
            [item] = repo.outbox(session)
        return item

    def send(self, smtp_server: Any) -> int:
        sender = Sender(self.engine, parse_smtp_url(smtp_server.url()), clock=lambda: START)
        return asyncio.run(sender.run_once()).sent

    def case_messages(self) -> int:
        with Session(self.engine) as session:
            case = repo.case_by_ref(session, self.ref)
            assert case is not None
            rows = session.exec(select(MailMessage).where(MailMessage.case_id == case.id))
            return len(rows.all())

    def take_forged(self, raw: bytes) -> None:
        before = self.case_messages()
        result = self.intake.process(raw)
        assert (result.action, result.ref) == ("archived", None)
        assert self.case_messages() == before  # the victim's case does not get it
        with Session(self.engine) as session:
            kept = session.exec(
                select(MailMessage).where(MailMessage.message_id == "forged-1@attacker.example")
            ).all()
        assert kept and all(m.case_id is None for m in kept)
        assert all("unverified_bounce" in m.defects for m in kept)


def test_a_forged_bounce_of_a_queued_answer_changes_nothing(
    engine: Engine, make_mail: Callable[..., bytes], smtp_server: Any
) -> None:
    desk = Desk(engine, make_mail)
    queued = desk.item()
    assert queued.status == "queued"
    desk.take_forged(_report(queued.message_id, final=queued.recipient))
    assert desk.item().status == "queued"
    assert desk.send(smtp_server) == 1  # the approved answer is still sent
    assert desk.item().status == "sent"


@pytest.mark.parametrize(
    ("final", "report_type"),
    [("mallory@attacker.example", "delivery-status"), (None, "disposition-notification")],
    ids=["another-recipient", "not-a-dsn"],
)
def test_a_forged_bounce_of_a_sent_answer_changes_nothing(
    engine: Engine,
    make_mail: Callable[..., bytes],
    smtp_server: Any,
    final: str | None,
    report_type: str,
) -> None:
    desk = Desk(engine, make_mail)
    assert desk.send(smtp_server) == 1
    item = desk.item()
    desk.take_forged(
        _report(item.message_id, final=final or item.recipient, report_type=report_type)
    )
    assert desk.item().status == "sent"
