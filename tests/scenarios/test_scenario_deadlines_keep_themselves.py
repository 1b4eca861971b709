"""Deadlines keep themselves: a case nobody answers is chased in its Slack thread as its time
runs out, a late complaint is escalated in the channel, a paused case is left alone, a restart
repeats nothing, and after a weekend of downtime every case gets one message and the channel one
digest. Slack is the Web API double; the clock is the test's, moved in steps."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.intake import Intake
from bot.replies import Replies, ReplySettings, Sender
from bot.scheduler import REMINDER_EVENT, RunSummary, Scheduler, SchedulerSettings
from bot.slack.poster import CasePoster
from bot.words import words
from handlers import sla
from mail.parse import parse_message
from mail.smtp import parse_smtp_url
from storage import repo
from storage.db import open_database, writer
from storage.models import Case, Draft

TOKYO = ZoneInfo("Asia/Tokyo")
MONDAY = datetime(2026, 6, 1, 10, 0, tzinfo=TOKYO)
DESK = {"PD_FROM_ADDRESS": "privacy@example-hikaku.co.jp", "PD_APPROVERS": "U0APPROVER1"}
COMPLAINT = (
    "ご担当者様\n\n本日、私宛てに別の方の見積もり結果のメールが届きました。"
    "氏名・住所・電話番号まで記載されています。\n個人情報の管理が杜撰です。"
    "大変問題だと思います。\n\n森田 真奈"
)

_made: list[Scheduler] = []


@pytest.fixture(autouse=True)
def _close_schedulers() -> Iterator[None]:
    yield
    while _made:
        _made.pop().close()


def _client(slack: Any) -> AsyncWebClient:
    return AsyncWebClient(token=slack.bot_token, base_url=slack.base_url, retry_handlers=[])


def _scheduler(engine: Engine, slack: Any, **env: str) -> Scheduler:
    scheduler = Scheduler(
        engine,
        _client(slack),
        slack.channel,
        SchedulerSettings.from_env(env),
        ReplySettings.from_env(DESK),
        words=words("en"),
    )
    _made.append(scheduler)
    return scheduler


def _in_channel(engine: Engine, slack: Any) -> None:
    """The case poster puts every case in the channel: each gets its thread."""
    poster = CasePoster(engine, _client(slack), slack.channel, words=words("en"))
    for _ in range(10):
        if not asyncio.run(poster.run_once(limit=500)).posted:
            return
    raise AssertionError("the poster did not finish")


def run(scheduler: Scheduler, now: datetime) -> RunSummary:
    return asyncio.run(scheduler.run_once(now))


def _take(engine: Engine, mail: bytes, at: datetime) -> str:
    result = Intake(engine, clock=lambda: at.astimezone(UTC)).process(mail)
    assert result.ref is not None
    return result.ref


def _case(engine: Engine, ref: str) -> Case:
    with Session(engine) as session:
        case = repo.case_by_ref(session, ref)
        assert case is not None
        return case


def _ours(slack: Any) -> set[str]:
    """What the scheduler posted (its messages carry its metadata)."""
    texts = set()
    for call in slack.calls("chat.postMessage"):
        metadata = call.params.get("metadata") or {}
        metadata = json.loads(metadata) if isinstance(metadata, str) else metadata
        if metadata.get("event_type") == REMINDER_EVENT:
            texts.add(call.params["text"])
    return texts


def _thread(engine: Engine, slack: Any, ref: str) -> list[str]:
    """The scheduler's messages in the case's thread, oldest first."""
    ts = _case(engine, ref).slack_ts
    assert ts is not None
    ours = _ours(slack)
    return [m["text"] for m in slack.thread(slack.channel, ts)[1:] if m["text"] in ours]


def _steps(start: datetime, end: datetime, step: timedelta) -> Iterator[datetime]:
    while start <= end:
        yield start
        start += step


def test_a_complaint_left_alone_reminds_at_half_four_fifths_and_due_then_escalates(
    engine: Engine, slack: Any, make_mail: Callable[..., bytes]
) -> None:
    ref = _take(engine, make_mail(COMPLAINT, subject="他人宛てのメールが届きました"), MONDAY)
    case = _case(engine, ref)
    assert case.intents == ["complaint"]
    assert case.answer_due == datetime(2026, 6, 4, 23, 59, 59, 999999, tzinfo=TOKYO)
    _in_channel(engine, slack)
    scheduler = _scheduler(engine, slack, PD_ESCALATION="S0ESCAL0001")
    said: list[tuple[datetime, str]] = []  # (when, what) the desk said of this case
    seen = len(_thread(engine, slack, ref))
    for now in _steps(MONDAY, datetime(2026, 6, 9, 12, 0, tzinfo=TOKYO), timedelta(minutes=30)):
        summary = run(scheduler, now)
        thread = _thread(engine, slack, ref)
        said += [(now, text) for text in thread[seen:]]
        seen = len(thread)
        said += [(now, "ESCALATION") for _ in range(summary.escalations)]
    kinds = [
        (when, "50%" if "50%" in text else "80%" if "80%" in text else text.split(" is ")[-1][:7])
        for when, text in said
    ]
    assert kinds == [
        (datetime(2026, 6, 3, 5, 0, tzinfo=TOKYO), "50%"),
        (datetime(2026, 6, 4, 7, 0, tzinfo=TOKYO), "80%"),
        (datetime(2026, 6, 4, 9, 0, tzinfo=TOKYO), "due tod"),
        (datetime(2026, 6, 5, 0, 0, tzinfo=TOKYO), "ESCALAT"),
        (datetime(2026, 6, 5, 9, 0, tzinfo=TOKYO), "overdue"),  # Friday
        (datetime(2026, 6, 8, 9, 0, tzinfo=TOKYO), "overdue"),  # Monday: not the weekend
        (datetime(2026, 6, 9, 9, 0, tzinfo=TOKYO), "overdue"),
    ]
    # every reminder calls the approvers (nobody took the case) in the case's thread
    assert all(text.startswith("<@U0APPROVER1> ") for _, text in said if text != "ESCALATION")
    # the escalation is in the channel itself, once, calling the escalation group
    escalations = [m["text"] for m in slack.messages() if "past its deadline" in m["text"]]
    assert len(escalations) == 1
    assert escalations[0].startswith("<!subteam^S0ESCAL0001>") and ref in escalations[0]
    # and one digest a day, the complaint among the overdue from Friday
    digests = [m["text"] for m in slack.messages() if "daily digest" in m["text"]]
    assert [d.splitlines()[0][-17:-7] for d in digests] == [
        f"2026-06-{day:02d}" for day in range(1, 10)
    ]
    assert [ref in d.splitlines()[3] for d in digests] == [False] * 4 + [True] * 5
    # the audit trail has each reminder, marked as already told in Slack
    with Session(engine) as session:
        found = repo.case_file(session, ref)
        assert found is not None
        told = [e.detail for e in found.events if e.actor == "scheduler"]
    assert [e["threshold"] for e in told] == [
        "50%",
        "80%",
        "due",
        "escalated",
        "overdue-1",
        "overdue-2",
        "overdue-3",
    ]
    assert all(e["posted"] is True for e in told)
    # the case poster, which tells a thread what happened, does not tell a reminder again
    asyncio.run(CasePoster(engine, _client(slack), slack.channel, words=words("en")).run_once())
    everything = [m["text"] for m in slack.thread(slack.channel, _case(engine, ref).slack_ts or "")]
    assert sum(("of the time to answer" in t or " is overdue" in t) for t in everything) == 5


def test_a_paused_case_does_not_remind_and_resuming_moves_its_reminders(
    engine: Engine, slack: Any, make_mail: Callable[..., bytes]
) -> None:
    ref = _take(
        engine,
        make_mail("私の個人情報をすべて削除してください。", message_id="<del-1@mail.example.jp>"),
        MONDAY,
    )
    _in_channel(engine, slack)
    asked = datetime(2026, 6, 2, 15, 0, tzinfo=TOKYO)
    with Session(writer(engine)) as session:
        case = repo.case_by_ref(session, ref)
        assert case is not None
        repo.pause_case(session, case, at=asked, reason="identity documents", actor="U0STAFF001")
        session.commit()
    scheduler = _scheduler(engine, slack, PD_DIGEST_TIME="off")
    answered = datetime(2026, 6, 8, 9, 0, tzinfo=TOKYO)
    for now in _steps(MONDAY, answered - timedelta(hours=1), timedelta(hours=1)):
        assert run(scheduler, now) == RunSummary()  # 6/8 17:00 would have been half-way
    _take(
        engine,
        make_mail(
            "運転免許証の画像を添付します。",
            subject="Re: 本人確認書類のご提出のお願い",
            In_Reply_To="<del-1@mail.example.jp>",
        ),
        answered,
    )
    assert _case(engine, ref).answer_due == datetime(2026, 6, 21, 23, 59, 59, 999999, tzinfo=TOKYO)
    said = []
    for now in _steps(answered, datetime(2026, 6, 17, 12, 0, tzinfo=TOKYO), timedelta(hours=1)):
        if run(scheduler, now).reminders:
            said.append(now)
    # half of the running time: 1 day 5 hours before the pause, 6 days 5 hours after it
    assert said == [datetime(2026, 6, 14, 14, 0, tzinfo=TOKYO)]
    [text] = _thread(engine, slack, ref)
    assert "50%" in text and "Due 2026-06-21" in text


def test_a_restarted_service_does_not_repeat(
    database: str, slack: Any, make_mail: Callable[..., bytes]
) -> None:
    engine = open_database(database, auto_upgrade=True)
    ref = _take(engine, make_mail("私の個人情報をすべて削除してください。"), MONDAY)
    _in_channel(engine, slack)
    half = datetime(2026, 6, 8, 18, 0, tzinfo=TOKYO)
    first = _scheduler(engine, slack, PD_DIGEST_TIME="off")
    assert run(first, half).reminders == 1
    slack.rate_limit("chat.postMessage")
    assert run(first, datetime(2026, 6, 13, 3, 0, tzinfo=TOKYO)).retry_after  # 80%: recorded
    first.close()
    engine.dispose()  # the service stops ...

    engine = open_database(database)  # ... and starts again
    again = _scheduler(engine, slack, PD_DIGEST_TIME="off")
    summary = run(again, datetime(2026, 6, 13, 3, 5, tzinfo=TOKYO))
    assert (summary.reminders, summary.retried) == (1, 1)  # the 80% Slack never took
    for now in (half, datetime(2026, 6, 13, 4, 0, tzinfo=TOKYO), half - timedelta(days=2)):
        assert run(again, now) == RunSummary()  # later, or with the clock set back
    texts = _thread(engine, slack, ref)
    assert [("50%" in t, "80%" in t) for t in texts] == [(True, False), (False, True)]
    engine.dispose()


def test_500_overdue_cases_after_a_weekend_get_one_message_each_and_one_digest(
    engine: Engine, slack: Any
) -> None:
    refs: dict[str, str] = {}
    with Session(writer(engine)) as session:
        for i in range(500):
            intents = ["complaint"] if i % 5 == 0 else ["deletion"]
            # deletions due 5/29..6/5; complaints due Friday 6/5
            received = (
                datetime(2026, 6, 2, 9, 0, tzinfo=TOKYO)
                if intents == ["complaint"]
                else datetime(2026, 5, 15 + i % 8, 9, 0, tzinfo=TOKYO)
            )
            handle = repo.open_case(
                session,
                kind="privacy",
                intents=intents,
                language="ja",
                requester=f"user{i}@example.jp",
                requester_name="",
                received_at=received,
                ack_due=None,
                answer_due=sla.deadlines(received, intents).answer_due,
                needs_triage=False,
                flags=(),
            )
            refs[handle.ref] = intents[0]
        session.commit()
    _in_channel(engine, slack)
    friday = datetime(2026, 6, 5, 9, 30, tzinfo=TOKYO)
    first = _scheduler(engine, slack, PD_ESCALATION="S0ESCAL0001")
    summary = run(first, friday)
    assert (summary.reminders, summary.digests) == (500, 1)  # one each, the latest due
    first.close()  # the service goes down for the weekend

    def messages_per_case() -> dict[str, int]:
        count = dict.fromkeys(refs, 0)
        for call in slack.calls("chat.postMessage"):
            metadata = call.params.get("metadata") or {}
            metadata = json.loads(metadata) if isinstance(metadata, str) else metadata
            if metadata.get("event_type") == REMINDER_EVENT:
                payload = metadata["event_payload"]
                # escalations due together are one message naming each of its cases
                for ref in payload.get("refs") or [payload["ref"]]:
                    count[ref] += 1
        return count

    before = messages_per_case()
    monday = _scheduler(engine, slack, PD_ESCALATION="S0ESCAL0001")
    summary = run(monday, datetime(2026, 6, 8, 10, 0, tzinfo=TOKYO))
    after = messages_per_case()
    assert {after[ref] - before[ref] for ref in refs} == {1}  # one message per case, no flood
    assert (summary.escalations, summary.reminders, summary.digests) == (100, 400, 1)
    digests = [m["text"] for m in slack.messages() if "daily digest" in m["text"]]
    assert [d.splitlines()[0][-17:-7] for d in digests] == ["2026-06-05", "2026-06-08"]
    assert "• Overdue (500): " in digests[1] and ", and 460 more" in digests[1]
    # the next pass: the escalated complaints get their first overdue reminder, nothing else
    summary = run(monday, datetime(2026, 6, 8, 10, 5, tzinfo=TOKYO))
    assert (summary.escalations, summary.reminders, summary.digests) == (0, 100, 0)
    assert run(monday, datetime(2026, 6, 8, 10, 10, tzinfo=TOKYO)) == RunSummary()


def test_an_unanswered_verification_closes_the_case_once_staff_approve(
    engine: Engine, slack: Any, smtp_server: Any, make_mail: Callable[..., bytes]
) -> None:
    ref = _take(engine, make_mail("私の個人情報をすべて削除してください。"), MONDAY)
    asked = datetime(2026, 6, 2, 15, 0, tzinfo=TOKYO)
    with Session(writer(engine)) as session:
        case = repo.case_by_ref(session, ref)
        assert case is not None
        repo.pause_case(session, case, at=asked, reason="identity documents", actor="U0STAFF001")
        session.commit()
    _in_channel(engine, slack)
    scheduler = _scheduler(engine, slack, PD_DIGEST_TIME="off")
    assert run(scheduler, asked + timedelta(days=7)).drafts == 1  # a reminder to the requester
    assert run(scheduler, asked + timedelta(days=14)).drafts == 1  # then the closing mail
    note = _thread(engine, slack, ref)[-1]
    assert "unanswered for 14 days" in note
    with Session(engine) as session:
        closing = session.exec(
            select(Draft)
            .where(Draft.case_id == _case(engine, ref).id)
            .order_by(col(Draft.id).desc())
        ).first()
        assert closing is not None and closing.template == "unverified_close"
        assert closing.id is not None
    late = (asked + timedelta(days=15)).astimezone(UTC)
    Replies(engine, ReplySettings.from_env(DESK), clock=lambda: late).approve(
        closing.id, approver="U0APPROVER1"
    )
    asyncio.run(Sender(engine, parse_smtp_url(smtp_server.url()), clock=lambda: late).run_once())
    [got] = smtp_server.received
    mail = parse_message(got.data)
    assert ref in mail.subject and "14日" in mail.text  # "we waited 14 days, and closed it"
    assert _case(engine, ref).status == "closed"
    assert run(scheduler, asked + timedelta(days=30)) == RunSummary()  # nothing chases it now
