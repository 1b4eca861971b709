"""The jobs a scheduler pass runs besides deciding and recording reminders: posting to Slack
through the adapter (each failure mapped onto the pass), the draft for a requester who went quiet,
and the daily digest.

``bot.scheduler`` decides when; this module does. Its database work runs in the ``pd-db``
threads (``bot.threads``); a row is recorded before Slack is called, in a session of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Concatenate, NoReturn, ParamSpec

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine
from sqlmodel import Session

from bot import replies as desk_replies
from bot import threads
from bot.slack import texts
from bot.slack.api import LostAnswer, RateLimited, Refused, SlackAPI, SlackError, TokenProblem
from bot.words import Words
from handlers import reminders
from handlers.clock import TOKYO
from handlers.replies import DELIVERED, STATUS_AFTER_SENDING, VERIFICATION_PAUSE
from handlers.status import NO_REMINDERS, Status
from storage import reminders as store
from storage.models import Case, CasePause, Digest

P = ParamSpec("P")

log = logging.getLogger("privacy_desk.scheduler")

REMINDER_EVENT = "privacy_desk_reminder"
DIGEST_EVENT = "privacy_desk_digest"
Lost = Callable[[], Awaitable[None]]  # marks what a post whose answer was lost concerned
_ANSWERS = tuple(t for t, status in STATUS_AFTER_SENDING.items() if status == Status.ANSWERED)


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

    def health(self) -> tuple[str, str]:
        """The pass as ``/healthz`` shows it: (state, detail), as the case poster says it."""
        if self.retry_after is not None:
            return "degraded", f"rate-limited by Slack for {self.retry_after:.0f} s"
        if self.errors:
            return "degraded", f"{len(self.errors)} errors, first: {self.errors[0]}; retrying"
        return "ok", ""


class Stop(Exception):
    """End the pass: Slack is rate-limiting, down, or refusing every post (the desk's channel
    or its token)."""


def in_session(
    engine: Engine,
    write: Callable[Concatenate[Session, P], None],
    *args: P.args,
    **kwargs: P.kwargs,
) -> None:
    """``write(session, *args)`` in a session of its own (it commits)."""
    with Session(engine) as session:
        write(session, *args, **kwargs)


# ---- Slack ----------------------------------------------------------------------------------


class SlackPass:
    """A pass's posts and look-ups, through the adapter. A 429, a lost answer, a refusal by the
    desk's channel or a token problem ends the pass (``Stop``), written into its summary."""

    def __init__(self, client: AsyncWebClient, channel: str) -> None:
        self._slack = SlackAPI(client)
        self.channel = channel

    async def post(self, ref: str, summary: RunSummary, lost: Lost, **args: Any) -> str | None:
        """chat.postMessage; the ts, or None when Slack refused this one post (logged). Ends the
        pass on a 429, a lost answer (after ``lost()``), a refusal by the desk's channel or a
        token problem."""
        try:
            return await self._slack.post(unfurl_links=False, unfurl_media=False, **args)
        except RateLimited as exc:
            self._rate_limited(exc, summary)
        except LostAnswer as exc:
            await lost()
            summary.errors.append(f"{ref}: {exc.error}")
            log.warning(
                "%s: Slack did not answer (%s); will look before posting again", ref, exc.error
            )
            raise Stop from None
        except TokenProblem as exc:
            self._token_problem(exc, summary)
        except Refused as exc:
            summary.errors.append(f"{ref}: {exc.error}")
            log.error("%s: Slack refused the reminder: %s", ref, exc.error)
            if exc.about_channel:  # every reminder goes there or to a thread in it
                raise Stop from None
            return None

    async def look_for(
        self,
        channel: str,
        thread: str | None,
        wanted: str,
        metadata: Mapping[str, Any],
        summary: RunSummary,
    ) -> str | None:
        """The ts of our earlier post of this text (or metadata), if it did reach Slack."""
        try:
            async for message in self._slack.messages(channel, thread=thread):  # it is recent
                if not message.get("bot_id"):
                    continue
                if message.get("metadata") == metadata or message.get("text") == wanted:
                    return str(message["ts"])
        except SlackError as exc:
            self._cannot_look(exc, summary)
        return None

    async def escalated(self, summary: RunSummary) -> dict[str, str]:
        """Case reference -> ts of escalations an earlier folded post (answer lost) did make."""
        found: dict[str, str] = {}
        try:
            async for message in self._slack.messages(self.channel):  # the post is recent
                meta = message.get("metadata") or {}
                payload = meta.get("event_payload") or {}
                if (
                    message.get("bot_id")
                    and meta.get("event_type") == REMINDER_EVENT
                    and payload.get("threshold") == reminders.ESCALATED
                ):
                    for ref in payload.get("refs") or [payload.get("ref")]:
                        found.setdefault(str(ref), str(message["ts"]))
        except SlackError as exc:
            self._cannot_look(exc, summary)
        return found

    def _rate_limited(self, exc: RateLimited, summary: RunSummary) -> NoReturn:
        summary.retry_after = exc.retry_after
        log.warning(
            "Slack rate limit: the scheduler pass ends; waiting %.0f s", summary.retry_after
        )
        raise Stop from None

    def _token_problem(self, exc: TokenProblem, summary: RunSummary) -> NoReturn:
        """The desk's token or scopes are refused: no call this pass would work."""
        summary.errors.append(f"Slack: {exc.error}")
        log.error("Slack refused %s: %s; the scheduler pass ends", exc.method, exc.error)
        raise Stop from None

    def _cannot_look(self, exc: SlackError, summary: RunSummary) -> NoReturn:
        """A look-up for an uncertain post failed: nothing is posted again this pass."""
        if isinstance(exc, RateLimited):
            self._rate_limited(exc, summary)
        if isinstance(exc, TokenProblem):
            self._token_problem(exc, summary)
        raise Stop from None


# ---- the requester's draft --------------------------------------------------------------------


@dataclass(frozen=True)
class RequesterDrafts:
    """The mail drafted when a case waits on its requester: a reminder, or the closing mail of
    an identity verification left unanswered."""

    replies: desk_replies.Replies
    remind_after: timedelta
    give_up_after: timedelta

    def make(
        self,
        session: Session,
        case: Case,
        threshold: reminders.Threshold,
        pauses: Sequence[CasePause],
        now: datetime,
    ) -> None:
        """The draft for ``threshold`` (kind ``requester`` or ``unverified``), in ``session``."""
        facts = desk_replies.CaseFacts.of(case)
        started = threshold.deadline
        if threshold.kind == "unverified":
            values: dict[str, Any] = {
                "asked_on": started.astimezone(TOKYO).date(),
                "waited_days": self.give_up_after.days,
            }
            self.replies.prepare(session, facts, "unverified_close", values, editor="scheduler")
            return
        wait = next(p for p in pauses if p.ended_at is None)
        kind = "identity" if wait.reason in reminders.IDENTITY_WAITS else "clarification"
        reply_by = started + self.give_up_after if kind == "identity" else now + self.remind_after
        values = {
            "kind": kind,
            "needed": self._asked_for(session, case, kind, wait.reason),
            "reply_by": reply_by.astimezone(TOKYO).date(),
        }
        self.replies.prepare(session, facts, "identity_request", values, editor="scheduler")

    def _asked_for(self, session: Session, case: Case, kind: str, reason: str) -> list[str]:
        """What the requester was asked for (the last identity request that went out), or a
        plain description in their language (``templates/mail/_needed.*.j2``)."""
        assert case.id is not None
        asked = store.asked_for(session, case.id, kind, DELIVERED)
        if asked is not None:
            return asked
        words = self.replies.settings.templates.words("needed", case.language or "ja")
        return [words["code" if reason == VERIFICATION_PAUSE else kind]]


# ---- the daily digest -------------------------------------------------------------------------


class Digests:
    """The daily digest in the channel, once its time has come: recorded, then posted; retried
    while pending, and superseded by the next day's."""

    def __init__(
        self,
        engine: Engine,
        slack: SlackPass,
        at: time | None,
        due_soon: timedelta,
        *,
        w: Words,
    ) -> None:
        self._w = w  # PD_STAFF_LANGUAGE: the digest's language
        self._engine = engine
        self._slack = slack
        self._at = at
        self._due_soon = due_soon

    async def run(self, now: datetime, summary: RunSummary) -> None:
        if self._at is None:
            return
        today = now.astimezone(TOKYO).date()
        row = await threads.db(self._row, today, now)
        if row is None or row.state not in store.OPEN:
            return
        channel = self._slack.channel
        metadata = {"event_type": DIGEST_EVENT, "event_payload": {"day": today.isoformat()}}
        if row.state == "uncertain":
            found = await self._slack.look_for(channel, None, row.text, metadata, summary)
            if found is not None:
                await self._posted(today, found, now)
                summary.found += 1
                return

        async def lost() -> None:
            await threads.db(in_session, self._engine, store.set_digest_state, today, "uncertain")

        ts = await self._slack.post(
            f"digest {today}", summary, lost, channel=channel, text=row.text, metadata=metadata
        )
        if ts is not None:
            await self._posted(today, ts, now)
            summary.digests += 1

    async def _posted(self, today: date, ts: str, now: datetime) -> None:
        await threads.db(in_session, self._engine, store.digest_posted, today, ts, now)
        log.info("digest %s posted", today)

    def _row(self, today: date, now: datetime) -> Digest | None:
        """Today's digest: as recorded, or recorded now (before it is posted) once its time has
        come; None before then, or when another replica recorded it first. A day's digest Slack
        never took is superseded by today's, which says more."""
        assert self._at is not None
        with Session(self._engine, expire_on_commit=False) as session:
            row = store.digest(session, today)
            if row is not None:
                return row
            if now < datetime.combine(today, self._at, tzinfo=TOKYO):
                return None
            yesterday = datetime.combine(today - timedelta(days=1), time(0), tzinfo=TOKYO)
            facts = store.digest_facts(
                session,
                today,
                now,
                soon_until=now + self._due_soon,
                yesterday=(yesterday, datetime.combine(today, time(0), tzinfo=TOKYO)),
                finished=NO_REMINDERS,
                delivered=DELIVERED,
                answers=_ANSWERS,
            )
            message = texts.digest(facts, today, now, self._due_soon, w=self._w)
            return store.record_digest(session, today, now, message, facts.newest)
