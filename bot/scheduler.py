"""Chases the desk's cases: reminders in their Slack threads, escalation of late complaints,
drafts for requesters who went quiet, and a daily digest in the channel — on one replica.

What is due is decided by ``handlers.reminders`` from each case's current deadline and pauses;
this module records, posts and retries. Rules it keeps:

- Recorded before posted: a reminder (``SentReminder``, unique per case and threshold) and a
  digest (``Digest``, one per Tokyo day) are inserted in a transaction of their own before Slack
  is called. An insert that finds its row already there means another replica or an earlier run
  took it: nothing is posted. So a restart, a second replica or a clock set back repeats nothing.
- A recorded reminder stays ``pending`` until Slack said ok, and is retried by the next run. A
  429 ends the pass (``RunSummary.retry_after``); a refusal is logged and retried; a lost answer
  (5xx, timeout) makes it ``uncertain`` and the thread or channel is searched for it before it is
  posted again. A newer reminder of the same case supersedes a pending older one.
- A deadline reminder for a case not yet in the channel (no thread) waits, unrecorded: the case
  poster puts every case in the channel within seconds, and a reminder outside the case's thread
  would be read without the case. The escalation does not wait: it is a channel message.
- Waiting on the requester: the mail draft (or the closing draft) is made in the same
  transaction that records the threshold, so a draft exists exactly when it is recorded; staff
  are told in the thread.
- Each post is recorded as an audit event (actor ``scheduler``, action ``reminder`` or
  ``escalated``, detail ``posted=True``: already told in Slack, not to be told again).
- Escalations that fall due together in one pass are folded into one channel message (each
  case's ``SentReminder`` recorded posted with that message's ts): a backlog of late complaints
  is one message, not a flood.
- Historic cases (opened from mail received long before the desk first read the mailbox,
  ``slack_state`` "historic") get no reminder, triage note or escalation of their own: the
  digest counts them on one line, and staff find them with ``privacy-desk cases --overdue``.
- Leadership: on PostgreSQL one replica holds an advisory lock (``pg_try_advisory_lock``) on a
  dedicated connection and runs the passes; the others try again each pass and take over when
  the leader's session ends. On SQLite (one process) the lock is always held.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, NoReturn

from aiohttp import ClientError
from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped]
from apscheduler.triggers.date import DateTrigger  # type: ignore[import-untyped]
from apscheduler.triggers.interval import IntervalTrigger  # type: ignore[import-untyped]
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine, Table, func, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from bot import replies as desk_replies
from bot.slack.blocks import escape
from bot.slack.ids import is_group_id, is_slack_id, is_user_id
from handlers import reminders, sla
from handlers.clock import TOKYO, Clock, now
from handlers.replies import DELIVERED, STATUS_AFTER_SENDING, VERIFICATION_PAUSE
from handlers.status import FINISHED, NO_REMINDERS, Status
from storage import repo
from storage.db import writer
from storage.leader import LeaderLock, lock_key
from storage.models import Case, CasePause, Digest, Draft, OutboxItem, SentReminder
from templates import TemplateError

if TYPE_CHECKING:
    from bot.settings import ScheduleSection

log = logging.getLogger("privacy_desk.scheduler")


REMINDER_EVENT = "privacy_desk_reminder"
DIGEST_EVENT = "privacy_desk_digest"
OPEN = ("pending", "uncertain")  # recorded, not known to be in Slack
# Slack refusals that stop every post, not just this one: the pass ends.
_FATAL = frozenset(
    {
        "not_authed",
        "invalid_auth",
        "token_revoked",
        "account_inactive",
        "channel_not_found",
        "not_in_channel",
        "is_archived",
    }
)
# Slack answered ok:false but says the call may have taken effect: as good as a lost answer.
_LOST = frozenset({"fatal_error", "internal_error", "service_unavailable", "request_timeout"})
DIGEST_LIST = 40  # references shown per digest line; the rest are counted
HISTORIC = "historic"  # the slack_state of a case opened from historic mail
# The scheduler's advisory lock: the same number on every replica of this desk's database.
LOCK_KEY = lock_key("privacy-desk scheduler")


class SchedulerSettingsError(ValueError):
    """A scheduler setting is malformed; the message names it (and every other problem)."""


@dataclass(frozen=True)
class SchedulerSettings:
    """When the desk chases and whom it tells: of the settings (``of``)."""

    escalation: tuple[str, ...] = ()  # Slack user (U…) or user-group (S…) IDs
    digest_time: time | None = time(9, 0)  # Asia/Tokyo; None: no digest
    requester_reminder: timedelta = timedelta(days=7)
    unverified_close: timedelta = timedelta(days=14)
    due_soon: timedelta = timedelta(days=2)  # the digest's "due soon"
    policies: Mapping[str, reminders.ReminderPolicy] = field(
        default_factory=lambda: reminders.POLICIES
    )

    @classmethod
    def of(cls, section: ScheduleSection) -> SchedulerSettings:
        """The scheduler's settings of the checked settings (``bot.settings``)."""
        digest = None
        if section.digest_time != "off":
            hours, _, minutes = section.digest_time.partition(":")
            digest = time(int(hours), int(minutes))
        return cls(
            escalation=section.escalation,
            digest_time=digest,
            requester_reminder=timedelta(days=section.requester_reminder_days),
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SchedulerSettings:
        """Of settings given by name (``{"PD_DIGEST_TIME": "off"}``), or of the environment
        and ``.env``; ``SchedulerSettingsError`` lists what is wrong."""
        from bot import settings

        try:
            return cls.of(settings.read(env).schedule)
        except settings.SettingsError as exc:
            raise SchedulerSettingsError(str(exc)) from None


@dataclass
class RunSummary:
    leader: bool = True  # False: another replica holds the lock; this pass did nothing
    reminders: int = 0  # posted into case threads (deadline reminders and notes to staff)
    escalations: int = 0  # posted in the channel
    drafts: int = 0  # mail drafts made for requesters
    digests: int = 0
    retried: int = 0  # pending ones posted this pass
    found: int = 0  # uncertain ones found already in Slack, not posted again
    superseded: int = 0  # pending ones a newer reminder of the same case replaced
    taken: int = 0  # recorded by another replica first: left alone
    waiting: int = 0  # due, but the case has no thread yet
    retry_after: float | None = None  # Slack asked us to wait this long
    errors: list[str] = field(default_factory=list)


class _Stop(Exception):
    """End the pass: Slack is rate-limiting, down, or refusing every post."""


@dataclass(frozen=True)
class _Row:
    """A recorded reminder, as the pass needs it."""

    id: int
    threshold: str
    state: str
    text: str


@dataclass(frozen=True)
class _Escalation:
    """An escalation due this pass (recorded now, or pending from an earlier one)."""

    case: Case
    row: _Row
    retried: bool


def _table(model: Any) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


_REMINDERS = _table(SentReminder)
_DIGESTS = _table(Digest)


def _insert_new(session: Session, table: Table, unique: list[str], **values: Any) -> Any:
    """Insert a row unless one with the same ``unique`` columns exists (``ON CONFLICT DO
    NOTHING``, on SQLite and PostgreSQL alike): its primary key, or None when it existed."""
    dialect = session.get_bind().dialect.name
    make = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        make(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=unique)
        .returning(*table.primary_key.columns)
    )
    return session.connection().execute(statement).scalar_one_or_none()


_ANSWERS = tuple(t for t, status in STATUS_AFTER_SENDING.items() if status == Status.ANSWERED)


def mention(who: str) -> str:
    """A Slack user ID as a mention, a user-group ID as a group mention, a name as text."""
    if is_slack_id(who):
        return f"<!subteam^{who}>" if is_group_id(who) else f"<@{who}>"
    return escape(who)


def _person(who: str) -> bool:
    """A Slack user ID (a person Slack can mention), not a group or a name."""
    return is_user_id(who)


def _day(moment: datetime) -> str:
    local = moment.astimezone(TOKYO)
    return f"{local:%Y-%m-%d} ({local:%a})"


class Scheduler:
    """Reminders, escalations, requester drafts and the daily digest for the desk's cases.

    ``run_once(now)`` is one pass (tests call it with their own clock); ``run(stop)`` keeps
    passing on an APScheduler ``AsyncIOScheduler`` (every ``every`` seconds, and at the digest
    time) until ``stop`` is set, for ``privacy-desk serve``.
    """

    def __init__(
        self,
        engine: Engine,
        client: AsyncWebClient,
        channel: str,
        settings: SchedulerSettings,
        replies: desk_replies.ReplySettings,
        *,
        clock: Clock = now,
        lock: LeaderLock | None = None,
        table: sla.PolicyTable | None = None,
    ) -> None:
        self._engine = writer(engine)
        self._client = client
        self._channel = channel
        self.settings = settings
        self._approvers = replies.approvers
        self._replies = desk_replies.Replies(engine, replies, clock=clock)
        self._clock = clock
        self._table = table
        self._unusable: set[str] = set()  # cases without a usable deadline, already logged
        self.lock = lock or LeaderLock(engine, key=LOCK_KEY, name="scheduler")

    # ---- the service ---------------------------------------------------------------------

    def run(self, stop: threading.Event, *, every: float = 60.0) -> None:
        """Pass every ``every`` seconds and at the digest time until ``stop`` is set; a pass
        that fails (the database down) is logged and the next one tries again."""
        asyncio.run(self._serve(stop, every))

    async def _serve(self, stop: threading.Event, every: float) -> None:
        one_at_a_time = asyncio.Lock()
        jobs = AsyncIOScheduler(timezone=TOKYO)

        async def tick() -> None:
            async with one_at_a_time:
                try:
                    summary = await self.run_once()
                except Exception as exc:  # the loop that owns I/O owns failure: log, go on
                    log.error("scheduler pass failed (%s); retrying", type(exc).__name__)
                    return
                if summary.errors:
                    log.warning("scheduler pass: %d error(s)", len(summary.errors))
                if summary.retry_after is not None:
                    # Slack allows about one post a second per channel: after a burst of
                    # reminders the pass goes on as soon as Slack says, not a whole interval on.
                    again = datetime.now(TOKYO) + timedelta(seconds=summary.retry_after)
                    jobs.add_job(
                        tick, DateTrigger(run_date=again), id="after-429", replace_existing=True
                    )

        options = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
        jobs.add_job(
            tick,
            IntervalTrigger(seconds=every, timezone=TOKYO),
            id="sweep",
            next_run_time=datetime.now(TOKYO),
            **options,
        )
        at = self.settings.digest_time
        if at is not None:
            trigger = CronTrigger(hour=at.hour, minute=at.minute, timezone=TOKYO)
            jobs.add_job(tick, trigger, id="digest", **options)
        jobs.start()
        try:
            while not stop.is_set():
                await asyncio.sleep(0.2)
        finally:
            jobs.shutdown(wait=False)
            await asyncio.sleep(0)  # the shutdown is scheduled on this loop
            self.lock.release()

    def close(self) -> None:
        """Give up leadership (another replica takes over at its next pass)."""
        self.lock.release()

    async def run_once(self, now: datetime | None = None) -> RunSummary:
        """One pass at ``now`` (the clock's time by default): the digest when its time has come,
        then at most one reminder per case."""
        now = self._clock() if now is None else now
        summary = RunSummary()
        if not self.lock.acquire():
            summary.leader = False
            return summary
        try:
            await self._digest(now, summary)
            await self._cases(now, summary)
        except _Stop:
            pass
        return summary

    # ---- cases ---------------------------------------------------------------------------

    async def _cases(self, now: datetime, summary: RunSummary) -> None:
        finished = sorted(NO_REMINDERS)
        with Session(self._engine, expire_on_commit=False) as session:
            # A case answered or closed while its reminder waited for Slack needs it no more.
            done = select(Case.id).where(col(Case.status).in_(finished))
            dropped = session.execute(
                update(_REMINDERS)
                .where(_REMINDERS.c.state.in_(OPEN), _REMINDERS.c.case_id.in_(done))
                .values(state="dropped")
            )
            if count := int(dropped.rowcount):  # type: ignore[attr-defined]
                log.info("scheduler: %d reminder(s) of finished cases dropped", count)
            session.commit()
            cases = list(
                session.exec(
                    select(Case)
                    .where(col(Case.status).not_in(finished))
                    .where(col(Case.slack_state) != HISTORIC)
                    .order_by(col(Case.id))
                )
            )
            pauses: dict[int, list[CasePause]] = defaultdict(list)
            for pause in session.exec(
                select(CasePause)
                .join(Case, col(Case.id) == col(CasePause.case_id))
                .where(col(Case.status).not_in(finished))
                .order_by(col(CasePause.id))
            ):
                pauses[pause.case_id].append(pause)
            recorded: dict[int, list[_Row]] = defaultdict(list)
            for row in session.exec(
                select(SentReminder)
                .join(Case, col(Case.id) == col(SentReminder.case_id))
                .where(col(Case.status).not_in(finished))
                .order_by(col(SentReminder.id))
            ):
                assert row.id is not None
                recorded[row.case_id].append(_Row(row.id, row.threshold, row.state, row.text))
        escalations: list[_Escalation] = []
        for case in cases:
            assert case.id is not None
            await self._case(case, pauses[case.id], recorded[case.id], now, summary, escalations)
        await self._escalate(escalations, now, summary)

    async def _case(
        self,
        case: Case,
        pauses: Sequence[CasePause],
        rows: Sequence[_Row],
        now: datetime,
        summary: RunSummary,
        escalations: list[_Escalation],
    ) -> None:
        """At most one message for this case: a threshold that fell due, else a pending one.
        An escalation is not posted here but added to ``escalations``, posted together."""
        sent = {r.threshold for r in rows}
        threshold = reminders.triage_reminder(
            case.triage_due if case.needs_triage else None, case.received_at, sent, now
        ) or self._due(case, pauses, sent, now)
        if threshold is not None:
            if threshold.kind in ("progress", "due", "overdue", "triage") and case.slack_ts is None:
                summary.waiting += 1
                return
            row = self._record(case, threshold, pauses, rows, now, summary)
            if row is not None and row.threshold == reminders.ESCALATED:
                escalations.append(_Escalation(case, row, retried=False))
            elif row is not None:
                await self._deliver(case, row, now, summary)
            return
        pending = [r for r in rows if r.state in OPEN]
        if pending:
            # The escalation first; otherwise the newest (older ones were superseded by it).
            row = next((r for r in pending if r.threshold == reminders.ESCALATED), pending[-1])
            if row.threshold == reminders.ESCALATED:
                escalations.append(_Escalation(case, row, retried=True))
            elif await self._deliver(case, row, now, summary):
                summary.retried += 1

    def _due(
        self, case: Case, pauses: Sequence[CasePause], sent: set[str], now: datetime
    ) -> reminders.Threshold | None:
        waiting = next((p for p in pauses if p.ended_at is None), None)
        if waiting is not None:
            assert waiting.id is not None
            return reminders.requester_reminder(
                reminders.Wait(waiting.id, waiting.started_at, waiting.reason),
                sent,
                now,
                remind_after=self.settings.requester_reminder,
                give_up_after=self.settings.unverified_close,
            )
        intents = desk_replies.clock_intents(case)
        if not intents:
            return None
        facts = reminders.CaseFacts(
            case.ref,
            case.status,
            tuple(intents),
            case.received_at,
            case.jurisdiction,
            desk_replies.extension_of(case),
        )
        try:
            return reminders.due_reminder(
                facts,
                [(p.started_at, p.ended_at) for p in pauses],
                sent,
                now,
                policies=self.settings.policies,
                table=self._table,
            )
        except sla.SlaError as exc:
            if case.ref not in self._unusable:  # once per process, not once a pass
                self._unusable.add(case.ref)
                log.warning("%s: no deadline reminders (%s)", case.ref, exc)
            return None

    def _record(
        self,
        case: Case,
        threshold: reminders.Threshold,
        pauses: Sequence[CasePause],
        rows: Sequence[_Row],
        now: datetime,
        summary: RunSummary,
    ) -> _Row | None:
        """Insert the reminder (and its draft, for a requester) in one transaction; None when
        another replica or run recorded it first, or its draft cannot be made."""
        assert case.id is not None
        message = self._text(case, threshold)
        with Session(self._engine) as session:
            row_id = _insert_new(
                session,
                _REMINDERS,
                ["case_id", "threshold"],
                case_id=case.id,
                threshold=threshold.name,
                sent_at=now,
                state="pending",
                text=message,
            )
            if row_id is None:
                session.rollback()
                summary.taken += 1
                return None
            if reminders.rank(threshold.name) is not None:
                summary.superseded += self._supersede(session, rows)
            if threshold.kind in ("requester", "unverified"):
                try:
                    self._draft(session, case, threshold, pauses, now)
                except TemplateError as exc:
                    session.rollback()
                    summary.errors.append(f"{case.ref}: {exc}")
                    log.error("%s: the %s draft cannot be made: %s", case.ref, threshold.kind, exc)
                    return None
                summary.drafts += 1
            session.commit()
        log.info("%s: reminder %s recorded", case.ref, threshold.name)
        return _Row(row_id, threshold.name, "pending", message)

    def _supersede(self, session: Session, older: Sequence[_Row]) -> int:
        """Older deadline reminders of the case still waiting for Slack: the new one says more."""
        ids = [r.id for r in older if r.state in OPEN and reminders.rank(r.threshold) is not None]
        if not ids:
            return 0
        done = session.execute(
            update(_REMINDERS)
            .where(_REMINDERS.c.id.in_(ids), _REMINDERS.c.state.in_(OPEN))
            .values(state="superseded")
        )
        return int(done.rowcount)  # type: ignore[attr-defined]

    def _draft(
        self,
        session: Session,
        case: Case,
        threshold: reminders.Threshold,
        pauses: Sequence[CasePause],
        now: datetime,
    ) -> None:
        facts = desk_replies.CaseFacts.of(case)
        started = threshold.deadline
        if threshold.kind == "unverified":
            values: dict[str, Any] = {
                "asked_on": started.astimezone(TOKYO).date(),
                "waited_days": self.settings.unverified_close.days,
            }
            self._replies.prepare(session, facts, "unverified_close", values, editor="scheduler")
            return
        wait = next(p for p in pauses if p.ended_at is None)
        kind = "identity" if wait.reason in reminders.IDENTITY_WAITS else "clarification"
        reply_by = (
            started + self.settings.unverified_close
            if kind == "identity"
            else now + self.settings.requester_reminder
        )
        values = {
            "kind": kind,
            "needed": self._asked_for(session, case, kind, wait.reason),
            "reply_by": reply_by.astimezone(TOKYO).date(),
        }
        self._replies.prepare(session, facts, "identity_request", values, editor="scheduler")

    def _asked_for(self, session: Session, case: Case, kind: str, reason: str) -> list[str]:
        """What the requester was asked for (the last identity request that went out), or a
        plain description in their language."""
        asked = session.exec(
            select(Draft)
            .where(Draft.case_id == case.id, Draft.template == "identity_request")
            .where(col(Draft.status).in_(("approved", *DELIVERED)))
            .order_by(col(Draft.id).desc())
        ).first()
        if asked is not None and asked.values.get("kind") == kind and asked.values.get("needed"):
            return [str(item) for item in asked.values["needed"]]
        english = case.language == "en"
        if reason == VERIFICATION_PAUSE:
            return (
                ["The 6-digit code in the mail we sent you"]
                if english
                else ["お送りしたメールに記載の6桁の確認コード"]
            )
        if kind == "identity":
            return (
                ["A copy of an identity document (such as a driving licence)"]
                if english
                else ["本人確認書類（運転免許証など）の写し"]
            )
        return ["The details of your request"] if english else ["ご請求内容の詳細"]

    # ---- what is said --------------------------------------------------------------------

    def _who(self, case: Case) -> str:
        """Whom a thread reminder calls: the assignee when Slack can mention them, else the
        approvers (with a named assignee shown)."""
        assignee = (case.assignee or "").strip()
        if _person(assignee):
            return mention(assignee)
        approvers = " ".join(mention(a) for a in self._approvers)
        if assignee:
            return f"{approvers} (assigned to {escape(assignee)})".strip()
        return approvers or "(nobody assigned, no approvers configured)"

    def _text(self, case: Case, threshold: reminders.Threshold) -> str:
        ref, due = f"*{case.ref}*", threshold.deadline
        if threshold.kind == "progress":
            return (
                f"{self._who(case)} {ref}: {threshold.name} of the time to answer has passed. "
                f"Due {_day(due)}, end of day Tokyo."
            )
        if threshold.kind == "due":
            return f"{self._who(case)} {ref} is due today, {_day(due)}: answer by 23:59 Tokyo."
        if threshold.kind == "overdue":
            days = threshold.detail.get("days", 0)
            return (
                f"{self._who(case)} {ref} is overdue: it was due {_day(due)} "
                f"({days} business day{'s' if days != 1 else ''} late)."
            )
        if threshold.kind == "triage":
            days = threshold.detail.get("days", 0)
            when = (
                f"was due {_day(due)} ({days} business day{'s' if days != 1 else ''} late)"
                if days
                else f"is due today, {_day(due)}"
            )
            answer = f" (answer due {_day(case.answer_due)})" if case.answer_due else ""
            return (
                f"{self._who(case)} {ref} needs triage: nobody has decided what this mail asks "
                f"for, and triage {when}. Until an approver does, it runs on the strictest "
                f"rights-request deadline{answer}. Use the buttons on the case message."
            )
        if threshold.kind == "escalation":
            group = " ".join(mention(e) for e in self.settings.escalation)
            group = group or " ".join(mention(a) for a in self._approvers)
            assignee = (case.assignee or "").strip()
            held = mention(assignee) if _person(assignee) else escape(assignee or "nobody")
            what = "Complaint" if "complaint" in case.intents else "Case"
            return (
                f"{group} :rotating_light: {what} {ref} is past its deadline "
                f"({_day(due)}) and not answered. Assigned to {held}; see its thread."
            ).strip()
        if threshold.kind == "requester":
            days = self.settings.requester_reminder.days
            return (
                f"{self._who(case)} {ref} has waited {days} days on the requester since "
                f"{_day(due)}: a reminder mail is drafted in this thread for approval."
            )
        days = self.settings.unverified_close.days
        return (
            f"{self._who(case)} {ref}: the identity verification asked on {_day(due)} has gone "
            f"unanswered for {days} days. A closing mail (unverified_close) is drafted in this "
            "thread: approving it closes the case as unverified."
        )

    # ---- posting -------------------------------------------------------------------------

    async def _deliver(self, case: Case, row: _Row, now: datetime, summary: RunSummary) -> bool:
        """Post a recorded reminder; True once it is in Slack (posted now, or found there)."""
        escalation = row.threshold == reminders.ESCALATED
        if escalation:
            channel, thread = self._channel, None
        elif case.slack_ts is None:
            summary.waiting += 1
            return False
        else:
            channel, thread = case.slack_channel or self._channel, case.slack_ts
        metadata = {
            "event_type": REMINDER_EVENT,
            "event_payload": {"ref": case.ref, "threshold": row.threshold},
        }
        if row.state == "uncertain":
            found = await self._look_for(channel, thread, row.text, metadata, summary)
            if found is not None:
                self._posted(case, row, found, now)
                summary.found += 1
                return True

        def lost() -> None:
            self._set_state(_REMINDERS, _REMINDERS.c.id == row.id, "uncertain")

        ts = await self._post(
            case.ref, summary, lost, channel=channel, thread_ts=thread, text=row.text,
            metadata=metadata,
        )  # fmt: skip
        if ts is None:
            return False
        self._posted(case, row, ts, now)
        if escalation:
            summary.escalations += 1
        else:
            summary.reminders += 1
        return True

    async def _escalate(
        self, escalations: Sequence[_Escalation], now: datetime, summary: RunSummary
    ) -> None:
        """The escalations of this pass in the channel: one alone as its own message, several
        folded into one message that lists them (each case recorded posted with its ts)."""
        if len(escalations) == 1:
            only = escalations[0]
            if await self._deliver(only.case, only.row, now, summary) and only.retried:
                summary.retried += 1
            return
        if not escalations:
            return
        left = list(escalations)
        if any(e.row.state == "uncertain" for e in left):
            seen = await self._folded_in_channel(summary)
            for escalation in [e for e in left if e.case.ref in seen]:
                self._posted(escalation.case, escalation.row, seen[escalation.case.ref], now)
                summary.found += 1
                left.remove(escalation)
        if not left:
            return
        refs = [e.case.ref for e in left]
        metadata = {
            "event_type": REMINDER_EVENT,
            "event_payload": {"refs": refs, "threshold": reminders.ESCALATED},
        }
        ids = [e.row.id for e in left]

        def lost() -> None:
            self._set_state(_REMINDERS, _REMINDERS.c.id.in_(ids), "uncertain")

        ts = await self._post(
            f"{len(left)} escalations", summary, lost, channel=self._channel,
            text=self._folded_text(left), metadata=metadata,
        )  # fmt: skip
        if ts is None:
            return
        for escalation in left:
            self._posted(escalation.case, escalation.row, ts, now)
            summary.escalations += 1
            summary.retried += escalation.retried

    def _folded_text(self, escalations: Sequence[_Escalation]) -> str:
        group = " ".join(mention(e) for e in self.settings.escalation)
        group = group or " ".join(mention(a) for a in self._approvers)
        lines = [
            f"{group} :rotating_light: {len(escalations)} cases are past their deadline and "
            "not answered; see each case's thread:".strip()
        ]
        for escalation in escalations[:DIGEST_LIST]:
            case = escalation.case
            what = "complaint" if "complaint" in case.intents else "case"
            due = f"due {_day(case.answer_due)}" if case.answer_due else "past its deadline"
            assignee = (case.assignee or "").strip()
            held = mention(assignee) if _person(assignee) else escape(assignee or "nobody")
            lines.append(f"• *{case.ref}* ({what}, {due}; assigned to {held})")
        if len(escalations) > DIGEST_LIST:
            lines.append(
                f"• and {len(escalations) - DIGEST_LIST} more: `privacy-desk cases --overdue`"
            )
        return "\n".join(lines)

    async def _folded_in_channel(self, summary: RunSummary) -> dict[str, str]:
        """Case reference -> ts of escalations an earlier folded post (answer lost) did make."""
        found: dict[str, str] = {}
        cursor: str | None = None
        for _ in range(5):  # a few pages: the post is recent
            try:
                response = await self._client.conversations_history(
                    channel=self._channel, include_all_metadata=True, limit=200, cursor=cursor
                )
            except SlackApiError as exc:
                if exc.response.status_code == 429:
                    self._rate_limited(exc, summary)
                raise _Stop from None
            except (TimeoutError, ClientError, OSError):
                raise _Stop from None
            messages: list[dict[str, Any]] = response.get("messages", [])
            for message in messages:
                meta = message.get("metadata") or {}
                payload = meta.get("event_payload") or {}
                if (
                    message.get("bot_id")
                    and meta.get("event_type") == REMINDER_EVENT
                    and payload.get("threshold") == reminders.ESCALATED
                ):
                    for ref in payload.get("refs") or [payload.get("ref")]:
                        found.setdefault(str(ref), str(message["ts"]))
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if cursor is None:
                break
        return found

    def _posted(self, case: Case, row: _Row, ts: str, now: datetime) -> None:
        with Session(self._engine) as session:
            session.execute(
                update(_REMINDERS)
                .where(_REMINDERS.c.id == row.id)
                .values(state="posted", posted_at=now, ts=ts)
            )
            escalation = row.threshold == reminders.ESCALATED
            repo.audit(
                session,
                case.id,
                "scheduler",
                "escalated" if escalation else "reminder",
                threshold=row.threshold,
                text=row.text,
                posted=True,
            )
            session.commit()
        log.info("%s: reminder %s posted", case.ref, row.threshold)

    def _set_state(self, table: Table, where: Any, state: str) -> None:
        with Session(self._engine) as session:
            session.execute(update(table).where(where).values(state=state))
            session.commit()

    async def _post(
        self, ref: str, summary: RunSummary, lost: Callable[[], None], **args: Any
    ) -> str | None:
        """chat.postMessage; the ts, or None when Slack refused this one post (logged).
        Raises ``_Stop`` on a 429, a lost answer (after ``lost()``) or a refusal of every post."""
        try:
            response = await self._client.chat_postMessage(
                unfurl_links=False, unfurl_media=False, **args
            )
        except SlackApiError as exc:
            status = exc.response.status_code
            if status == 429:
                self._rate_limited(exc, summary)
            if status >= 500:
                self._lost(ref, summary, lost, f"HTTP {status}")
            error = str(exc.response.get("error", "error"))
            if error in _LOST:
                self._lost(ref, summary, lost, error)
            summary.errors.append(f"{ref}: {error}")
            log.error("%s: Slack refused the reminder: %s", ref, error)
            if error in _FATAL:
                raise _Stop from None
            return None
        except (TimeoutError, ClientError, OSError) as exc:
            self._lost(ref, summary, lost, type(exc).__name__)
        return str(response["ts"])

    def _rate_limited(self, exc: SlackApiError, summary: RunSummary) -> NoReturn:
        summary.retry_after = float(exc.response.headers.get("Retry-After", 1))
        log.warning(
            "Slack rate limit: the scheduler pass ends; waiting %.0f s", summary.retry_after
        )
        raise _Stop from None

    def _lost(self, ref: str, summary: RunSummary, lost: Callable[[], None], why: str) -> NoReturn:
        """Slack's answer is lost: the post may have been made. Look before posting again."""
        lost()
        summary.errors.append(f"{ref}: {why}")
        log.warning("%s: Slack did not answer (%s); will look before posting again", ref, why)
        raise _Stop from None

    async def _look_for(
        self,
        channel: str,
        thread: str | None,
        wanted: str,
        metadata: Mapping[str, Any],
        summary: RunSummary,
    ) -> str | None:
        """The ts of our earlier post of this text (or metadata), if it did reach Slack."""
        cursor: str | None = None
        for _ in range(5):  # a few pages: the post is recent
            try:
                if thread is None:
                    response = await self._client.conversations_history(
                        channel=channel, include_all_metadata=True, limit=200, cursor=cursor
                    )
                else:
                    response = await self._client.conversations_replies(
                        channel=channel,
                        ts=thread,
                        include_all_metadata=True,
                        limit=200,
                        cursor=cursor,
                    )
            except SlackApiError as exc:
                if exc.response.status_code == 429:
                    self._rate_limited(exc, summary)
                raise _Stop from None
            except (TimeoutError, ClientError, OSError):
                raise _Stop from None
            messages: list[dict[str, Any]] = response.get("messages", [])
            for message in messages:
                if not message.get("bot_id"):
                    continue
                if message.get("metadata") == metadata or message.get("text") == wanted:
                    return str(message["ts"])
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if cursor is None:
                break
        return None

    # ---- the daily digest ----------------------------------------------------------------

    async def _digest(self, now: datetime, summary: RunSummary) -> None:
        """Today's digest once its time has come: recorded, then posted; retried if pending."""
        if self.settings.digest_time is None:
            return
        today = now.astimezone(TOKYO).date()
        with Session(self._engine, expire_on_commit=False) as session:
            row = session.get(Digest, today)
            if row is None:
                if now < datetime.combine(today, self.settings.digest_time, tzinfo=TOKYO):
                    return
                message, last_case = self._digest_text(session, today, now)
                inserted = _insert_new(
                    session,
                    _DIGESTS,
                    ["day"],
                    day=today,
                    recorded_at=now,
                    state="pending",
                    text=message,
                    last_case_id=last_case,
                )
                if inserted is None:
                    session.rollback()
                    return
                # A day's digest Slack never took is not posted the next day: today's says more.
                session.execute(
                    update(_DIGESTS)
                    .where(_DIGESTS.c.day < today, _DIGESTS.c.state.in_(OPEN))
                    .values(state="superseded")
                )
                session.commit()
                row = session.get(Digest, today)
                assert row is not None
            if row.state not in OPEN:
                return
        metadata = {"event_type": DIGEST_EVENT, "event_payload": {"day": today.isoformat()}}
        if row.state == "uncertain":
            found = await self._look_for(self._channel, None, row.text, metadata, summary)
            if found is not None:
                self._digest_posted(today, found, now)
                summary.found += 1
                return

        def lost() -> None:
            self._set_state(_DIGESTS, _DIGESTS.c.day == today, "uncertain")

        ts = await self._post(
            f"digest {today}", summary, lost, channel=self._channel, text=row.text,
            metadata=metadata,
        )  # fmt: skip
        if ts is not None:
            self._digest_posted(today, ts, now)
            summary.digests += 1

    def _digest_posted(self, day: date, ts: str, now: datetime) -> None:
        with Session(self._engine) as session:
            session.execute(
                update(_DIGESTS)
                .where(_DIGESTS.c.day == day)
                .values(state="posted", posted_at=now, ts=ts)
            )
            session.commit()
        log.info("digest %s posted", day)

    def _digest_text(self, session: Session, today: date, now: datetime) -> tuple[str, int]:
        """The digest (case references only) and the newest case it counted."""
        finished = sorted(FINISHED)
        previous = session.exec(
            select(Digest).where(col(Digest.day) < today).order_by(col(Digest.day).desc())
        ).first()
        newest = session.exec(select(func.max(Case.id))).one() or 0
        # Historic cases are counted on a line of their own, never listed one by one.
        listed = col(Case.slack_state) != HISTORIC
        new_query = (
            select(Case.ref).where(Case.status != Status.QUARANTINED, listed).order_by(col(Case.id))
        )
        if previous is not None:
            new_query = new_query.where(col(Case.id) > previous.last_case_id)
        else:  # the first digest: what came in over the last day
            new_query = new_query.where(col(Case.received_at) >= now - timedelta(days=1))
        new = list(session.exec(new_query.where(col(Case.id) <= newest)))
        open_cases = select(Case.ref, Case.answer_due).where(
            col(Case.status).not_in(finished), listed
        )
        soon = [
            f"{ref} ({due.astimezone(TOKYO):%m/%d})"
            for ref, due in session.exec(
                open_cases.where(
                    col(Case.answer_due) >= now, col(Case.answer_due) < now + self.settings.due_soon
                ).order_by(col(Case.answer_due))
            )
            if due is not None
        ]
        overdue = [
            ref
            for ref, _ in session.exec(
                open_cases.where(repo.overdue(now)).order_by(col(Case.answer_due))
            )
        ]
        triage = [
            f"{ref} ({due.astimezone(TOKYO):%m/%d})" if due is not None else ref
            for ref, due in session.exec(
                select(Case.ref, Case.triage_due)
                .where(col(Case.needs_triage), col(Case.status).not_in(finished), listed)
                .order_by(col(Case.triage_due))
            )
        ]
        approval = list(
            session.exec(
                select(Case.ref)
                .where(col(Case.id).in_(select(Draft.case_id).where(Draft.status == "draft")))
                .where(col(Case.status).not_in(finished), listed)
                .order_by(col(Case.id))
            )
        )
        start = datetime.combine(today - timedelta(days=1), time(0), tzinfo=TOKYO)
        end = datetime.combine(today, time(0), tzinfo=TOKYO)
        answered = list(
            session.exec(
                select(Case.ref)
                .where(
                    col(Case.id).in_(
                        select(OutboxItem.case_id).where(
                            col(OutboxItem.status).in_(DELIVERED),
                            col(OutboxItem.template).in_(_ANSWERS),
                            col(OutboxItem.sent_at) >= start,
                            col(OutboxItem.sent_at) < end,
                        )
                    )
                )
                .order_by(col(Case.id))
            )
        )
        local = datetime.combine(today, time(0), tzinfo=TOKYO)
        lines = [
            f"*Privacy desk — daily digest, {local:%Y-%m-%d} ({local:%a})*",
            _line("New since the last digest", new),
            _line(f"Due within {self.settings.due_soon.days} days", soon),
            _line("Overdue", overdue),
            _line("Waiting for approval", approval),
            _line("Answered yesterday", answered),
            _line("Waiting for triage (decide by)", triage),
        ]
        historic = [
            due
            for due in session.exec(
                select(Case.answer_due).where(
                    col(Case.slack_state) == HISTORIC, col(Case.status).not_in(finished)
                )
            )
        ]
        if historic:
            late = sum(1 for due in historic if due is not None and due < now)
            lines.append(
                f"• Historic mail, from before the desk first read the mailbox: {len(historic)} "
                f"open, {late} of them overdue (`privacy-desk cases --overdue`)"
            )
        return "\n".join(lines), newest


def _line(title: str, refs: Sequence[str]) -> str:
    if not refs:
        return f"• {title}: none"
    shown = ", ".join(refs[:DIGEST_LIST])
    more = f", and {len(refs) - DIGEST_LIST} more" if len(refs) > DIGEST_LIST else ""
    return f"• {title} ({len(refs)}): {shown}{more}"
