"""With PD_AUTO_ACK=1 the acknowledgement leaves unapproved, signed by the company: it must not
carry a stranger's words to whoever From: names. It quotes neither the subject nor the display
name (in the text, the HTML or the To: header), goes only to authenticated senders where
PD_AUTHSERV_ID is set, and the whole desk sends at most PD_AUTO_MAIL_DESK_DAILY_CAP a day
(issue 16: "the auto-ack of a hostile subject does not quote it")."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from email import message_from_bytes, policy
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.intake import Intake
from bot.replies import ReplySettings, Sender
from mail.parse import parse_message
from mail.smtp import parse_smtp_url
from storage import repo
from storage.models import Draft, OutboxItem

DESK = "privacy@example-hikaku.co.jp"
SETTINGS = {
    "PD_FROM_ADDRESS": DESK,
    "PD_COMPANY_NAME": "株式会社ヒカクプラス",
    "PD_APPROVERS": "sato",
    "PD_AUTO_ACK": "1",
}
START = datetime(2026, 3, 3, 0, 5, tzinfo=UTC)
SUBJECT = "個人情報削除 - Your account is locked: verify at https://evil.example/login now"
NAME = "Security Team https://evil.example"


def _intake(engine: Engine, **env: str) -> Intake:
    return Intake(engine, clock=lambda: START, replies=ReplySettings.from_env({**SETTINGS, **env}))


def test_the_auto_ack_of_a_hostile_subject_does_not_quote_it(
    engine: Engine, make_mail: Callable[..., bytes], smtp_server: Any
) -> None:
    raw = make_mail(
        "私の個人情報をすべて削除してください。",
        sender=f'"{NAME}" <victim@example.jp>',
        subject=SUBJECT,
    )
    opened = _intake(engine).process(raw)
    assert opened.action == "opened"
    sender = Sender(engine, parse_smtp_url(smtp_server.url()), clock=lambda: START)
    assert asyncio.run(sender.run_once()).sent == 1
    [got] = smtp_server.received
    assert got.recipients == ("victim@example.jp",)
    wire = message_from_bytes(got.data, policy=policy.default)
    everything = str(wire["To"]) + str(wire["Subject"])
    for part in wire.walk():
        if part.get_content_maintype() == "text":
            everything += part.get_content()
    assert "evil.example" not in everything and "verify at" not in everything
    assert "Security Team" not in everything
    assert parse_message(got.data).to[0].name == ""


def test_automatic_mail_is_held_for_unauthenticated_senders_and_over_the_desk_cap(
    engine: Engine, make_mail: Callable[..., bytes]
) -> None:
    # Not authenticated by our MTA: a draft for staff, nothing leaves.
    intake = _intake(engine, PD_AUTHSERV_ID="mx.example-hikaku.co.jp")
    assert intake.process(make_mail("私の個人情報をすべて削除してください。")).action == "opened"
    # Authenticated senders, each under their own cap, but over the desk's daily cap of 2.
    intake = _intake(engine, PD_AUTO_MAIL_DESK_DAILY_CAP="2")
    for n in range(3):
        raw = make_mail("私の個人情報をすべて削除してください。", sender=f"r{n}@example.jp")
        assert intake.process(raw).action == "opened"
    with Session(engine) as session:
        assert [i.recipient for i in session.exec(select(OutboxItem))] == [
            "r0@example.jp",
            "r1@example.jp",
        ]
        drafts = session.exec(select(Draft)).all()
        assert [d.status for d in drafts] == ["draft", "approved", "approved", "draft"]
        files = [repo.case_file(session, f"PD-2026-00000{n}") for n in (1, 4)]
        reasons = [
            e.detail.get("reason")
            for found in files
            if found is not None
            for e in found.events
            if e.action == "automatic mail held"
        ]
    assert reasons == ["the sender is not authenticated", "the desk's daily cap"]
