"""A stranger who has seen one of our replies sends mail carrying the Message-IDs our next
replies would have had, and mail reusing the IDs of other people's requests: nothing is lost.
Our IDs cannot be guessed, inbound and outbound IDs live apart, and a mail is a duplicate only
when it is the same bytes; a different mail reusing a stored ID is kept, flagged, and opens or
joins a case by the normal rules (issue 16: "squatted IDs lose nothing; a reused ID is kept")."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.cli import main
from bot.intake import Intake, IntakeResult
from bot.replies import Replies, ReplySettings, Sender
from mail.parse import parse_message
from mail.smtp import parse_smtp_url
from storage import repo
from storage.models import Case, MailMessage

DESK = "privacy@example-hikaku.co.jp"
DOMAIN = "example-hikaku.co.jp"
SETTINGS = {
    "PD_FROM_ADDRESS": DESK,
    "PD_COMPANY_NAME": "株式会社ヒカクプラス",
    "PD_APPROVERS": "sato",
}
START = datetime(2026, 3, 3, 0, 5, tzinfo=UTC)
REQUEST = "私の個人情報をすべて削除してください。"
AWAY = "ただいま不在にしております。3月10日以降に順次対応いたします。"


def _old_scheme(n: int) -> str:
    """The Message-ID the desk used to give draft ``n``: derived from the number and domain."""
    key = f"draft-{n}"
    digest = hashlib.sha256(f"{DOMAIN}\0{key}".encode()).hexdigest()[:16]
    return f"pd.outbox.{key}.{digest}@{DOMAIN}"


def _intake(engine: Engine, now: datetime) -> Intake:
    return Intake(engine, clock=lambda: now, replies=ReplySettings.from_env(SETTINGS))


def _approve_all(engine: Engine) -> list[str]:
    replies = Replies(engine, ReplySettings.from_env(SETTINGS), clock=lambda: START)
    with Session(engine) as session:
        waiting = [d.id for d in repo.drafts(session) if d.status == "draft"]
    return [replies.approve(d, approver="sato").outcome for d in waiting if d is not None]


def _send(engine: Engine, smtp_server: Any) -> int:
    sender = Sender(engine, parse_smtp_url(smtp_server.url()), clock=lambda: START)
    return asyncio.run(sender.run_once()).sent


def test_squatted_ids_lose_nothing(
    engine: Engine, make_mail: Callable[..., bytes], smtp_server: Any
) -> None:
    intake = _intake(engine, START)
    first = intake.process(make_mail(REQUEST, sender="Hanako Sato <hanako@example.jp>"))
    assert first.action == "opened"
    assert _approve_all(engine) == ["queued"]
    assert _send(engine, smtp_server) == 1
    seen = parse_message(smtp_server.received[0].data).message_id  # the stranger's copy

    # Out-of-office mails carrying the IDs our next replies had under the old scheme, and the
    # very ID of the reply the stranger saw.
    squatted = [_old_scheme(n) for n in range(1, 12)] + [seen]
    for squat in squatted:
        took = intake.process(
            make_mail(
                AWAY,
                sender="Mallory <mallory@attacker.example>",
                subject="自動応答",
                message_id=f"<{squat}>",
                Auto_Submitted="auto-replied",
            )
        )
        assert took.action == "archived"

    # The real requests that follow are all opened, their answers all queued and sent.
    results: list[IntakeResult] = [
        intake.process(make_mail(REQUEST, sender=f"Requester {n} <r{n}@example.jp>"))
        for n in range(3)
    ]
    assert [r.action for r in results] == ["opened"] * 3
    assert _approve_all(engine) == ["queued"] * 3
    assert _send(engine, smtp_server) == 3
    sent_ids = {parse_message(m.data).message_id for m in smtp_server.received}
    assert len(sent_ids) == 4 and not sent_ids & set(squatted[:-1])
    with Session(engine) as session:
        assert [i.status for i in repo.outbox(session)] == ["sent"] * 4
        # the stranger's mail with our ID is kept, as inbound mail, apart from ours
        rows = session.exec(select(MailMessage).where(MailMessage.message_id == seen)).all()
        assert sorted(r.direction for r in rows) == ["in", "out"]


def test_a_reused_id_is_kept(engine: Engine, make_mail: Callable[..., bytes]) -> None:
    intake = _intake(engine, START)
    hanako = make_mail(REQUEST, sender="Hanako Sato <hanako@example.jp>", message_id="<x1@m.jp>")
    assert intake.process(hanako).action == "opened"

    # A different mail, another person, the same Message-ID: stored, flagged, its own case.
    jiro = make_mail(
        "私のデータの開示をお願いします。",
        sender="Jiro Suzuki <jiro@example.com>",
        message_id="<x1@m.jp>",
    )
    reused = _intake(engine, START + timedelta(minutes=1)).process(jiro)
    assert reused.action == "opened" and reused.ref
    with Session(engine) as session:
        case = repo.case_by_ref(session, reused.ref)
        assert case is not None and "message_id_reused" in case.flags
        rows = session.exec(select(MailMessage).where(MailMessage.message_id == "x1@m.jp")).all()
        assert len(rows) == 2
        assert sum("message_id_reused" in r.defects for r in rows) == 1
        assert len(session.exec(select(Case)).all()) == 2

    # The same bytes again are a duplicate, and only they are.
    assert intake.process(hanako).action == "duplicate"
    assert intake.process(jiro).action == "duplicate"


def test_requests_behind_squatted_ids_in_the_mailbox_are_all_taken_in(
    dovecot: Any,
    desk_db: tuple[str, Engine],
    make_mail: Callable[..., bytes],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """On a real Dovecot: out-of-office mails carrying the IDs the next requests will carry come
    first; every request behind them still opens its case, and every mail is kept."""
    url, engine = desk_db
    ids = [f"<squat-{n}@mail.example.jp>" for n in range(3)]
    away = [
        make_mail(
            AWAY,
            sender="mallory@attacker.example",
            subject="自動応答",
            message_id=i,
            Auto_Submitted="auto-replied",
        )
        for i in ids
    ]
    real = [
        make_mail(REQUEST, sender=f"Requester {n} <r{n}@example.jp>", message_id=i)
        for n, i in enumerate(ids)
    ]
    dovecot.append_many("desk", [*away, *real])
    monkeypatch.setenv("PD_DATABASE_URL", url)
    monkeypatch.setenv("PD_MAILBOX", dovecot.url("desk"))

    assert main(["fetch"]) == 0
    assert "duplicate" not in capsys.readouterr().out
    with Session(engine) as session:
        assert len(session.exec(select(MailMessage)).all()) == 6
        cases = session.exec(select(Case)).all()
        assert sorted(c.requester for c in cases) == [f"r{n}@example.jp" for n in range(3)]
        assert all("message_id_reused" in c.flags for c in cases)
    with dovecot.client("desk") as imap:
        imap.select_folder("PrivacyDesk.Processed")
        assert len(imap.search(["ALL"])) == 6
