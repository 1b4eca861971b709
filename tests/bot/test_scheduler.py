"""The scheduler's service side: reminders recorded before they are posted, into the case's
thread, retried through Slack's faults, escalations in the channel, requester drafts, the daily
digest, and one leading replica. Slack is the Web API double; every test runs on SQLite and on
PostgreSQL, with the scheduler's clock given."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from support import Serving, eventually, pg_admin

from bot.replies import ReplySettings
from bot.scheduler import (
    REMINDER_EVENT,
    RunSummary,
    Scheduler,
    SchedulerSettings,
    SchedulerSettingsError,
)
from bot.slack.poster import CasePoster
from bot.slack.texts import mention
from bot.words import words
from handlers import sla
from storage import repo
from storage.db import open_database, writer
from storage.models import AuditEvent, Case, Digest, Draft, SentReminder

TOKYO = ZoneInfo("Asia/Tokyo")
MONDAY = datetime(2026, 6, 1, 10, 0, tzinfo=TOKYO)
HALF = datetime(2026, 6, 8, 18, 0, tzinfo=TOKYO)  # a deletion received MONDAY: past 50% (17:00)
FOUR_FIFTHS = datetime(2026, 6, 13, 12, 0, tzinfo=TOKYO)  # past 80% (6/13 02:48)
REPLIES = {
    "PD_FROM_ADDRESS": "privacy@example-hikaku.co.jp",
    "PD_APPROVERS": "U0APPROVER1, S0LEGAL0001, sato",
}


def _client(slack: Any) -> AsyncWebClient:
    return AsyncWebClient(token=slack.bot_token, base_url=slack.base_url, retry_handlers=[])


_made: list[Scheduler] = []


@pytest.fixture(autouse=True)
def _close_schedulers() -> Iterator[None]:
    """Each scheduler gives up its lock's connection (PostgreSQL) when the test ends."""
    yield
    while _made:
        _made.pop().close()


def _scheduler(engine: Engine, slack: Any, *, language: str = "en", **env: str) -> Scheduler:
    """A scheduler with the operator's settings ``env``; without the digest unless asked; its
    texts in English unless ``language`` says otherwise."""
    scheduler = Scheduler(
        engine,
        _client(slack),
        slack.channel,
        SchedulerSettings.from_env({"PD_DIGEST_TIME": "off", **env}),
        ReplySettings.from_env(REPLIES),
        words=words(language),
    )
    _made.append(scheduler)
    return scheduler


def _open(
    engine: Engine,
    *,
    intents: Sequence[str] = ("deletion",),
    received: datetime = MONDAY,
    assignee: str | None = None,
    requester: str = "hanako@example.jp",
) -> str:
    with Session(writer(engine)) as session:
        handle = repo.open_case(
            session,
            kind="privacy",
            intents=intents,
            language="ja",
            requester=requester,
            requester_name="",
            received_at=received,
            ack_due=None,
            answer_due=sla.deadlines(received, intents).answer_due,
            needs_triage=False,
            flags=(),
            assignee=assignee,
        )
        session.commit()
        return handle.ref


def _in_channel(engine: Engine, slack: Any) -> None:
    """The case poster puts every case in the channel: each gets its thread."""
    asyncio.run(CasePoster(engine, _client(slack), slack.channel).run_once())


def run(scheduler: Scheduler, now: datetime) -> RunSummary:
    return asyncio.run(scheduler.run_once(now))


def _case(engine: Engine, ref: str) -> Case:
    with Session(engine) as session:
        case = repo.case_by_ref(session, ref)
        assert case is not None
        return case


def _ours(slack: Any) -> set[str]:
    """The texts the scheduler sent Slack (its posts carry its metadata), answered or not."""
    sent = set()
    for call in slack.calls("chat.postMessage"):
        metadata = call.params.get("metadata") or {}
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        if metadata.get("event_type") == REMINDER_EVENT:
            sent.add(call.params["text"])
    return sent


def _replies(engine: Engine, slack: Any, ref: str) -> list[str]:
    """The scheduler's messages in the case's thread (the case poster tells others there)."""
    case = _case(engine, ref)
    assert case.slack_ts is not None
    ours = _ours(slack)
    return [m["text"] for m in slack.thread(slack.channel, case.slack_ts)[1:] if m["text"] in ours]


def _recorded(engine: Engine, ref: str) -> dict[str, str]:
    case = _case(engine, ref)
    with Session(engine) as session:
        rows = session.exec(select(SentReminder).where(SentReminder.case_id == case.id))
        return {r.threshold: r.state for r in rows}


def _events(engine: Engine, ref: str, action: str) -> list[dict[str, Any]]:
    case = _case(engine, ref)
    with Session(engine) as session:
        return [
            e.detail
            for e in session.exec(
                select(AuditEvent)
                .where(AuditEvent.case_id == case.id, AuditEvent.action == action)
                .order_by(col(AuditEvent.id))
            )
        ]


# ---- settings ----------------------------------------------------------------------------


def test_settings_defaults_and_values() -> None:
    plain = SchedulerSettings.from_env({})
    assert plain.escalation == () and plain.digest_time.isoformat() == "09:00:00"
    assert plain.requester_reminder == timedelta(days=7)
    assert plain.unverified_close == timedelta(days=14)
    set_ = SchedulerSettings.from_env(
        {
            "PD_ESCALATION": "S0ESCAL0001, U0BOSS00001",
            "PD_DIGEST_TIME": "8:30",
            "PD_REQUESTER_REMINDER_DAYS": "5",
        }
    )
    assert set_.escalation == ("S0ESCAL0001", "U0BOSS00001")
    assert set_.digest_time.isoformat() == "08:30:00"
    assert set_.requester_reminder == timedelta(days=5)


def test_bad_settings_are_listed_in_one_error() -> None:
    with pytest.raises(SchedulerSettingsError) as caught:
        SchedulerSettings.from_env(
            {
                "PD_ESCALATION": "@legal, S0ESCAL0001",
                "PD_DIGEST_TIME": "25:00",
                "PD_REQUESTER_REMINDER_DAYS": "a week",
            }
        )
    message = str(caught.value)
    assert "PD_ESCALATION" in message and "'@legal'" in message
    assert "PD_DIGEST_TIME" in message and "'25:00'" in message
    assert "PD_REQUESTER_REMINDER_DAYS" in message and "'a week'" in message


def test_mentions() -> None:
    assert mention("U0STAFF001") == "<@U0STAFF001>"
    assert mention("S0LEGAL0001") == "<!subteam^S0LEGAL0001>"
    assert mention("sato <b>") == "sato &lt;b&gt;"


# ---- reminders in the thread -------------------------------------------------------------


def test_a_reminder_goes_into_the_case_thread_mentioning_the_assignee(
    engine: Engine, slack: Any
) -> None:
    ref = _open(engine, assignee="U0STAFF001")
    _in_channel(engine, slack)
    scheduler = _scheduler(engine, slack)
    assert run(scheduler, HALF - timedelta(days=2)).reminders == 0  # not yet half-way
    assert run(scheduler, HALF).reminders == 1
    [text] = _replies(engine, slack, ref)
    assert text.startswith("<@U0STAFF001>") and ref in text and "50%" in text
    assert "2026-06-15" in text  # the deadline
    assert "U0APPROVER1" not in text  # the assignee, not the approvers
    assert _recorded(engine, ref) == {"50%": "posted"}
    [event] = _events(engine, ref, "reminder")
    assert event == {"threshold": "50%", "text": text, "posted": True}
    assert run(scheduler, HALF).reminders == 0  # once


def test_an_unassigned_case_calls_the_approvers(engine: Engine, slack: Any) -> None:
    nobody = _open(engine)
    named = _open(engine, assignee="Tanaka <b>", requester="taro@example.jp")
    _in_channel(engine, slack)
    assert run(_scheduler(engine, slack), HALF).reminders == 2
    [text] = _replies(engine, slack, nobody)
    assert text.startswith("<@U0APPROVER1> <!subteam^S0LEGAL0001> sato ")
    [text] = _replies(engine, slack, named)
    assert "<@U0APPROVER1>" in text and "(assigned to Tanaka &lt;b&gt;)" in text


def test_a_case_not_yet_in_the_channel_waits_for_its_thread(engine: Engine, slack: Any) -> None:
    ref = _open(engine)
    scheduler = _scheduler(engine, slack)
    summary = run(scheduler, HALF)
    assert (summary.waiting, summary.reminders) == (1, 0)
    assert _recorded(engine, ref) == {}  # not recorded: it comes once there is a thread
    assert slack.calls("chat.postMessage") == []
    _in_channel(engine, slack)
    assert run(scheduler, HALF).reminders == 1
    assert len(_replies(engine, slack, ref)) == 1


def test_a_rate_limited_reminder_stays_pending_and_is_posted_once_later(
    engine: Engine, slack: Any
) -> None:
    refs = [_open(engine, requester=f"user{i}@example.jp") for i in range(3)]
    _in_channel(engine, slack)
    scheduler = _scheduler(engine, slack)
    slack.rate_limit("chat.postMessage", retry_after=7)
    summary = run(scheduler, HALF)
    assert summary.retry_after == 7.0 and summary.reminders == 0  # the pass ended at the 429
    assert _recorded(engine, refs[0]) == {"50%": "pending"}  # recorded, kept for the next run
    assert _recorded(engine, refs[1]) == {}
    summary = run(scheduler, HALF)
    assert (summary.reminders, summary.retried) == (3, 1)
    assert run(scheduler, HALF) == RunSummary()
    for ref in refs:
        assert len(_replies(engine, slack, ref)) == 1
        assert _recorded(engine, ref) == {"50%": "posted"}


@pytest.mark.parametrize("after_effect", [True, False], ids=["posted anyway", "not posted"])
def test_a_lost_answer_is_looked_for_before_posting_again(
    engine: Engine, slack: Any, after_effect: bool
) -> None:
    ref = _open(engine)
    _in_channel(engine, slack)
    scheduler = _scheduler(engine, slack)
    slack.fail("chat.postMessage", status=503, after_effect=after_effect)
    assert run(scheduler, HALF).errors == [f"{ref}: HTTP 503"]
    assert _recorded(engine, ref) == {"50%": "uncertain"}
    summary = run(scheduler, HALF)
    assert (summary.found, summary.reminders) == ((1, 0) if after_effect else (0, 1))
    assert len(_replies(engine, slack, ref)) == 1  # in the thread once, either way
    assert _recorded(engine, ref) == {"50%": "posted"}
    assert len(_events(engine, ref, "reminder")) == 1


def test_a_slack_refusal_is_kept_and_retried(engine: Engine, slack: Any) -> None:
    ref = _open(engine)
    _in_channel(engine, slack)
    scheduler = _scheduler(engine, slack)
    slack.fail("chat.postMessage", error="msg_too_long")
    assert run(scheduler, HALF).errors == [f"{ref}: msg_too_long"]
    assert _recorded(engine, ref) == {"50%": "pending"}
    assert run(scheduler, HALF).retried == 1
    assert len(_replies(engine, slack, ref)) == 1


@pytest.mark.parametrize("problem", ["missing_scope", "token_expired", "token_revoked"])
def test_a_token_or_scope_problem_ends_the_pass_after_one_call_and_is_reported(
    engine: Engine, slack: Any, problem: str
) -> None:
    refs = [_open(engine, requester=f"user{i}@example.jp") for i in range(3)]
    _in_channel(engine, slack)
    reported: list[tuple[str, str]] = []
    scheduler = Scheduler(
        engine,
        _client(slack),
        slack.channel,
        SchedulerSettings.from_env({"PD_DIGEST_TIME": "off"}),
        ReplySettings.from_env(REPLIES),
        report=lambda state, detail: reported.append((state, detail)),
    )
    _made.append(scheduler)
    if problem == "token_revoked":
        slack.revoke_token(slack.bot_token)
    else:
        slack.fail("chat.postMessage", error=problem, times=2)  # two passes' worth
    before = len(slack.calls())
    summary = run(scheduler, HALF)
    assert [c.method for c in slack.calls()[before:]] == ["chat.postMessage"]  # one call
    assert summary.errors == [f"Slack: {problem}"] and summary.reminders == 0
    assert reported == [("degraded", f"1 errors, first: Slack: {problem}; retrying")]
    assert _recorded(engine, refs[0]) == {"50%": "pending"}  # kept for when staff fix it
    assert _recorded(engine, refs[1]) == {}
    # every pass stops the same way until the app is fixed
    before = len(slack.calls())
    assert run(scheduler, HALF).errors == [f"Slack: {problem}"]
    assert len(slack.calls()) == before + 1
    if problem == "token_revoked":
        slack.add_token(slack.bot_token)  # staff fixed the app
    summary = run(scheduler, HALF)
    assert (summary.reminders, summary.retried, summary.errors) == (3, 1, [])
    assert reported[-1] == ("ok", "")
    for ref in refs:
        assert len(_replies(engine, slack, ref)) == 1


def test_a_newer_reminder_supersedes_one_slack_never_took(engine: Engine, slack: Any) -> None:
    ref = _open(engine)
    _in_channel(engine, slack)
    scheduler = _scheduler(engine, slack)
    slack.rate_limit("chat.postMessage")
    run(scheduler, HALF)
    summary = run(scheduler, FOUR_FIFTHS)  # Slack back only when 80% has passed too
    assert (summary.reminders, summary.superseded) == (1, 1)
    [text] = _replies(engine, slack, ref)
    assert "80%" in text
    assert _recorded(engine, ref) == {"50%": "superseded", "80%": "posted"}


def test_a_finished_case_drops_its_pending_reminder(engine: Engine, slack: Any) -> None:
    ref = _open(engine)
    _in_channel(engine, slack)
    scheduler = _scheduler(engine, slack)
    slack.rate_limit("chat.postMessage")
    run(scheduler, HALF)
    with Session(writer(engine)) as session:
        case = repo.case_by_ref(session, ref)
        assert case is not None
        repo.touch(session, case, status="answered")
        session.commit()
    assert run(scheduler, FOUR_FIFTHS).reminders == 0
    assert _replies(engine, slack, ref) == []
    assert _recorded(engine, ref) == {"50%": "dropped"}


# ---- escalation --------------------------------------------------------------------------


def test_an_overdue_complaint_is_escalated_in_the_channel_once(engine: Engine, slack: Any) -> None:
    ref = _open(engine, intents=("complaint",), assignee="U0STAFF001")
    _in_channel(engine, slack)
    scheduler = _scheduler(engine, slack, PD_ESCALATION="S0ESCAL0001 U0BOSS00001")
    before = len(slack.messages())
    late = datetime(2026, 6, 5, 0, 30, tzinfo=TOKYO)  # due 6/4, end of day
    summary = run(scheduler, late)
    assert summary.escalations == 1 and summary.reminders == 0  # one message for the case
    [escalation] = slack.messages()[before:]  # top level: in the channel itself
    text = escalation["text"]
    assert text.startswith("<!subteam^S0ESCAL0001> <@U0BOSS00001>")
    assert ref in text and "Complaint" in text and "<@U0STAFF001>" in text
    [event] = _events(engine, ref, "escalated")
    assert event["posted"] is True and event["threshold"] == "escalated"
    assert run(scheduler, late).escalations == 0
    # the overdue reminders go on in the thread
    assert run(scheduler, datetime(2026, 6, 5, 9, 0, tzinfo=TOKYO)).reminders == 1
    assert "overdue" in _replies(engine, slack, ref)[-1]
    assert len(slack.messages()) == before + 1


def test_the_escalation_does_not_wait_for_a_thread(engine: Engine, slack: Any) -> None:
    ref = _open(engine, intents=("complaint",))
    summary = run(
        _scheduler(engine, slack, PD_ESCALATION="S0ESCAL0001"),
        datetime(2026, 6, 5, 0, 30, tzinfo=TOKYO),
    )
    assert summary.escalations == 1
    [message] = slack.messages()
    assert ref in message["text"] and "<!subteam^S0ESCAL0001>" in message["text"]


# ---- waiting on the requester ------------------------------------------------------------


def _pause(engine: Engine, ref: str, at: datetime, reason: str) -> None:
    with Session(writer(engine)) as session:
        case = repo.case_by_ref(session, ref)
        assert case is not None
        repo.pause_case(session, case, at=at, reason=reason, actor="U0STAFF001")
        session.commit()


def _drafts(engine: Engine, ref: str) -> list[Draft]:
    with Session(engine) as session:
        return repo.drafts(session, case_id=_case(engine, ref).id)


ASKED = datetime(2026, 6, 2, 15, 0, tzinfo=TOKYO)


def test_a_quiet_requester_gets_a_reminder_draft_after_the_configured_wait(
    engine: Engine, slack: Any
) -> None:
    ref = _open(engine)
    _pause(engine, ref, ASKED, "identity documents")
    _in_channel(engine, slack)
    scheduler = _scheduler(engine, slack, PD_REQUESTER_REMINDER_DAYS="3")
    assert run(scheduler, ASKED + timedelta(days=2, hours=23)) == RunSummary()
    summary = run(scheduler, ASKED + timedelta(days=3))
    assert (summary.drafts, summary.reminders) == (1, 1)
    [draft] = _drafts(engine, ref)
    assert (draft.template, draft.edited_by, draft.status) == (
        "identity_request",
        "scheduler",
        "draft",
    )
    assert draft.values["kind"] == "identity"
    assert draft.values["needed"] == ["本人確認書類（運転免許証など）の写し"]
    assert draft.values["reply_by"] == {"iso": "2026-06-16"}  # 14 days after asking
    assert "本人確認" in draft.body and ref in draft.subject
    [note] = _replies(engine, slack, ref)
    assert "waited 3 days" in note and "drafted" in note
    assert run(scheduler, ASKED + timedelta(days=5)) == RunSummary()
    assert len(_drafts(engine, ref)) == 1


def test_a_clarification_is_reminded_but_never_closed_as_unverified(
    engine: Engine, slack: Any
) -> None:
    ref = _open(engine)
    _pause(engine, ref, ASKED, "clarification")
    _in_channel(engine, slack)
    scheduler = _scheduler(engine, slack)
    assert run(scheduler, ASKED + timedelta(days=7)).drafts == 1
    assert run(scheduler, ASKED + timedelta(days=30)) == RunSummary()
    [draft] = _drafts(engine, ref)
    assert draft.values["kind"] == "clarification"


def test_an_unanswered_verification_is_told_to_staff_with_a_closing_draft(
    engine: Engine, slack: Any
) -> None:
    ref = _open(engine)
    _pause(engine, ref, ASKED, "identity verification")
    _in_channel(engine, slack)
    scheduler = _scheduler(engine, slack)
    run(scheduler, ASKED + timedelta(days=7))
    summary = run(scheduler, ASKED + timedelta(days=14))
    assert (summary.drafts, summary.reminders) == (1, 1)
    reminder, closing = _drafts(engine, ref)
    assert reminder.values["needed"] == ["お送りしたメールに記載の6桁の確認コード"]
    assert closing.template == "unverified_close"
    assert closing.values == {"asked_on": {"iso": "2026-06-02"}, "waited_days": 14}
    note = _replies(engine, slack, ref)[-1]
    assert "unanswered for 14 days" in note and "unverified_close" in note
    assert note.startswith("<@U0APPROVER1>")
    assert run(scheduler, ASKED + timedelta(days=20)) == RunSummary()


# ---- the daily digest --------------------------------------------------------------------


DIGEST_DAY = datetime(2026, 6, 10, 9, 0, tzinfo=TOKYO)  # a Wednesday


def _digests(slack: Any) -> list[str]:
    return [m["text"] for m in slack.messages() if "daily digest" in m["text"]]


def test_the_daily_digest_lists_case_references_only(engine: Engine, slack: Any) -> None:
    overdue = _open(engine, received=datetime(2026, 5, 20, 10, tzinfo=TOKYO))
    soon = _open(engine, received=datetime(2026, 5, 28, 10, tzinfo=TOKYO), requester="b@x.jp")
    waiting = _open(engine, received=datetime(2026, 6, 5, 10, tzinfo=TOKYO), requester="c@x.jp")
    new = _open(engine, received=DIGEST_DAY - timedelta(hours=5), requester="d@x.jp")
    answered = _open(engine, received=datetime(2026, 6, 1, 10, tzinfo=TOKYO), requester="e@x.jp")
    with Session(writer(engine)) as session:
        case = repo.case_by_ref(session, waiting)
        assert case is not None and case.id is not None
        repo.add_draft(session, case.id, template="ack", language="ja", subject="s", body="b")
        done = repo.case_by_ref(session, answered)
        assert done is not None and done.id is not None
        item = repo.queue_mail(
            session,
            case_id=done.id,
            draft_id=None,
            template="deletion_done",
            message_id="<done-1@example-hikaku.co.jp>",
            sender="privacy@example-hikaku.co.jp",
            recipient="e@x.jp",
            subject="done",
            language="ja",
            raw=b"Subject: done\r\n\r\ndone\r\n",
            automatic=False,
            in_reply_to=None,
            references=[],
            at=DIGEST_DAY - timedelta(hours=20),
        )
        repo.set_mail_status(session, item, "sent", sent_at=DIGEST_DAY - timedelta(hours=20))
        repo.touch(session, done, status="answered")
        session.commit()
    scheduler = _scheduler(engine, slack, PD_DIGEST_TIME="09:00")
    assert run(scheduler, DIGEST_DAY - timedelta(minutes=1)).digests == 0
    assert run(scheduler, DIGEST_DAY).digests == 1
    [text] = _digests(slack)
    lines = text.splitlines()
    assert lines[0] == "*Privacy desk — daily digest, 2026-06-10 (Wed)*"
    assert lines[1] == f"• New since the last digest (1): {new}"
    assert lines[2] == f"• Due within 2 days (1): {soon} (06/11)"
    assert lines[3] == f"• Overdue (1): {overdue}"
    assert lines[4] == f"• Waiting for approval (1): {waiting}"
    assert lines[5] == f"• Answered yesterday (1): {answered}"
    assert "@" not in text.replace("<@", "")  # no addresses
    # once a day, whoever runs and however often
    again = _scheduler(engine, slack, PD_DIGEST_TIME="09:00")
    assert run(again, DIGEST_DAY + timedelta(hours=3)).digests == 0
    assert len(_digests(slack)) == 1
    # the next day: only what is new since this one
    later = _open(engine, received=DIGEST_DAY + timedelta(hours=2), requester="f@x.jp")
    assert run(scheduler, DIGEST_DAY + timedelta(days=1)).digests == 1
    assert _digests(slack)[1].splitlines()[1] == f"• New since the last digest (1): {later}"


def test_a_digest_slack_refused_is_posted_later_that_day_and_never_a_missed_day(
    engine: Engine, slack: Any
) -> None:
    scheduler = _scheduler(engine, slack, PD_DIGEST_TIME="08:00")
    slack.rate_limit("chat.postMessage", retry_after=2)
    summary = run(scheduler, DIGEST_DAY)
    assert summary.retry_after == 2.0 and summary.digests == 0
    with Session(engine) as session:
        [row] = session.exec(select(Digest)).all()
        assert row.state == "pending"
    assert run(scheduler, DIGEST_DAY + timedelta(minutes=1)).digests == 1
    # down for two days: the days missed get no digest, today gets one
    assert run(scheduler, DIGEST_DAY + timedelta(days=3)).digests == 1
    assert [t.splitlines()[0][-17:] for t in _digests(slack)] == [
        "2026-06-10 (Wed)*",
        "2026-06-13 (Sat)*",
    ]


def test_a_digest_pending_overnight_is_superseded_by_the_next(engine: Engine, slack: Any) -> None:
    scheduler = _scheduler(engine, slack, PD_DIGEST_TIME="09:00")
    slack.fail("chat.postMessage", error="fatal_error")
    run(scheduler, DIGEST_DAY)
    assert run(scheduler, DIGEST_DAY + timedelta(days=1)).digests == 1
    with Session(engine) as session:
        states = {d.day.isoformat(): d.state for d in session.exec(select(Digest))}
    assert states == {"2026-06-10": "superseded", "2026-06-11": "posted"}
    assert len(_digests(slack)) == 1


# ---- one replica leads -------------------------------------------------------------------


@pytest.fixture
def second_engine(engine: Engine) -> Iterator[Engine]:
    """Another replica's engine on the same database."""
    other = open_database(engine.url.render_as_string(hide_password=False))
    yield other
    other.dispose()


def _terminate(pid: int) -> None:
    """The leader's database session ends, as when its process dies."""
    with psycopg.connect(pg_admin(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        for _ in range(200):  # the backend leaves within moments
            gone = admin.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,)
            ).fetchone()
            if gone == (0,):
                return
            threading.Event().wait(0.01)
    raise AssertionError(f"backend {pid} did not end")


def test_one_replica_leads_and_another_takes_over_when_it_dies(
    engine: Engine, second_engine: Engine, slack: Any
) -> None:
    refs = [_open(engine, requester=f"user{i}@example.jp") for i in range(3)]
    _in_channel(engine, slack)
    first, second = _scheduler(engine, slack), _scheduler(second_engine, slack)
    assert run(first, HALF).reminders == 3
    if engine.dialect.name == "sqlite":
        # one process owns a SQLite file: the lock is always held, and the records
        # alone keep a second scheduler from repeating anything
        assert run(second, HALF).reminders == 0
        assert run(second, FOUR_FIFTHS).reminders == 3
        assert run(first, FOUR_FIFTHS).reminders == 0
    else:
        standby = run(second, FOUR_FIFTHS)
        assert standby == RunSummary(leader=False)  # did nothing at all
        assert first.lock.pid is not None
        _terminate(first.lock.pid)
        assert run(second, FOUR_FIFTHS).reminders == 3  # took over
        assert run(first, FOUR_FIFTHS) == RunSummary(leader=False)  # no longer leads
        assert run(second, FOUR_FIFTHS).reminders == 0
    for ref in refs:
        assert ["50%" in t for t in _replies(engine, slack, ref)] == [True, False]
        assert _recorded(engine, ref) == {"50%": "posted", "80%": "posted"}


def test_a_leader_that_stops_lets_another_lead(
    engine: Engine, second_engine: Engine, slack: Any
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("leadership is shared only on PostgreSQL")
    first, second = _scheduler(engine, slack), _scheduler(second_engine, slack)
    assert run(first, HALF).leader and not run(second, HALF).leader
    first.close()
    assert run(second, HALF).leader
    assert not run(first, HALF).leader


# ---- the service -------------------------------------------------------------------------


# ---- the staff language ------------------------------------------------------------------


def test_reminders_escalations_and_the_digest_read_in_japanese_by_default(
    engine: Engine, slack: Any
) -> None:
    """PD_STAFF_LANGUAGE is ja unless set: a scheduler given no texts speaks Japanese."""
    ref = _open(engine, intents=("complaint",), assignee="U0STAFF001")
    _in_channel(engine, slack)
    scheduler = Scheduler(
        engine,
        _client(slack),
        slack.channel,
        SchedulerSettings.from_env({"PD_DIGEST_TIME": "09:00", "PD_ESCALATION": "S0ESCAL0001"}),
        ReplySettings.from_env(REPLIES),
    )
    _made.append(scheduler)
    before = len(slack.messages())
    assert run(scheduler, datetime(2026, 6, 5, 0, 30, tzinfo=TOKYO)).escalations == 1
    [escalation] = [m["text"] for m in slack.messages()[before:]]
    assert escalation == (
        f"<!subteam^S0ESCAL0001> :rotating_light: 苦情の案件 *{ref}* は回答期限 2026-06-04（木）を"
        "過ぎても回答していません。担当者: <@U0STAFF001>。スレッドを確認してください。"
    )
    summary = run(scheduler, datetime(2026, 6, 5, 9, 0, tzinfo=TOKYO))
    assert summary.digests == 1 and summary.reminders == 1
    [reminder] = _replies(engine, slack, ref)
    assert reminder == (
        f"<@U0STAFF001> *{ref}* は期限超過です。回答期限は 2026-06-04（木）でした（1 営業日超過）。"
    )
    [digest] = [m["text"] for m in slack.messages() if "日次ダイジェスト" in m["text"]]
    lines = digest.splitlines()
    assert lines[0] == "*プライバシー窓口 — 日次ダイジェスト 2026-06-05（金）*"
    assert lines[2:4] == ["• 2 日以内に回答期限: なし", f"• 期限超過（1 件）: {ref}"]


def test_run_passes_until_stopped_and_after_a_429_as_soon_as_slack_says(
    engine: Engine, slack: Any
) -> None:
    ref = _open(engine)
    _in_channel(engine, slack)
    scheduler = Scheduler(
        engine,
        _client(slack),
        slack.channel,
        SchedulerSettings(digest_time=None),
        ReplySettings.from_env(REPLIES),
        clock=lambda: HALF.astimezone(UTC),
    )
    _made.append(scheduler)
    slack.rate_limit("chat.postMessage", retry_after=1)  # the first pass meets a 429
    # the interval is an hour: only the pass Slack's Retry-After asked for can post the reminder
    worker = Serving(lambda stop: scheduler.serve(stop, every=3600.0)).start()
    try:
        eventually(lambda: _recorded(engine, ref) == {"50%": "posted"}, "the retried post")
    finally:
        worker.stop(timeout=10)
    assert not worker.is_alive() and worker.error is None
    assert _recorded(engine, ref) == {"50%": "posted"}
    assert len(_replies(engine, slack, ref)) == 1
    assert [c.status for c in slack.calls("chat.postMessage")][-2:] == [429, 200]
    assert scheduler.lock.pid is None  # leadership given up on the way out
