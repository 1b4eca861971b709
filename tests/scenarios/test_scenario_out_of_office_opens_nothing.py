"""An out-of-office reply reaches the privacy address: it is recorded and archived, never a case,
even when it comes from a requester and names their case."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Engine, func
from sqlmodel import Session, select

from bot.intake import Intake
from storage import repo
from storage.models import Case, MailMessage

NOW = datetime(2026, 3, 3, 0, 5, tzinfo=UTC)
AWAY = "ただいま不在にしております。3月10日以降に順次対応いたします。"


def _cases(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(Case)).one()


def test_an_out_of_office_reply_opens_nothing(
    engine: Engine, make_mail: Callable[..., bytes]
) -> None:
    result = Intake(engine, clock=lambda: NOW).process(
        make_mail(
            AWAY,
            sender="Taro <taro@example.co.jp>",
            subject="自動応答: お問い合わせ",
            message_id="<away-1@example.co.jp>",
            Auto_Submitted="auto-replied",
        )
    )
    assert result.action == "archived"
    assert result.ref is None
    assert _cases(engine) == 0
    with Session(engine) as session:
        [stored] = session.exec(select(MailMessage)).all()
    # Recorded, not dropped: the message is kept, with no case.
    assert stored.message_id == "away-1@example.co.jp"
    assert stored.case_id is None
    assert stored.disposition == "machine"
    assert stored.intents == ["auto_reply"]


def test_the_requesters_out_of_office_does_not_touch_her_case(
    engine: Engine, make_mail: Callable[..., bytes]
) -> None:
    intake = Intake(engine, clock=lambda: NOW)
    ref = intake.process(
        make_mail("私の個人情報をすべて削除してください。", subject="個人情報削除のお願い")
    ).ref
    assert ref is not None
    result = intake.process(
        make_mail(
            AWAY, subject=f"自動応答: Re: [{ref}] ご依頼について", Auto_Submitted="auto-replied"
        )
    )
    assert result.action == "archived"
    assert result.ref is None
    assert _cases(engine) == 1
    with Session(engine) as session:
        found = repo.case_file(session, ref)
    assert found is not None
    assert len(found.messages) == 1
    assert [e.action for e in found.events] == ["case opened", "draft prepared"]
