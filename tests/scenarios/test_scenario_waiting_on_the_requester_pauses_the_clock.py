"""Staff ask the requester for identity documents: the SLA clock stops; when the requester
answers, the clock runs again and the deadline has moved by the days the desk waited."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session

from bot.intake import Intake
from storage import repo

TOKYO = ZoneInfo("Asia/Tokyo")
RECEIVED = datetime(2026, 6, 1, 10, 0, tzinfo=TOKYO)  # Monday
ASKED = datetime(2026, 6, 2, 15, 0, tzinfo=TOKYO)  # staff ask for ID the next day
ANSWERED = datetime(2026, 6, 8, 9, 0, tzinfo=TOKYO)  # six days later


def test_the_deadline_moves_by_the_days_the_desk_waited(
    engine: Engine, make_mail: Callable[..., bytes]
) -> None:
    first = Intake(engine, clock=lambda: RECEIVED.astimezone(UTC)).process(
        make_mail(
            "私の個人情報をすべて削除してください。",
            date=RECEIVED,
            message_id="<del-1@mail.example.jp>",
        )
    )
    assert first.ref is not None
    # APPI: 14 calendar days after receipt, at the end of that day in Tokyo.
    assert first.answer_due == datetime(2026, 6, 15, 23, 59, 59, 999999, tzinfo=TOKYO)

    with Session(engine) as session:
        case = repo.case_by_ref(session, first.ref)
        assert case is not None
        repo.pause_case(session, case, at=ASKED, reason="identity documents", actor="U123")
        session.commit()
        assert case.status == "awaiting_verification"

    reply = Intake(engine, clock=lambda: ANSWERED.astimezone(UTC)).process(
        make_mail(
            "運転免許証の画像を添付します。",
            subject="Re: 本人確認書類のご提出のお願い",
            date=ANSWERED,
            In_Reply_To="<del-1@mail.example.jp>",
        )
    )
    assert (reply.action, reply.ref) == ("linked", first.ref)

    with Session(engine) as session:
        found = repo.case_file(session, first.ref)
        assert found is not None
        # Paused from 6/2 to 6/8: six days, so due 6/15 + 6 = 6/21.
        assert found.case.answer_due == datetime(2026, 6, 21, 23, 59, 59, 999999, tzinfo=TOKYO)
        assert found.case.status == "in_progress"
        assert [e.action for e in found.events] == [
            "case opened",
            "draft prepared",
            "clock paused",
            "message linked",
            "clock resumed",
        ]
        assert repo.open_pause(session, found.case.id or 0) is None


def test_a_reply_without_a_pause_changes_no_deadline(
    engine: Engine, make_mail: Callable[..., bytes]
) -> None:
    first = Intake(engine, clock=lambda: RECEIVED.astimezone(UTC)).process(
        make_mail("私の個人情報をすべて削除してください。", message_id="<del-2@mail.example.jp>")
    )
    Intake(engine, clock=lambda: ANSWERED.astimezone(UTC)).process(
        make_mail("よろしくお願いします。", In_Reply_To="<del-2@mail.example.jp>")
    )
    with Session(engine) as session:
        case = repo.case_by_ref(session, first.ref or "")
        assert case is not None
        assert case.answer_due == first.answer_due
        assert case.status == "new"
