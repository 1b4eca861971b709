"""Chases the desk's cases: reminders in their Slack threads, escalation of late complaints,
drafts for requesters who went quiet, and a daily digest in the channel — on one replica.

What is due is decided by ``handlers.reminders`` from each case's current deadline and pauses;
this module schedules the passes, leads, and records what is due; ``bot.chase`` posts it
through the Slack adapter (``bot.slack.api``), drafts the requester's mail and makes the digest.
The queries are in ``storage.reminders``, what staff are told in ``bot.slack.texts``, what a
requester's draft asks for in ``templates`` (``_needed``). The database work of a pass runs in
the ``pd-db`` threads (``bot.threads``), never on the event loop. Rules it keeps:

- Recorded before posted: a reminder (``SentReminder``, unique per case and threshold) and a
  digest (``Digest``, one per Tokyo day) are inserted in a transaction of their own (one database
  session, with the requester's draft where there is one) before Slack is called. An insert
  that finds its row already there means another replica or an earlier run took it: nothing is
  posted. So a restart, a second replica or a clock set back repeats nothing.
- A recorded reminder stays ``pending`` until Slack said ok, and is retried by the next run.
  Slack is called through the adapter (``bot.slack.api``), whose error tree decides: a 429 ends
  the pass (``RunSummary.retry_after``); a refusal is logged and retried (one by the desk's
  channel ends the pass); a token or scope problem ends the pass after that one call, as it does
  for the case poster, and shows in health (``report``); a lost answer (5xx, timeout) makes it
  ``uncertain`` and the thread or channel is searched for it before it is posted again. A newer
  reminder of the same case supersedes a pending older one.
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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped]
from apscheduler.triggers.date import DateTrigger  # type: ignore[import-untyped]
from apscheduler.triggers.interval import IntervalTrigger  # type: ignore[import-untyped]
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine
from sqlmodel import Session

from bot import replies as desk_replies
from bot import threads
from bot.chase import (
    DIGEST_EVENT,
    REMINDER_EVENT,
    Digests,
    Lost,
    RequesterDrafts,
    RunSummary,
    SlackPass,
    Stop,
    in_session,
)
from bot.slack import texts
from bot.words import DEFAULT, Words
from bot.words import words as staff_words
from handlers import reminders, sla
from handlers.clock import TOKYO, Clock, now
from handlers.status import NO_REMINDERS
from storage import reminders as store
from storage.db import writer
from storage.leader import LeaderLock, lock_key
from storage.models import Case, CasePause
from templates import TemplateError

if TYPE_CHECKING:
    from bot.settings import ScheduleSection

__all__ = [
    "DIGEST_EVENT",
    "REMINDER_EVENT",
    "RunSummary",
    "Scheduler",
    "SchedulerSettings",
    "SchedulerSettingsError",
]

log = logging.getLogger("privacy_desk.scheduler")

Report = Callable[[str, str], None]  # (state, detail) of each pass, for ``GET /healthz``
OPEN = store.OPEN  # recorded, not known to be in Slack
# The scheduler's advisory lock: the same number on every replica of this desk's database.
LOCK_KEY = lock_key("privacy-desk scheduler")


def _quiet(state: str, detail: str) -> None:
    """Report to no one (a pass outside ``serve``)."""


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


@dataclass(frozen=True)
class _Escalation:
    """An escalation due this pass (recorded now, or pending from an earlier one)."""

    case: Case
    row: store.Recorded
    retried: bool


class Scheduler:
    """Reminders, escalations, requester drafts and the daily digest for the desk's cases.

    ``run_once(now)`` is one pass (tests call it with their own clock); ``serve(stop)`` keeps
    passing on an APScheduler ``AsyncIOScheduler`` (every ``every`` seconds, and at the digest
    time) until ``stop`` is set, for ``privacy-desk serve``. ``report(state, detail)`` hears how
    each pass went.
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
        report: Report = _quiet,
        words: Words | None = None,
    ) -> None:
        self._w = words or staff_words(DEFAULT)  # PD_STAFF_LANGUAGE: what staff read
        self._engine = writer(engine)
        self._slack = SlackPass(client, channel)
        self._channel = channel
        self.settings = settings
        self._digest = Digests(
            self._engine, self._slack, settings.digest_time, settings.due_soon, w=self._w
        )
        self._to = texts.Audience(
            replies.approvers,
            settings.escalation,
            settings.requester_reminder,
            settings.unverified_close,
        )
        self._drafts = RequesterDrafts(
            desk_replies.Replies(engine, replies, clock=clock),
            settings.requester_reminder,
            settings.unverified_close,
        )
        self._clock = clock
        self._rules = replies.sla_rules  # PD_SLA_POLICIES: the deadlines reminded of
        self._report = report
        self._unusable: set[str] = set()  # cases without a usable deadline, already logged
        self.lock = lock or LeaderLock(engine, key=LOCK_KEY, name="scheduler")

    # ---- the service ---------------------------------------------------------------------

    async def serve(self, stop: asyncio.Event, *, every: float = 60.0) -> None:
        """Pass every ``every`` seconds and at the digest time until ``stop`` is set; a pass
        that fails (the database down) is logged and the next one tries again. A pass under way
        when ``stop`` is set ends before this returns."""
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
                if summary.retry_after is not None and not stop.is_set():
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
            await stop.wait()
        finally:
            jobs.shutdown(wait=False)
            async with one_at_a_time:  # the pass under way, if any, ends first
                await threads.db(self.lock.release)

    def close(self) -> None:
        """Give up leadership (another replica takes over at its next pass)."""
        self.lock.release()

    async def run_once(self, now: datetime | None = None) -> RunSummary:
        """One pass at ``now`` (the clock's time by default): the digest when its time has come,
        then at most one reminder per case."""
        now = self._clock() if now is None else now
        summary = RunSummary()
        if not await threads.db(self.lock.acquire):
            summary.leader = False
            self._report("ok", "")
            return summary
        try:
            await self._digest.run(now, summary)
            await self._cases(now, summary)
        except Stop:
            pass
        self._report(*summary.health())
        return summary

    # ---- cases ---------------------------------------------------------------------------

    def _read(self) -> store.OpenCases:
        with Session(self._engine, expire_on_commit=False) as session:
            return store.open_cases(session, NO_REMINDERS)

    async def _cases(self, now: datetime, summary: RunSummary) -> None:
        found = await threads.db(self._read)
        if found.dropped:  # answered or closed while its reminder waited for Slack
            log.info("scheduler: %d reminder(s) of finished cases dropped", found.dropped)
        escalations: list[_Escalation] = []
        for case in found.cases:
            assert case.id is not None
            rows = found.recorded[case.id]
            await self._case(case, found.pauses[case.id], rows, now, summary, escalations)
        await self._escalate(escalations, now, summary)

    async def _case(
        self,
        case: Case,
        pauses: Sequence[CasePause],
        rows: Sequence[store.Recorded],
        now: datetime,
        summary: RunSummary,
        escalations: list[_Escalation],
    ) -> None:
        """At most one message for this case: a threshold that fell due, else a pending one.
        An escalation is not posted here but added to ``escalations``, posted together."""
        sent = {r.threshold for r in rows}
        threshold = reminders.triage_reminder(
            case.triage_due if case.needs_triage else None,
            case.received_at,
            sent,
            now,
            calendar=self._rules.calendar,
        ) or self._due(case, pauses, sent, now)
        if threshold is not None:
            if threshold.kind in ("progress", "due", "overdue", "triage") and case.slack_ts is None:
                summary.waiting += 1
                return
            row = await threads.db(self._record, case, threshold, pauses, rows, now, summary)
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
                table=self._rules.table,
                calendar=self._rules.calendar,
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
        rows: Sequence[store.Recorded],
        now: datetime,
        summary: RunSummary,
    ) -> store.Recorded | None:
        """Insert the reminder (and its draft, for a requester) in one session and transaction,
        before anything is posted; None when another replica or run recorded it first, or its
        draft cannot be made."""
        assert case.id is not None
        message = texts.reminder(case, threshold, self._to, w=self._w)
        with Session(self._engine) as session:
            row_id = store.record(session, case.id, threshold.name, now, message)
            if row_id is None:
                session.rollback()
                summary.taken += 1
                return None
            if reminders.rank(threshold.name) is not None:
                # Older deadline reminders still waiting for Slack: the new one says more.
                older = [
                    r.id
                    for r in rows
                    if r.state in OPEN and reminders.rank(r.threshold) is not None
                ]
                summary.superseded += store.supersede(session, older)
            if threshold.kind in ("requester", "unverified"):
                try:
                    self._drafts.make(session, case, threshold, pauses, now)
                except TemplateError as exc:
                    session.rollback()
                    summary.errors.append(f"{case.ref}: {exc}")
                    log.error("%s: the %s draft cannot be made: %s", case.ref, threshold.kind, exc)
                    return None
                summary.drafts += 1
            session.commit()
        log.info("%s: reminder %s recorded", case.ref, threshold.name)
        return store.Recorded(row_id, threshold.name, "pending", message)

    # ---- posting -------------------------------------------------------------------------

    async def _deliver(
        self, case: Case, row: store.Recorded, now: datetime, summary: RunSummary
    ) -> bool:
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
            found = await self._slack.look_for(channel, thread, row.text, metadata, summary)
            if found is not None:
                await threads.db(self._posted, case, row, found, now)
                summary.found += 1
                return True
        ts = await self._slack.post(
            case.ref, summary, self._uncertain([row.id]), channel=channel, thread_ts=thread,
            text=row.text, metadata=metadata,
        )  # fmt: skip
        if ts is None:
            return False
        await threads.db(self._posted, case, row, ts, now)
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
            seen = await self._slack.escalated(summary)
            for escalation in [e for e in left if e.case.ref in seen]:
                there = seen[escalation.case.ref]
                await threads.db(self._posted, escalation.case, escalation.row, there, now)
                summary.found += 1
                left.remove(escalation)
        if not left:
            return
        metadata = {
            "event_type": REMINDER_EVENT,
            "event_payload": {"refs": [e.case.ref for e in left], "threshold": reminders.ESCALATED},
        }
        text = texts.escalations([e.case for e in left], self._to, w=self._w)
        ts = await self._slack.post(
            f"{len(left)} escalations", summary, self._uncertain([e.row.id for e in left]),
            channel=self._channel, text=text, metadata=metadata,
        )  # fmt: skip
        if ts is None:
            return
        for escalation in left:
            await threads.db(self._posted, escalation.case, escalation.row, ts, now)
            summary.escalations += 1
            summary.retried += escalation.retried

    def _posted(self, case: Case, row: store.Recorded, ts: str, now: datetime) -> None:
        """The reminder is in Slack: recorded posted, with its audit event, in one transaction."""
        assert case.id is not None
        escalation = row.threshold == reminders.ESCALATED
        with Session(self._engine) as session:
            store.posted(session, case.id, row, ts, now, "escalated" if escalation else "reminder")
        log.info("%s: reminder %s posted", case.ref, row.threshold)

    def _uncertain(self, ids: Sequence[int]) -> Lost:
        """What a lost answer makes of the reminders ``ids``: uncertain, looked for next pass."""

        async def lost() -> None:
            await threads.db(in_session, self._engine, store.set_state, list(ids), "uncertain")

        return lost
