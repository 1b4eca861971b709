"""A first start on a mailbox with history: the desk first reads a mailbox holding 2,000 messages
the server received weeks ago and 5 new ones. Every message becomes a case with an honest
deadline; the old ones are historic (by the server's INTERNALDATE, never the sender's Date:):
no acknowledgement, no message per case, no reminder or escalation, one summary in the channel
and a count in the digest. Slack posts are shaped for any burst, and escalations falling due
together are one message. On SQLite and PostgreSQL, a real Dovecot and the Slack Web API double.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from bot import settings
from bot.cli import main
from bot.intake import Intake
from bot.replies import ReplySettings
from bot.scheduler import Scheduler, SchedulerSettings
from bot.slack.poster import BACKLOG_EVENT_TYPE, EVENT_TYPE, CasePoster
from bot.watch import DatabaseCheckpoints, IntakeSink, desk_watcher
from bot.words import words
from handlers import sla
from mail.imap import Watcher, parse_mailbox_url
from storage import repo
from storage.db import writer
from storage.models import AuditEvent, Case, Draft, MailboxCheckpoint, OutboxItem, SentReminder

TOKYO = ZoneInfo("Asia/Tokyo")
DESK = {"PD_FROM_ADDRESS": "privacy@example-hikaku.co.jp", "PD_APPROVERS": "U0APPROVER1"}
HISTORIC = 2000
NEW = 5


def _client(slack: Any) -> AsyncWebClient:
    return AsyncWebClient(token=slack.bot_token, base_url=slack.base_url, retry_handlers=[])


_made: list[Scheduler] = []


@pytest.fixture(autouse=True)
def _close_schedulers() -> Iterator[None]:
    """Each scheduler gives up its lock's connection (PostgreSQL) when the test ends."""
    yield
    while _made:
        _made.pop().close()


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


def _metadata(message: dict[str, Any], slack: Any) -> dict[str, Any]:
    """The metadata the desk posted a top-level message with (from the recorded call)."""
    for call in slack.calls("chat.postMessage"):
        if call.error is None and call.params.get("text") == message["text"]:
            metadata = call.params.get("metadata") or {}
            return json.loads(metadata) if isinstance(metadata, str) else dict(metadata)
    return {}


def _kinds(slack: Any) -> list[str]:
    """What each top-level message in the channel is, by the metadata it was posted with."""
    return [_metadata(m, slack).get("event_type", "?") for m in slack.messages()]


class Clock:
    """The poster's clock, moved by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


COMPLAINT = (
    "ご担当者様\n\n本日、私宛てに別の方の見積もり結果のメールが届きました。"
    "氏名・住所・電話番号まで記載されています。\n個人情報の管理が杜撰です。"
    "大変問題だと思います。\n\n森田 真奈\n会員番号 {i}"
)


def _mail(
    make_mail: Callable[..., bytes], i: int, sent: datetime, *, complaint: bool = False
) -> bytes:
    if complaint:
        body, subject = COMPLAINT.format(i=i), "他人宛てのメールが届きました"
    else:
        body, subject = (
            f"私の個人情報をすべて削除してください。会員番号 {i}",
            "個人情報削除のお願い",
        )
    return make_mail(
        body,
        sender=f"user{i}@example.jp",
        subject=subject,
        date=sent,
        message_id=f"<history-{i}@mail.example.jp>",
    )


def test_2000_historic_messages_and_5_new_make_2005_cases_5_posts_and_one_summary(
    engine: Engine, dovecot: Any, slack: Any, make_mail: Callable[..., bytes]
) -> None:
    started = datetime.now(UTC)
    long_ago = started - timedelta(days=30)  # the server received these before the desk ran
    old = [
        {
            # A few say in Date: they are new: the server's INTERNALDATE decides, not the sender.
            "msg": _mail(make_mail, i, started if i % 500 == 0 else long_ago, complaint=i % 4 == 0),
            "date": long_ago + timedelta(seconds=i),
        }
        for i in range(HISTORIC)
    ]
    new = [
        # One new message backdates its Date: it is not historic, and its acknowledgement is
        # the late one, which promises no answer by a date already past.
        {"msg": _mail(make_mail, HISTORIC + i, long_ago if i == 0 else started), "date": started}
        for i in range(NEW)
    ]
    with dovecot.client("desk", timeout=60) as imap:
        imap.multiappend("INBOX", old + new)  # APPEND in bulk, each with its INTERNALDATE

    watcher, sink = desk_watcher(
        engine,
        parse_mailbox_url(dovecot.url("desk")),
        workers=1,
        batch=500,
        replies=ReplySettings.from_env(DESK),
        backlog=timedelta(days=14),
    )
    try:
        result = watcher.run_once()
    finally:
        sink.close()
    assert (result.fetched, result.historic) == (HISTORIC + NEW, HISTORIC)
    assert result.actions == {"opened": HISTORIC + NEW}

    with Session(engine) as session:
        [checkpoint] = session.exec(select(MailboxCheckpoint)).all()
        assert checkpoint.first_read_at is not None and checkpoint.first_read_at >= started
        cases = list(session.exec(select(Case).order_by(col(Case.id))))
        assert len(cases) == HISTORIC + NEW
        historic = [c for c in cases if "historic" in c.flags]
        fresh = [c for c in cases if "historic" not in c.flags]
        assert len(historic) == HISTORIC and len(fresh) == NEW
        assert {c.slack_state for c in historic} == {"historic"}
        # honest deadlines, from the server's receipt: every historic one has passed already
        assert all(c.received_at < started - timedelta(days=29) for c in historic)
        assert all(c.answer_due is not None and c.answer_due < started for c in historic)
        drafts = list(session.exec(select(Draft)))
        assert session.exec(select(func.count()).select_from(OutboxItem)).one() == 0
        [marker] = [e for e in session.exec(select(AuditEvent)) if e.action == repo.HISTORIC_TAKEN]
        assert marker.detail["count"] == HISTORIC and marker.detail["backlog_days"] == 14
    # no acknowledgement for historic mail, none promising a date already past
    historic_ids = {c.id for c in historic}
    assert not [d for d in drafts if d.case_id in historic_ids]
    assert sorted(d.case_id for d in drafts) == sorted(c.id for c in fresh)
    for draft in drafts:
        promised = datetime.fromisoformat(draft.values["answer_due"]["iso"])
        assert draft.values["late"] is (draft.case_id == fresh[0].id)
        assert promised > started or draft.values["late"]  # the late one apologises instead
    assert fresh[0].answer_due is not None and fresh[0].answer_due < started  # backdated Date:

    # One historic case waits on its requester since after its deadline: late all the same.
    with Session(engine) as session:
        paused = session.get(Case, historic[0].id)
        assert paused is not None
        repo.pause_case(session, paused, at=started, reason="本人確認書類待ち", actor="U0STAFF001")
        session.commit()

    # The first minutes in Slack: the five new cases and one summary, however often it passes.
    clock = Clock(datetime.now(UTC))
    poster = CasePoster(
        engine, _client(slack), slack.channel, clock=clock, posts_per_minute=20, words=words("en")
    )
    for _ in range(4):
        asyncio.run(poster.run_once())
        clock.now += timedelta(seconds=50)
    kinds = _kinds(slack)
    assert sorted(kinds) == sorted([EVENT_TYPE] * NEW + [BACKLOG_EVENT_TYPE])
    [summary] = [m["text"] for m in slack.messages() if "historic" in m["text"]]
    assert "2,000 historic messages" in summary and "more than 14 days" in summary
    assert "2,000 still open, 2,000 of them past their deadline" in summary
    assert "`privacy-desk cases --overdue`" in summary
    assert not any(c.ref in summary for c in historic[:50])  # counts, no case references
    posted = {m["text"] for m in slack.messages()}
    assert not any(c.ref in text for c in historic[:50] for text in posted)

    # The scheduler chases none of the historic cases (500 overdue complaints among them),
    # and the digest counts them on one line.
    after_nine = datetime.now(TOKYO).replace(hour=9, minute=30) + timedelta(days=1)
    scheduler = _scheduler(engine, slack, PD_ESCALATION="S0ESCAL0001")
    done = asyncio.run(scheduler.run_once(after_nine.astimezone(UTC)))
    assert done.escalations == 0 and done.digests == 1
    with Session(engine) as session:
        chased = session.exec(
            select(SentReminder.case_id).where(col(SentReminder.case_id).in_(historic_ids))
        ).all()
    assert chased == []
    [digest] = [m["text"] for m in slack.messages() if m["text"].startswith("*Privacy desk")]
    assert (
        f"Historic mail, from before the desk first read the mailbox: {HISTORIC} open, "
        f"{HISTORIC} of them overdue" in digest
    )
    assert not any(c.ref in digest for c in historic)
    assert sorted(_kinds(slack)).count(EVENT_TYPE) == NEW  # still five case messages


class Mute(DatabaseCheckpoints):
    """Checkpoints of a process that dies before it tells of the historic mail it took in."""

    def historic(self, key: str, count: int, backlog: timedelta) -> None:
        raise SystemExit("killed")


def test_historic_mail_a_dead_pass_never_told_of_is_summarised_by_the_next_process(
    engine: Engine, dovecot: Any, slack: Any, make_mail: Callable[..., bytes]
) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=60)
    with dovecot.client("desk") as imap:
        imap.multiappend(
            "INBOX", [{"msg": _mail(make_mail, i, long_ago), "date": long_ago} for i in range(3)]
        )
    config = parse_mailbox_url(dovecot.url("desk"))
    sink = IntakeSink(Intake(engine, replies=ReplySettings.from_env(DESK)))
    with pytest.raises(SystemExit):
        Watcher(config, sink, Mute(engine)).run_once()
    poster = CasePoster(engine, _client(slack), slack.channel)
    asyncio.run(poster.run_once())
    assert slack.messages() == []  # three historic cases, and nobody told yet

    assert Watcher(config, sink, DatabaseCheckpoints(engine)).run_once().fetched == 0
    asyncio.run(poster.run_once())
    [summary] = [m["text"] for m in slack.messages()]
    # told in the staff language, Japanese unless PD_STAFF_LANGUAGE says otherwise
    assert "*過去のメール 3 件を取り込みました*" in summary and "14 日以上前に届いた" in summary
    assert "対応中 3 件、うち期限超過 3 件" in summary
    asyncio.run(poster.run_once())
    assert len(slack.messages()) == 1  # told once


def test_a_requester_writing_again_brings_a_historic_case_back_to_the_channel(
    engine: Engine, slack: Any, make_mail: Callable[..., bytes]
) -> None:
    from bot.intake import read

    now = datetime.now(UTC)
    long_ago = now - timedelta(days=40)
    intake = Intake(engine, replies=ReplySettings.from_env(DESK))
    first = _mail(make_mail, 7, long_ago)
    [opened] = intake.process_many([replace(read(first), historic=True, arrived=long_ago)])
    assert opened.action == "opened" and opened.ref is not None
    poster = CasePoster(engine, _client(slack), slack.channel)
    asyncio.run(poster.run_once())
    assert slack.messages() == []  # historic: no message of its own (no summary owed yet)

    again = make_mail(
        "先月お願いした削除はどうなりましたか。",
        sender="user7@example.jp",
        subject=f"Re: 個人情報について [{opened.ref}]",
        date=now,
        In_Reply_To="<history-7@mail.example.jp>",
    )
    assert intake.process(again).action == "linked"
    asyncio.run(poster.run_once())
    [message] = slack.messages()
    assert opened.ref in json.dumps(message["blocks"], ensure_ascii=False)
    with Session(engine) as session:
        case = repo.case_by_ref(session, opened.ref)
        assert case is not None and case.slack_state == "posted" and "historic" in case.flags


def test_new_case_posts_are_shaped_to_the_minute_nearest_deadline_first(
    engine: Engine, slack: Any, make_mail: Callable[..., bytes]
) -> None:
    now = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)
    intake = Intake(engine, clock=lambda: now, replies=ReplySettings.from_env(DESK))
    # 30 requests received over the last 30 hours, the newest first: the oldest is due first.
    for i in range(30):
        assert intake.process(_mail(make_mail, i, now - timedelta(hours=i + 1))).action == "opened"
    clock = Clock(now)
    poster = CasePoster(engine, _client(slack), slack.channel, clock=clock, posts_per_minute=20)

    first = asyncio.run(poster.run_once())
    assert (first.posted, first.waiting) == (20, 10)
    clock.now += timedelta(seconds=59)
    assert asyncio.run(poster.run_once()).posted == 0  # the minute is full: the rest wait
    # A restart (or another replica taking over) within the minute starts no new allowance.
    restarted = CasePoster(engine, _client(slack), slack.channel, clock=clock, posts_per_minute=20)
    assert asyncio.run(restarted.run_once()).posted == 0
    clock.now += timedelta(seconds=2)
    assert asyncio.run(restarted.run_once()).posted == 10
    with Session(engine) as session:
        cases = list(session.exec(select(Case)))
    assert {c.slack_state for c in cases} == {"posted"}  # none lost
    by_ts = sorted(cases, key=lambda c: float(c.slack_ts or 0))
    dues = [c.answer_due for c in by_ts]
    assert dues == sorted(dues)  # posted by deadline, then receipt


def test_escalations_falling_due_together_are_one_channel_message(
    engine: Engine, slack: Any, make_mail: Callable[..., bytes]
) -> None:
    received = datetime(2026, 6, 1, 10, 0, tzinfo=TOKYO)
    refs = []
    for i in range(3):
        mail = _mail(make_mail, i, received, complaint=True)
        result = Intake(engine, clock=lambda: received.astimezone(UTC)).process(mail)
        assert result.ref is not None
        refs.append(result.ref)
    poster = CasePoster(engine, _client(slack), slack.channel)
    asyncio.run(poster.run_once())
    before = len(slack.messages())
    with Session(engine) as session:
        due = max(c.answer_due for c in session.exec(select(Case)) if c.answer_due)
    scheduler = _scheduler(engine, slack, PD_ESCALATION="S0ESCAL0001")
    late = due + timedelta(hours=1)

    done = asyncio.run(scheduler.run_once(late))

    assert done.escalations == 3
    [folded] = slack.messages()[before:]
    assert folded["text"].startswith("<!subteam^S0ESCAL0001> :rotating_light: 3 cases")
    assert all(ref in folded["text"] for ref in refs)
    with Session(engine) as session:
        rows = session.exec(select(SentReminder).where(SentReminder.threshold == "escalated"))
        assert {(r.state, r.ts) for r in rows} == {("posted", folded["ts"])}
    assert asyncio.run(scheduler.run_once(late + timedelta(minutes=5))).escalations == 0


def test_ingest_makes_nothing_historic_unless_asked(
    desk_db: tuple[str, Engine],
    tmp_path: Any,
    make_mail: Callable[..., bytes],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, engine = desk_db
    monkeypatch.setenv("PD_DATABASE_URL", url)
    monkeypatch.setenv("PD_FROM_ADDRESS", DESK["PD_FROM_ADDRESS"])
    recent = datetime.now(UTC) - timedelta(hours=1)
    for name, i in (("plain", 0), ("old", 1)):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "a.eml").write_bytes(_mail(make_mail, i, recent))
    assert main(["ingest", "--workers", "0", str(tmp_path / "plain")]) == 0
    assert main(["ingest", "--workers", "0", "--historic", str(tmp_path / "old")]) == 0
    assert "taken in as historic: 1" in capsys.readouterr().out
    with Session(writer(engine)) as session:
        plain, old = session.exec(select(Case).order_by(col(Case.id))).all()
        drafts = {d.case_id for d in session.exec(select(Draft))}
    assert "historic" not in plain.flags and plain.slack_state == "pending"
    assert "historic" in old.flags and old.slack_state == "historic"
    assert drafts == {plain.id}  # the historic one is not acknowledged


def test_an_acknowledgement_left_past_its_date_is_written_anew_before_approval(
    engine: Engine, make_mail: Callable[..., bytes]
) -> None:
    from bot.replies import DraftRenewed, Replies

    received = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)
    intake = Intake(engine, clock=lambda: received, replies=ReplySettings.from_env(DESK))
    assert intake.process(_mail(make_mail, 0, received)).action == "opened"
    with Session(engine) as session:
        [draft] = session.exec(select(Draft)).all()
    promised = datetime.fromisoformat(draft.values["answer_due"]["iso"])
    assert promised == sla.deadlines(received, ["deletion"]).answer_due
    later = Replies(engine, ReplySettings.from_env(DESK), clock=lambda: promised + timedelta(1))
    assert draft.id is not None
    with pytest.raises(DraftRenewed, match="a date already past: it is written anew"):
        later.approve(draft.id, approver="U0APPROVER1")
    with Session(engine) as session:
        renewed = session.get(Draft, draft.id)
    assert renewed is not None and renewed.revision == 2 and renewed.values["late"] is True


def test_the_two_settings_are_read_and_checked_with_the_others() -> None:
    plain = settings.read({})
    assert (plain.mailbox.backlog_days, plain.slack.posts_per_minute) == (14, 20)
    given = settings.read({"PD_BACKLOG_DAYS": "30", "PD_SLACK_POSTS_PER_MINUTE": "5"})
    assert (given.mailbox.backlog_days, given.slack.posts_per_minute) == (30, 5)
    with pytest.raises(settings.SettingsError) as refused:
        settings.read(
            {
                "PD_BACKLOG_DAYS": "two weeks",
                "PD_SLACK_POSTS_PER_MINUTE": "0",
                "PD_SLACK_POST_PER_MINUTE": "20",
            }
        )
    assert refused.value.problems == [
        "PD_SLACK_POST_PER_MINUTE is not a setting; did you mean PD_SLACK_POSTS_PER_MINUTE?",
        "PD_BACKLOG_DAYS must be a whole number of days from 0 to 3650, not 'two weeks'",
        "PD_SLACK_POSTS_PER_MINUTE must be a whole number of posts from 1 to 60, not '0'",
    ]
