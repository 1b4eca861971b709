"""The only mail that leaves without a person's approval is the acknowledgement, and only when
the operator turns it on: it is marked as automatic so no one's autoresponder answers it, no
requester gets more than the daily cap of it, an out-of-office never gets one, and when it cannot
be delivered the desk says so on the case instead of opening a case for the bounce."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from bot.intake import Intake, IntakeResult
from bot.replies import ReplySettings, Sender
from mail.parse import parse_message
from mail.smtp import parse_smtp_url
from storage import repo
from storage.models import Case, Draft, OutboxItem

DESK = "privacy@example-hikaku.co.jp"
HANAKO = "佐藤 花子 <hanako@example.jp>"
SETTINGS = {
    "PD_FROM_ADDRESS": DESK,
    "PD_COMPANY_NAME": "株式会社ヒカクプラス",
    "PD_APPROVERS": "sato",
    "PD_AUTO_ACK": "1",
}
START = datetime(2026, 3, 3, 0, 5, tzinfo=UTC)
REQUEST = "ヒカクプラス会員の佐藤花子です。\n私の個人情報をすべて削除してください。"
AWAY = "ただいま不在にしております。3月10日以降に順次対応いたします。"


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
    env: dict[str, str]

    def take(self, raw: bytes) -> IntakeResult:
        settings = ReplySettings.from_env(self.env)
        return Intake(self.engine, clock=self.clock, replies=settings).process(raw)

    def request(self, *, sender: str = HANAKO, message_id: str | None = None) -> str:
        raw = self.make_mail(
            REQUEST, sender=sender, subject="個人情報削除のお願い", message_id=message_id
        )
        result = self.take(raw)
        assert result.action == "opened" and result.ref
        return result.ref

    def sender(self, smtp_server: Any) -> Sender:
        return Sender(
            self.engine, parse_smtp_url(smtp_server.url()), clock=self.clock, rand=lambda: 0.5
        )

    def outbox(self) -> list[OutboxItem]:
        with Session(self.engine) as session:
            return repo.outbox(session)

    def drafts(self, ref: str) -> list[Draft]:
        with Session(self.engine) as session:
            case = repo.case_by_ref(session, ref)
            assert case is not None
            return repo.drafts(session, case_id=case.id)

    def events(self, ref: str) -> list[tuple[str, str]]:
        with Session(self.engine) as session:
            found = repo.case_file(session, ref)
        assert found is not None
        return [(e.actor, e.action) for e in found.events]

    def cases(self) -> int:
        with Session(self.engine) as session:
            return int(session.exec(select(func.count()).select_from(Case)).one())


def _desk(engine: Engine, make_mail: Callable[..., bytes], **env: str) -> Desk:
    return Desk(engine, Clock(START), make_mail, {**SETTINGS, **env})


@pytest.fixture
def desk(engine: Engine, make_mail: Callable[..., bytes]) -> Desk:
    return _desk(engine, make_mail)


def _bounce(original: bytes, part: str) -> bytes:
    """A delivery status notification from the requester's mail server (RFC 3464), quoting our
    mail whole (``message/rfc822``) or its headers only (``text/rfc822-headers``)."""
    quoted = original if part == "message/rfc822" else original.split(b"\r\n\r\n", 1)[0]
    head = (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.jp>\r\n"
        f"To: {DESK}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        f"Date: {format_datetime(START + timedelta(minutes=5))}\r\n"
        "Message-ID: <20260303001000.ABC123@mx.example.jp>\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="DSN"\r\n'
        "\r\n"
        "--DSN\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n"
        "\r\n"
        "Your message could not be delivered to one or more recipients.\r\n"
        "<hanako@example.jp>: host mx.example.jp said: 550 5.1.1 User unknown\r\n"
        "\r\n"
        "--DSN\r\n"
        "Content-Type: message/delivery-status\r\n"
        "\r\n"
        "Reporting-MTA: dns; mx.example.jp\r\n"
        "\r\n"
        "Final-Recipient: rfc822; hanako@example.jp\r\n"
        "Action: failed\r\n"
        "Status: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n"
        "\r\n"
        "--DSN\r\n"
        f"Content-Type: {part}\r\n"
        "\r\n"
    )
    return head.encode("ascii") + quoted.rstrip(b"\r\n") + b"\r\n\r\n--DSN--\r\n"


def test_without_automatic_acknowledgements_the_ack_waits_for_approval(
    engine: Engine, make_mail: Callable[..., bytes]
) -> None:
    for env in ({"PD_AUTO_ACK": ""}, {"PD_FROM_ADDRESS": ""}):
        desk = _desk(engine, make_mail, **env)
        ref = desk.request()
        [ack] = desk.drafts(ref)
        assert (ack.template, ack.status) == ("ack", "draft")
        assert "automatic mail held" not in [a for _, a in desk.events(ref)]
    assert desk.outbox() == []


def test_the_automatic_acknowledgement_is_marked_so_no_robot_answers_it(
    desk: Desk, smtp_server: Any
) -> None:
    ref = desk.request()
    [item] = desk.outbox()
    assert (item.template, item.automatic, item.status) == ("ack", True, "queued")
    assert item.recipient == "hanako@example.jp"
    [ack] = desk.drafts(ref)
    assert ack.approved_by == "auto-ack"

    assert asyncio.run(desk.sender(smtp_server).run_once()).sent == 1
    [got] = smtp_server.received
    assert (got.sender, got.recipients) == (DESK, ("hanako@example.jp",))
    mail = parse_message(got.data)
    assert mail.header("Auto-Submitted") == "auto-replied"
    assert mail.header("X-Auto-Response-Suppress") == "All"
    assert mail.header("X-Privacy-Desk-Loop") == DESK
    assert ref in mail.subject
    assert "削除" in mail.text and "株式会社ヒカクプラス" in mail.text
    # Mail no person approved quotes nothing the sender wrote, not even her name (issue 16).
    assert "佐藤" not in mail.text and mail.text.startswith("お客様")
    assert all(line.isascii() for line in got.data.splitlines())
    assert desk.events(ref)[-2:] == [("auto-ack", "draft approved"), ("outbox", "mail sent")]
    assert desk.drafts(ref)[0].status == "sent"


def test_the_automatic_acknowledgement_threads_under_the_request(
    desk: Desk, smtp_server: Any
) -> None:
    desk.request(message_id="<req-1@mail.example.jp>")
    assert asyncio.run(desk.sender(smtp_server).run_once()).sent == 1
    mail = parse_message(smtp_server.received[0].data)
    assert mail.in_reply_to == "req-1@mail.example.jp"
    assert "req-1@mail.example.jp" in mail.references


def test_no_requester_gets_more_automatic_mail_than_the_daily_cap(
    engine: Engine, make_mail: Callable[..., bytes]
) -> None:
    desk = _desk(engine, make_mail, PD_AUTO_MAIL_DAILY_CAP="2")
    refs = []
    for hour in range(3):
        desk.clock.now = START + timedelta(hours=hour)
        refs.append(desk.request())
    assert [i.automatic for i in desk.outbox()] == [True, True]
    third = refs[2]
    assert ("auto-ack", "automatic mail held") in desk.events(third)
    [held] = desk.drafts(third)
    assert (held.template, held.status) == ("ack", "draft")  # for staff to approve

    # someone else the same day is not held back by her cap
    desk.request(sender="Jiro Suzuki <jiro@example.com>")
    assert [i.recipient for i in desk.outbox()][-1] == "jiro@example.com"

    # the next day she gets an automatic acknowledgement again
    desk.clock.now = START + timedelta(days=1, hours=3)
    fourth = desk.request()
    assert desk.outbox()[-1].recipient == "hanako@example.jp"
    assert desk.drafts(fourth)[0].status == "approved"
    assert ("auto-ack", "automatic mail held") not in desk.events(fourth)


@pytest.mark.parametrize(
    "headers",
    [{"Auto_Submitted": "auto-replied"}, {"X_Autoreply": "yes"}, {}],
    ids=["auto-submitted", "x-autoreply", "no-headers"],
)
def test_an_out_of_office_from_the_requester_gets_no_answer(
    desk: Desk, smtp_server: Any, headers: dict[str, str]
) -> None:
    ref = desk.request()
    assert asyncio.run(desk.sender(smtp_server).run_once()).sent == 1
    ack = parse_message(smtp_server.received[0].data)

    result = desk.take(
        desk.make_mail(
            AWAY,
            sender=HANAKO,
            subject=f"自動応答: {ack.subject}",
            In_Reply_To=f"<{ack.message_id}>",
            **headers,
        )
    )
    assert result.action == "archived"
    assert desk.cases() == 1
    assert len(desk.outbox()) == 1 and len(desk.drafts(ref)) == 1
    assert asyncio.run(desk.sender(smtp_server).run_once()).sent == 0
    assert len(smtp_server.received) == 1


@pytest.mark.parametrize("part", ["message/rfc822", "text/rfc822-headers"])
def test_a_bounce_of_our_mail_is_marked_on_its_case(
    desk: Desk, smtp_server: Any, part: str
) -> None:
    ref = desk.request()
    assert asyncio.run(desk.sender(smtp_server).run_once()).sent == 1
    desk.clock.now += timedelta(minutes=5)
    dsn = _bounce(smtp_server.received[0].data, part)
    report = parse_message(dsn)  # a well-formed report naming our mail
    sent_id = desk.outbox()[0].message_id.strip("<>")
    assert report.is_bounce and report.original_message_id == sent_id
    result = desk.take(dsn)
    assert (result.action, result.ref) == ("bounce", ref)
    [item] = desk.outbox()
    assert item.status == "bounced"
    assert desk.events(ref)[-2:] == [("intake", "bounce received"), ("intake", "mail bounced")]
    assert desk.cases() == 1  # no case for the bounce itself
    assert len(desk.outbox()) == 1  # and no answer to it
    assert asyncio.run(desk.sender(smtp_server).run_once()).sent == 0
    assert len(smtp_server.received) == 1


def test_a_refused_mail_is_marked_failed_for_staff(desk: Desk, smtp_server: Any) -> None:
    ref = desk.request()
    smtp_server.fail_next(550)
    summary = asyncio.run(desk.sender(smtp_server).run_once())
    assert (summary.sent, summary.failed) == (0, 1)
    [item] = desk.outbox()
    assert (item.status, item.attempts) == ("failed", 1)
    assert "550" in (item.last_error or "")
    assert desk.events(ref)[-1] == ("outbox", "mail failed")
    desk.clock.now += timedelta(days=1)
    assert asyncio.run(desk.sender(smtp_server).run_once()).sent == 0  # never tried again
    assert smtp_server.received == []


def test_a_mail_deferred_by_the_server_goes_out_once_later(desk: Desk, smtp_server: Any) -> None:
    ref = desk.request()
    smtp_server.fail_next(451)
    assert asyncio.run(desk.sender(smtp_server).run_once()).deferred == 1
    [item] = desk.outbox()
    assert (item.status, item.attempts) == ("queued", 1)
    assert item.next_attempt_at > desk.clock.now
    assert "451" in (item.last_error or "")

    assert asyncio.run(desk.sender(smtp_server).run_once()).sent == 0  # not due yet
    desk.clock.now = item.next_attempt_at
    assert asyncio.run(desk.sender(smtp_server).run_once()).sent == 1
    assert asyncio.run(desk.sender(smtp_server).run_once()).sent == 0
    assert len(smtp_server.received) == 1
    [item] = desk.outbox()
    assert (item.status, item.attempts) == ("sent", 2)
    assert ("outbox", "mail failed") not in desk.events(ref)
