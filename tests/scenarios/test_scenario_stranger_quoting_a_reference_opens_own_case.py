"""Someone else writes quoting Hanako's case reference, or replying in her thread: the mail opens
a case of its own, flagged for staff, and Hanako's case is untouched (DESIGN rule 3)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import Session

from bot.intake import Intake
from storage import repo

NOW = datetime(2026, 3, 3, 0, 5, tzinfo=UTC)
STRANGER = "Jiro Suzuki <jiro@example.com>"


def _check_apart(engine: Engine, hanakos_ref: str, strangers_ref: str | None) -> None:
    assert strangers_ref is not None and strangers_ref != hanakos_ref
    with Session(engine) as session:
        hers = repo.case_file(session, hanakos_ref)
        his = repo.case_file(session, strangers_ref)
    assert hers is not None and his is not None
    assert [m.message_id for m in hers.messages] == ["req-1@mail.example.jp"]
    assert hers.addresses == ["hanako@example.jp"]
    assert hers.case.flags == []
    assert [e.action for e in hers.events] == ["case opened", "draft prepared"]
    assert his.case.requester == "jiro@example.com"
    assert his.case.status == "new"
    assert his.case.flags == ["foreign_reference"]
    assert [m.message_id for m in his.messages] == ["stranger@mail.example.com"]


def test_a_stranger_quoting_the_reference_opens_a_flagged_case(
    engine: Engine, make_mail: Callable[..., bytes], deletion_case: tuple[Intake, str]
) -> None:
    intake, ref = deletion_case
    result = intake.process(
        make_mail(
            "Please delete all personal data you hold about me.",
            sender=STRANGER,
            subject=f"Re: {ref} deletion",
            message_id="<stranger@mail.example.com>",
        )
    )
    assert result.action == "opened"
    assert result.intents == ("deletion",)
    _check_apart(engine, ref, result.ref)


def test_a_stranger_replying_in_the_thread_opens_a_flagged_case(
    database: str,
    engine: Engine,
    make_mail: Callable[..., bytes],
    deletion_case: tuple[Intake, str],
) -> None:
    intake, ref = deletion_case
    result = intake.process(
        make_mail(
            "Please delete all personal data you hold about me.",
            sender=STRANGER,
            subject="Re: 個人情報削除のお願い",
            message_id="<stranger@mail.example.com>",
            In_Reply_To="<req-1@mail.example.jp>",
            References="<req-1@mail.example.jp>",
        )
    )
    assert result.action == "opened"
    _check_apart(engine, ref, result.ref)


THREAD_LOOKUP_BUG = (
    "storage/repo.py known_for: SELECT DISTINCT over case rows fails on PostgreSQL "
    "(no equality operator for type json), so the message is quarantined"
)
