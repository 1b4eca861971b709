"""Puts every case in the Slack channel, once, keeps its parent message up to date, and tells
in the case's thread what happens to it afterwards.

Slack being slow, down or rate-limiting never touches intake: cases are taken in whatever
happens here, and this loop works from the database: read in the ``pd-db`` threads
(``bot.threads``), then Slack is asked through the adapter (``bot.slack.api``), then what Slack
said is written in a short transaction of its own; no transaction is held while Slack is asked. A case remembers its parent message
(``slack_ts``). A post whose answer was lost (a 5xx, a timeout, a dropped connection) may have
been made all the same, so it is never simply retried: the case becomes ``uncertain`` and the
channel's recent history is searched for the message's metadata (the case reference) before
anything is posted again. A 429 is honoured: the pass stops and says how long to wait.

What is told in a thread: the audit events whose action is in ``TOLD``, for cases whose parent
message exists, oldest first, each once (a ``ThreadPost`` row records it). ``TOLD`` is the
rule: it holds what the parent message and the draft posts do not already show. "case opened"
is the parent message itself, "draft prepared" is the draft posted with its buttons, refusals
were answered to the person who clicked, and "note" came from the thread. Events that happened
before the parent was posted (an automatic mail held at intake, a code verified first) are told
too, in their order: nothing else says them. An event whose writer posted it already
(``posted: true`` in its detail, as the reminders do) is recorded as told, not posted. A thread post
carries metadata naming its audit event; when its answer is lost the ``ThreadPost`` is
``uncertain`` and the thread is read (``conversations.replies``) for that metadata before
posting again. A refusal for one case (its thread or old channel gone) is recorded as
``failed`` and logged with the case reference; the other cases go on. Lines are short mrkdwn:
text from email (a follow-up's subject) is escaped, clipped and shown only as ``PD_SLACK_MASK``
allows (``blocks.from_mail``: contact data redacted, or nothing under ``strict``); addresses,
bodies and server answers that may name an address are never shown.

A purged case (``purged_at``) leaves nothing behind here: its parent message becomes a
placeholder (``thread.purged`` in ``bot.words``), and its drafts and thread lines are deleted
(``chat.delete``: an edit would keep the old text in the message's history). The purge is
recorded in the database first; each deletion is recorded once Slack has done it, so one that
fails is tried again.

Every line staff read here is in the poster's ``Words`` (``PD_STAFF_LANGUAGE``; the tables
``thread`` and, for what the scheduler wrote, ``remind``).

Shaped for any burst: at most ``posts_per_minute`` new case messages in any minute (by the
poster's clock); the rest wait in the database, the nearest deadline first, then the earliest
receipt, and are posted in the minutes after — none is lost. Cases opened from historic mail
(``slack_state`` "historic", received long before the desk first read the mailbox) get no
message of their own: once their intake has finished (the audit event ``HISTORIC_TAKEN``), one
summary in the channel says how many there are, how many are open and overdue, and where to see
them; each case summarised is marked with the summary's time (``slack_synced_at``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NoReturn

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, func, or_, select, update

from bot import threads
from bot.cases import may_extend
from bot.health import SLACK_DELAY
from bot.replies import told_reason
from bot.slack.api import (
    CHANNEL_ERRORS,
    LostAnswer,
    RateLimited,
    Refused,
    SlackAPI,
    TokenProblem,
)
from bot.slack.blocks import (
    FALLBACK_TEXT,
    SECTION_TEXT,
    CaseView,
    _time,
    case_file_button,
    case_message,
    clip,
    draft_message,
    draft_view,
    escape,
    from_mail,
    intent_label,
    mask,
    person,
)
from bot.slack.ids import is_user_id
from bot.words import DEFAULT, Words
from bot.words import words as staff_words
from handlers import sla
from handlers.clock import Clock, now
from handlers.status import FINISHED
from mail.errors import ParseError
from mail.parse import parse_message
from storage import repo
from storage.db import writer
from storage.models import AuditEvent, Case, Draft, MailMessage, ThreadPost

log = logging.getLogger("privacy_desk.slack")

EVENT_TYPE = "privacy_desk_case"
BACKLOG_EVENT_TYPE = "privacy_desk_backlog"  # metadata of the summary of historic mail
HISTORIC = "historic"  # the slack_state of a case told only in a summary
POSTS_PER_MINUTE = 20  # PD_SLACK_POSTS_PER_MINUTE
MINUTE = timedelta(minutes=1)
THREAD_EVENT_TYPE = "privacy_desk_event"  # metadata of a line told in a case's thread
EXCERPT = 600  # characters of the newest text shown in the channel
SUBJECT = 150  # characters of a follow-up's subject shown in its thread
FOLLOW_UP_EXCERPT = 300  # characters of a follow-up's newest text shown in its thread
FILE_NAMES = 10  # attachment names listed in a follow-up's line (the rest counted)
LOOK_BACK = timedelta(hours=1)  # how far before the case's creation an uncertain post is sought
REPLY_PAGES = 5  # pages of a thread read when looking for an uncertain line (1,000 replies each)
QUIET = timedelta(minutes=15)  # a draft its thread refused is not tried again sooner

Report = Callable[[str, str], None]


def _quiet(state: str, detail: str) -> None:
    """Report to no one (a run outside ``serve``)."""


# ---- what a thread is told ---------------------------------------------------------------


@dataclass(frozen=True)
class FollowUp:
    """What a follow-up's thread line shows of the mail, already as ``PD_SLACK_MASK`` allows:
    the sender masked like the parent's requester (empty when the mask hides it), an excerpt of
    the new text redacted like the parent's (empty under ``strict``), the attachments' names
    (none under ``strict``: names can be personal) and how many there are."""

    sender: str = ""
    excerpt: str = ""
    files: tuple[str, ...] = ()
    attachments: int = 0


def follow_up_view(message: MailMessage, mask_mode: str, *, w: Words) -> FollowUp:
    """A follow-up mail as its thread line may show it under ``mask_mode``."""
    shown = mask_mode in ("full", "partial", "domain")
    sender = mask(message.sender, mask_mode, w=w) if shown else ""
    try:
        parsed = parse_message(message.raw) if message.raw is not None else None
    except ParseError:
        parsed = None
    if parsed is None:
        return FollowUp(sender)
    # redacted before the cut, so no number is cut in half and half shown
    excerpt = from_mail(parsed.newest_text[: FOLLOW_UP_EXCERPT * 20], mask_mode)
    unnamed = w("thread.no_file_name")
    names = tuple(from_mail(a.filename or unnamed, mask_mode) for a in parsed.attachments)
    return FollowUp(
        sender,
        excerpt[:FOLLOW_UP_EXCERPT].strip(),
        () if mask_mode == "strict" else names,
        len(parsed.attachments),
    )


@dataclass(frozen=True)
class Told:
    """One audit event as its thread line needs it: who did what, to which case."""

    action: str
    actor: str
    detail: Mapping[str, Any]
    ref: str
    subject: str | None = None  # a follow-up's subject, as received (escaped when shown)
    follow_up: FollowUp | None = None  # a follow-up mail, as the mask allows it to be shown

    def who(self, w: Words) -> str:
        return _person(self.actor, w)

    def number(self, key: str) -> str:
        value = self.detail.get(key)
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else "?"

    def words(self, key: str, w: Words, limit: int = 300) -> str:
        value = self.detail.get(key)
        return _words(str(value), limit, w=w) if value not in (None, "") else w("thread.none_given")

    def why(self, w: Words, limit: int = 300, *, key: str = "reason") -> str:
        """The event's ``reason`` (or ``key``) in the staff language: its key and values when
        the desk recorded them (``bot.replies.keyed``), a fixed text the staff texts know
        (``[said]``), else as stored (staff's own words)."""
        reason = told_reason(self.detail) if key == "reason" else None
        if reason is not None:
            try:
                return _words(reason.text(w), limit, w=w)
            except (KeyError, IndexError, ValueError):  # a key or value these texts lack
                pass  # told as recorded, in English, rather than not at all
        value = str(self.detail.get(key) or "")
        if f"said.{value}" in w:
            return escape(w(f"said.{value}"))
        return self.words(key, w, limit)

    def due(self, w: Words, key: str = "answer_due") -> str:
        value = self.detail.get(key)
        if not value:
            return w("thread.no_deadline")
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            return w("thread.unreadable_date")
        return _time(moment)

    def template(self, w: Words) -> str:
        return _words(str(self.detail.get("template") or "?"), 64, w=w)


def _person(actor: str | None, w: Words) -> str:
    """A Slack user as a mention; anyone else (the desk's own processes) as plain text."""
    if actor and (is_user_id(actor) or f"said.{actor}" in w):
        return person(actor, w=w)
    return _words(actor or w("thread.someone"), 64, w=w)


def _words(text: str, limit: int, *, w: Words) -> str:
    return escape(clip(" ".join(text.split()), limit, w=w))


def _names(value: object) -> list[str]:
    return [str(i) for i in value] if isinstance(value, list | tuple) else []


def _intents(value: object, w: Words) -> str:
    named = w("blocks.list_separator").join(intent_label(i, w=w) for i in _names(value))
    return escape(named) or w("thread.no_intents")


def _smtp_code(error: object) -> str:
    """The SMTP reply code of a refusal (``550 5.1.1``): the rest may name the address."""
    found = re.match(r"\s*([45]\d\d(?:[ -][245]\.\d{1,3}\.\d{1,3})?)\b", str(error or ""))
    return f", {found.group(1)}" if found else ""


def _linked(t: Told, w: Words) -> str:
    if t.subject and t.subject.strip():
        said = w("thread.follow_up_subject", subject=_words(t.subject, SUBJECT, w=w))
    else:
        said = w("thread.follow_up")
    asks = [i for i in _names(t.detail.get("intents")) if i != "auto_reply"]
    if asks:
        said += w("thread.follow_up_reads", intents=_intents(asks, w))
    lines = [said]
    mail = t.follow_up or FollowUp()
    if mail.sender:
        lines.append(w("thread.follow_up_from", sender=escape(mail.sender)))
    lines += [f"> {escape(line)}" for line in mail.excerpt.splitlines() if line.strip()]
    if mail.files:
        names = ", ".join(_words(name, 100, w=w) for name in mail.files[:FILE_NAMES])
        extra = len(mail.files) - FILE_NAMES
        more = w("thread.attachments_more", count=extra) if extra > 0 else ""
        lines.append(w("thread.attachments_named", count=mail.attachments, names=names, more=more))
    elif mail.attachments:
        lines.append(w("thread.attachments_counted", count=mail.attachments))
    return "\n".join(lines)


def _approved(t: Told, w: Words) -> str:
    draft = t.number("draft")
    if t.detail.get("automatic"):
        return w("thread.approved_automatic", draft=draft, template=t.template(w), who=t.who(w))
    return w("thread.approved", who=t.who(w), draft=draft)


def _assigned(t: Told, w: Words) -> str:
    to = t.detail.get("to")
    if to == t.actor:
        return w("thread.took", who=t.who(w), ref=t.ref)
    if not to:
        return w("thread.unassigned", who=t.who(w), ref=t.ref)
    return w("thread.assigned", who=t.who(w), ref=t.ref, to=_person(str(to), w))


def _reclassified(t: Told, w: Words) -> str:
    before, after = _intents(t.detail.get("before"), w), _intents(t.detail.get("after"), w)
    law = t.detail.get("jurisdiction_before")
    if law:
        moved = f"{_words(str(law), 8, w=w)} → {_words(str(t.detail.get('jurisdiction')), 8, w=w)}".upper()
        return w("thread.law_changed", who=t.who(w), moved=moved, after=after, due=t.due(w))
    return w("thread.reclassified", who=t.who(w), before=before, after=after, due=t.due(w))


def _forced(t: Told, w: Words) -> str:
    return w("thread.forced") if t.detail.get("forced") else ""


def _as_given(t: Told, w: Words) -> str:
    """Reminders and escalations come as finished mrkdwn, escaped by their writer."""
    return str(t.detail.get("text") or t.action)


# The wording of each action told in a case's thread (bot/words, table ``thread``); the keys
# are the rule of what is told.
LINES: dict[str, Callable[[Told, Words], str]] = {
    "message linked": _linked,
    "bounce received": lambda t, w: w("thread.bounce_received"),
    "mail sent": lambda t, w: w(
        "thread.mail_sent", template=t.template(w), outbox=t.number("outbox")
    ),
    "mail written": lambda t, w: w(
        "thread.mail_written", template=t.template(w), outbox=t.number("outbox")
    ),
    "mail failed": lambda t, w: w(
        "thread.mail_failed", outbox=t.number("outbox"), code=_smtp_code(t.detail.get("error"))
    ),
    "mail bounced": lambda t, w: w("thread.mail_bounced", outbox=t.number("outbox")),
    "sent copy failed": lambda t, w: w("thread.sent_copy_failed", outbox=t.number("outbox")),
    "draft approved": _approved,
    "draft discarded": lambda t, w: w(
        "thread.draft_discarded", who=t.who(w), draft=t.number("draft")
    ),
    "draft edited": lambda t, w: w(
        "thread.draft_edited", who=t.who(w), draft=t.number("draft"), revision=t.number("revision")
    ),
    "draft renewed": lambda t, w: w(
        "thread.draft_renewed", draft=t.number("draft"), revision=t.number("revision")
    ),
    "assigned": _assigned,
    "reclassified": _reclassified,
    "identity verified": lambda t, w: w(
        "thread.identity_verified", who=t.who(w), how=t.why(w, 200, key="how")
    ),
    "clock paused": lambda t, w: w("thread.clock_paused", reason=t.why(w)),
    "clock resumed": lambda t, w: w("thread.resumed", due=t.due(w)),
    "deadline extended": lambda t, w: w(
        "thread.deadline_extended", who=t.who(w), due=t.due(w), reason=t.words("reason", w, 500)
    ),
    "case closed": lambda t, w: w("thread.case_closed", who=t.who(w), reason=t.why(w, 500)),
    "case merged": lambda t, w: w(
        "thread.case_merged", who=t.who(w), into=t.words("into", w, 32), forced=_forced(t, w)
    ),
    "case merged in": lambda t, w: w(
        "thread.case_merged_in",
        who=t.who(w),
        source=t.words("from", w, 32),
        forced=_forced(t, w),
        messages=t.number("messages"),
        due=t.due(w),
    ),
    "automatic mail held": lambda t, w: w("thread.automatic_mail_held", reason=t.why(w)),
    "draft failed": lambda t, w: w("thread.draft_failed", reason=t.why(w)),
    "verification code void": lambda t, w: w("thread.code_void", tries=t.number("tries")),
    "reminder": _as_given,
    "escalated": _as_given,
}
TOLD = frozenset(LINES)


def _historic_text(count: int, still: int, late: int, days: int, *, w: Words) -> str:
    """The summary of historic mail: counts and where to look, no case references, no mail."""
    older = w("thread.historic_older", days=days) if days else w("thread.historic_before")
    return w(
        "thread.historic_one" if count == 1 else "thread.historic_many",
        count=f"{count:,}",
        older=older,
        still=f"{still:,}",
        late=f"{late:,}",
    )


def thread_line(told: Told, *, w: Words) -> str:
    """The one short mrkdwn line that tells ``told`` in its case's thread."""
    return clip(LINES[told.action](told, w), FALLBACK_TEXT, w=w)


def thread_blocks(told: Told, *, w: Words) -> list[dict[str, Any]] | None:
    """The blocks of a thread line that offers a control (a follow-up: the case file, where
    staff read it whole), or None for a line of text alone."""
    if told.action != "message linked":
        return None
    return [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": clip(thread_line(told, w=w), SECTION_TEXT, w=w)},
        },
        {
            "type": "actions",
            "block_id": f"file:{told.ref}",
            "elements": [case_file_button(told.ref, w=w)],
        },
    ]


# ---- the loop ----------------------------------------------------------------------------


@dataclass
class PostSummary:
    posted: int = 0
    waiting: int = 0  # new cases left for a later minute (at most posts_per_minute a minute)
    summaries: int = 0  # summaries of historic mail posted
    updated: int = 0
    drafts: int = 0  # drafts posted into case threads
    told: int = 0  # events told in case threads
    found: int = 0  # uncertain posts found in the channel or thread, not posted again
    deleted: int = 0  # posts of purged cases deleted from their threads
    uncertain: int = 0
    retry_after: float | None = None  # Slack asked us to wait this long
    errors: list[str] = field(default_factory=list)  # the pass stopped: the loop backs off
    refused: list[str] = field(default_factory=list)  # one case's message or thread refused


@dataclass(frozen=True)
class _Pending:
    """An event to tell, read from the database, and where its line goes."""

    audit_id: int
    case_id: int
    channel: str
    thread_ts: str
    uncertain: bool  # an earlier post's answer was lost: look in the thread first
    told: Told


def _detail(event: AuditEvent) -> dict[str, Any]:
    return event.detail if isinstance(event.detail, dict) else {}


def _bare(message_id: object) -> str:
    return str(message_id or "").strip().strip("<>")


def _untold(upto: int) -> tuple[Any, ...]:
    """Historic cases up to case id ``upto`` that no summary has told yet."""
    return (
        col(Case.id) <= upto,
        col(Case.slack_state) == HISTORIC,
        col(Case.slack_synced_at).is_(None),
    )


class _Stop(Exception):
    """End the pass: Slack is rate-limiting, down, or refusing us for a reason staff must fix."""


# Without a call to Slack for this long, a pass asks Slack whether it is there.
PROBE_EVERY = timedelta(seconds=60)


class CasePoster:
    def __init__(
        self,
        engine: Engine,
        client: AsyncWebClient,
        channel: str,
        *,
        clock: Clock = now,
        mask_mode: str = "partial",
        posts_per_minute: int | None = None,
        rules: sla.Rules | None = None,
        case_file: bool = False,
        words: Words | None = None,
    ) -> None:
        # None: no shaping (a poster driven pass by pass, as in tests); ``serve`` passes
        # PD_SLACK_POSTS_PER_MINUTE (20 unless set).
        if posts_per_minute is not None and posts_per_minute < 1:
            raise ValueError(f"posts_per_minute must be 1 or more, not {posts_per_minute}")
        self._posts_per_minute = posts_per_minute
        self._summary_uncertain: int | None = None  # a summary whose answer was lost (its upto)
        self._engine = writer(engine)
        self._reader = engine
        self._client = client
        self._slack = SlackAPI(client, on_answer=self._answered)
        self._channel = channel
        self._clock = clock
        self._mask_mode = mask_mode
        self._rules = rules or sla.default_rules()  # PD_SLA_POLICIES: whether Extend is offered
        self._case_file = case_file  # parent messages and follow-ups offer the "Case file" button
        self._w = words or staff_words(DEFAULT)  # PD_STAFF_LANGUAGE: what staff read
        self._quiet: dict[int, datetime] = {}  # draft id -> not before (its thread refused it)
        # ("draft" | "line", row id) -> not before (Slack refused to delete it)
        self._undeletable: dict[tuple[str, int], datetime] = {}
        self._last_contact: datetime | None = None  # Slack last answered (anything but a 5xx)

    @property
    def words(self) -> Words:
        """The staff texts this poster writes in (PD_STAFF_LANGUAGE)."""
        return self._w

    @property
    def client(self) -> AsyncWebClient:
        return self._client

    @property
    def channel(self) -> str:
        return self._channel

    async def serve(
        self,
        stop: asyncio.Event,
        report: Report = _quiet,
        *,
        every: float = 2.0,
        max_backoff: float = 300.0,
    ) -> None:
        """Keep the channel in step with the cases until ``stop`` (``privacy-desk serve``):
        every ``every`` seconds, after a 429 as long as Slack asked, after failures longer.
        ``report(state, detail)`` says how each pass went (``GET /healthz``)."""
        delay = every
        while not stop.is_set():
            try:
                summary = await self.run_once()
                if summary.retry_after:
                    delay = summary.retry_after
                    report("degraded", f"rate-limited by Slack for {delay:.0f} s")
                elif summary.errors:
                    delay = min(delay * 2, max_backoff)
                    report(
                        "degraded",
                        f"{len(summary.errors)} Slack errors, first: {summary.errors[0]}; retrying",
                    )
                else:
                    delay = every
                    report("ok", "")
            except Exception as exc:  # the database failed: wait, then start over
                log.error("Slack pass failed (%s); retrying", type(exc).__name__)
                report("degraded", f"pass failed: {type(exc).__name__}")
                delay = min(delay * 2, max_backoff)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)

    async def run_once(self, *, limit: int = 200) -> PostSummary:
        """Post the cases not yet in the channel (as many as this minute allows, the nearest
        deadline first), update those that changed, summarise historic mail taken in, post the
        drafts waiting for approval, then tell up to ``limit`` events in their threads."""
        summary = PostSummary()
        room = await threads.db(self._room)
        new, waiting, changed = await threads.db(self._todo, min(room, limit), limit)
        summary.waiting = waiting
        try:
            for ref in new:  # no more than the minute's room (``_todo``)
                await self._one(ref, summary)
            for ref in changed:
                await self._one(ref, summary)
            await self._historic(summary)
            await self._purged(summary, limit)
            await self._drafts(summary, limit)
            await self._events(summary, limit)
            await self._probe(summary)
        except _Stop:
            pass
        return summary

    def _todo(self, room: int, limit: int) -> tuple[list[str], int, list[str]]:
        """The cases to post now (at most ``room``), how many more wait, and those changed."""
        with Session(self._reader) as session:
            unposted = (
                select(Case.ref)
                .where(col(Case.slack_ts).is_(None), col(Case.slack_state) != HISTORIC)
                # NULLs last on SQLite and PostgreSQL alike: a case without a deadline waits.
                .order_by(
                    col(Case.answer_due).is_(None),
                    col(Case.answer_due),
                    col(Case.received_at),
                    col(Case.id),
                )
            )
            new = list(session.exec(unposted.limit(room))) if room else []
            waiting = session.exec(
                select(func.count())
                .select_from(Case)
                .where(col(Case.slack_ts).is_(None), col(Case.slack_state) != HISTORIC)
            ).one()
            changed = list(
                session.exec(
                    select(Case.ref)
                    .where(col(Case.slack_ts).is_not(None))
                    .where(
                        or_(
                            col(Case.slack_synced_at).is_(None),
                            col(Case.updated_at) > col(Case.slack_synced_at),
                        )
                    )
                    .order_by(col(Case.id))
                    .limit(limit)
                )
            )
        return new, max(int(waiting) - len(new), 0), changed

    async def _probe(self, summary: PostSummary) -> None:
        """With nothing to post for a while, ask Slack who we are (``auth.test``): an outage or
        a revoked token shows in ``/healthz`` before a case needs the channel (DESIGN rule 9)."""
        now = self._clock()
        if self._last_contact is not None and now - self._last_contact < PROBE_EVERY:
            return
        try:
            await self._api(summary, "auth_test")
        except (LostAnswer, Refused) as exc:
            summary.errors.append(f"Slack unreachable: {exc}")
            log.warning("Slack unreachable (%s)", exc)

    def _room(self) -> int:
        """How many new case messages may still be posted in the minute up to now: counted
        from the database (``slack_posted_at``), so a restart or another replica taking over
        within the minute does not start a new allowance."""
        if self._posts_per_minute is None:
            return 1_000_000
        since = self._clock() - MINUTE
        with Session(self._engine) as session:
            posted = session.exec(
                select(func.count()).select_from(Case).where(col(Case.slack_posted_at) > since)
            ).one()
        return max(self._posts_per_minute - posted, 0)

    def _answered(self) -> None:
        self._last_contact = self._clock()  # Slack is there (it may have said no)

    async def _api(self, summary: PostSummary, method: str, **args: Any) -> dict[str, Any]:
        """One Web API call through the adapter. A 429 or a token problem ends the pass; a lost
        answer raises ``LostAnswer``, a refusal ``Refused``."""
        try:
            return await self._slack.call(method, **args)
        except RateLimited as exc:
            summary.retry_after = exc.retry_after
            log.warning("Slack rate limit: waiting %.0f s", summary.retry_after)
            raise _Stop from None
        except TokenProblem as exc:
            summary.errors.append(f"Slack: {exc.error}")
            log.error("Slack refused %s: %s", method, exc.error)
            raise _Stop from None

    # ---- historic mail ---------------------------------------------------------------------

    async def _historic(self, summary: PostSummary) -> None:
        """One channel message for the historic cases whose intake has finished and that no
        summary has told yet: how many, how many open and overdue, where to see them."""
        now = self._clock()
        untold = await threads.db(self._historic_untold, now)
        if untold is None:
            return
        upto, count, text = untold
        found = None
        if self._summary_uncertain == upto:
            found = await self._summary_in_channel(summary, upto)
        if found is None:
            try:
                await self._api(
                    summary,
                    "chat_postMessage",
                    channel=self._channel,
                    text=text,
                    unfurl_links=False,
                    unfurl_media=False,
                    metadata={
                        "event_type": BACKLOG_EVENT_TYPE,
                        "event_payload": {"upto": upto, "cases": count},
                    },
                )
            except LostAnswer as exc:
                self._summary_uncertain = upto
                summary.uncertain += 1
                summary.errors.append(f"historic mail summary: {exc}")
                raise _Stop from None
            except Refused as exc:
                self._refused(summary, "historic mail summary", self._channel, "post", exc.error)
                return
            summary.summaries += 1
            log.info("historic mail summarised: %d cases up to case id %d", count, upto)
        self._summary_uncertain = None
        await threads.db(self._historic_told, upto, now)

    def _historic_untold(self, now: datetime) -> tuple[int, int, str] | None:
        """The historic cases no summary has told yet: (last case id, how many, the summary)."""
        with Session(self._reader) as session:
            marker = session.exec(
                select(AuditEvent)
                .where(AuditEvent.action == repo.HISTORIC_TAKEN)
                .order_by(col(AuditEvent.id).desc())
            ).first()
            if marker is None:
                return None
            upto = int(_detail(marker).get("last_case_id") or 0)
            days = int(_detail(marker).get("backlog_days") or 0)
            rows = session.exec(select(Case.status, repo.overdue(now)).where(*_untold(upto))).all()
        if not rows:
            return None
        still = sum(1 for status, _ in rows if status not in FINISHED)
        late = sum(1 for _, overdue in rows if overdue)  # as everywhere (storage.repo.overdue)
        return upto, len(rows), _historic_text(len(rows), still, late, days, w=self._w)

    def _historic_told(self, upto: int, now: datetime) -> None:
        with Session(self._engine) as session:
            session.execute(update(Case).where(*_untold(upto)).values(slack_synced_at=now))
            session.commit()

    async def _summary_in_channel(self, summary: PostSummary, upto: int) -> str | None:
        """The ts of a summary up to ``upto`` if an earlier post whose answer was lost did land."""
        try:
            response = await self._api(
                summary,
                "conversations_history",
                channel=self._channel,
                include_all_metadata=True,
                limit=200,
            )
        except (LostAnswer, Refused):
            raise _Stop from None
        for message in response.get("messages", []):
            meta = message.get("metadata") or {}
            if meta.get("event_type") == BACKLOG_EVENT_TYPE and str(
                meta.get("event_payload", {}).get("upto")
            ) == str(upto):
                return str(message["ts"])
        return None

    # ---- drafts --------------------------------------------------------------------------

    async def _drafts(self, summary: PostSummary, limit: int) -> None:
        """Drafts waiting for approval, each posted once into its case's thread. (A draft post
        whose answer is lost may be posted twice: harmless, approving either sends one mail.)"""
        for draft_id, case, text, blocks in await threads.db(self._unposted_drafts, limit):
            if self._quiet.get(draft_id, self._clock()) > self._clock():
                continue
            ts = await self._call(
                case,
                summary,
                "chat_postMessage",
                channel=case.slack_channel or self._channel,
                thread_ts=case.slack_ts,
                text=text,
                blocks=blocks,
                unfurl_links=False,
                unfurl_media=False,
            )
            if ts is None:  # this case's thread refused it
                self._quiet[draft_id] = self._clock() + QUIET
                continue
            await threads.db(self._draft_posted, draft_id, ts)
            summary.drafts += 1

    def _unposted_drafts(self, limit: int) -> list[tuple[int, Case, str, list[dict[str, Any]]]]:
        """The drafts not yet in their case's thread: (draft id, case, text, blocks)."""
        with Session(self._reader, expire_on_commit=False) as session:
            rows = session.exec(
                select(Draft, Case)
                .where(Draft.case_id == Case.id)
                .where(Draft.status == "draft", col(Draft.slack_ts).is_(None))
                .where(col(Case.slack_ts).is_not(None))
                .where(
                    or_(col(Case.purged_at).is_(None), col(Draft.created_at) > col(Case.purged_at))
                )
                .order_by(col(Draft.id))
                .limit(limit)
            ).all()
            found = []
            files = repo.draft_files(session, [d.id for d, _ in rows if d.id is not None])
            for draft, case in rows:
                assert draft.id is not None
                shown = draft_view(draft, files[draft.id])
                text, blocks = draft_message(shown, w=self._w, mask_mode=self._mask_mode)
                found.append((draft.id, case, text, blocks))
            return found

    def _draft_posted(self, draft_id: int, ts: str) -> None:
        with Session(self._engine) as session:
            draft = session.get(Draft, draft_id)
            if draft is not None:
                draft.slack_ts = ts
                session.add(draft)
                session.commit()

    # ---- purged cases --------------------------------------------------------------------

    async def _purged(self, summary: PostSummary, limit: int) -> None:
        """Delete the drafts and lines posted in the threads of purged cases, each recorded
        once deleted (a message Slack no longer has counts as deleted)."""
        for kind, row_id, ref, channel, ts in await threads.db(self._purged_posts, limit):
            if self._undeletable.get((kind, row_id), self._clock()) > self._clock():
                continue
            try:
                await self._api(summary, "chat_delete", channel=channel, ts=ts)
            except LostAnswer as exc:  # it may be gone: chat.delete again next pass is harmless
                summary.errors.append(f"{ref}: {exc}")
                raise _Stop from None
            except Refused as exc:
                if exc.error != "message_not_found":
                    self._undeletable[(kind, row_id)] = self._clock() + QUIET
                    self._refused(summary, ref, channel, "chat_delete", exc.error)
                    continue
            await threads.db(self._post_deleted, kind, row_id)
            summary.deleted += 1
        for row_id, audit_id, ref, channel, thread_ts in await threads.db(
            self._purged_unsure, limit
        ):
            # A line whose answer was lost may be in the thread: looked for by its metadata.
            if self._undeletable.get(("unsure", row_id), self._clock()) > self._clock():
                continue
            try:
                found = await self._in_thread(summary, channel, thread_ts, audit_id)
                if found is not None:
                    await self._api(summary, "chat_delete", channel=channel, ts=found)
            except LostAnswer as exc:
                summary.errors.append(f"{ref}: {exc}")
                raise _Stop from None
            except Refused as exc:
                if exc.error not in ("message_not_found", "thread_not_found"):
                    self._undeletable[("unsure", row_id)] = self._clock() + QUIET
                    self._refused(summary, ref, channel, "chat_delete", exc.error)
                    continue
                found = None
            await threads.db(self._post_deleted, "line", row_id)
            summary.deleted += found is not None
        if summary.deleted:
            log.info("%d posts of purged cases deleted from Slack", summary.deleted)

    def _purged_posts(self, limit: int) -> list[tuple[str, int, str, str, str]]:
        """The posts of purged cases still in Slack: (kind, row id, case ref, channel, ts)."""
        found: list[tuple[str, int, str, str, str]] = []
        with Session(self._reader) as session:
            drafts = session.exec(
                select(Draft.id, Draft.slack_ts, Case.ref, Case.slack_channel)
                .join(Case, col(Draft.case_id) == col(Case.id))
                .where(col(Case.purged_at).is_not(None), col(Draft.slack_ts).is_not(None))
                .where(col(Draft.created_at) <= col(Case.purged_at))
                .order_by(col(Draft.id))
                .limit(limit)
            ).all()
            lines = session.exec(
                select(ThreadPost.id, ThreadPost.ts, Case.ref, Case.slack_channel)
                .join(Case, col(ThreadPost.case_id) == col(Case.id))
                .join(AuditEvent, col(AuditEvent.id) == col(ThreadPost.audit_id))
                .where(col(Case.purged_at).is_not(None), col(ThreadPost.ts).is_not(None))
                .where(col(AuditEvent.at) <= col(Case.purged_at))
                .order_by(col(ThreadPost.id))
                .limit(limit)
            ).all()
        for kind, rows in (("draft", drafts), ("line", lines)):
            for row_id, ts, ref, channel in rows:
                assert row_id is not None and ts is not None
                found.append((kind, row_id, ref, channel or self._channel, ts))
        return found

    def _purged_unsure(self, limit: int) -> list[tuple[int, int, str, str, str]]:
        """Lines of purged cases whose post is uncertain: (row id, audit id, ref, channel,
        thread ts)."""
        with Session(self._reader) as session:
            rows = session.execute(
                sa_select(
                    col(ThreadPost.id),
                    col(ThreadPost.audit_id),
                    col(Case.ref),
                    col(Case.slack_channel),
                    col(Case.slack_ts),
                )
                .join(Case, col(ThreadPost.case_id) == col(Case.id))
                .where(col(Case.purged_at).is_not(None), col(Case.slack_ts).is_not(None))
                .where(col(ThreadPost.state) == "uncertain")
                .order_by(col(ThreadPost.id))
                .limit(limit)
            ).all()
        return [
            (row_id, audit_id, ref, channel or self._channel, thread_ts)
            for row_id, audit_id, ref, channel, thread_ts in rows
            if row_id is not None and thread_ts is not None
        ]

    def _post_deleted(self, kind: str, row_id: int) -> None:
        with Session(self._engine) as session:
            if kind == "draft":
                session.execute(update(Draft).where(col(Draft.id) == row_id).values(slack_ts=None))
            else:
                session.execute(
                    update(ThreadPost)
                    .where(col(ThreadPost.id) == row_id)
                    .values(ts=None, state="deleted")
                )
            session.commit()

    # ---- events told in the thread -------------------------------------------------------

    async def _events(self, summary: PostSummary, limit: int) -> None:
        """The events not yet told, oldest first, each posted once into its case's thread.
        Read first, then each post recorded in a short transaction of its own: no database
        lock is held while Slack is asked."""
        for pending in await threads.db(self._pending, limit):
            await self._tell(pending, summary)

    def _pending(self, limit: int) -> list[_Pending]:
        with Session(self._reader) as session:
            rows = session.exec(
                select(AuditEvent, Case, ThreadPost.state)
                .join(Case, col(AuditEvent.case_id) == col(Case.id))
                .outerjoin(ThreadPost, col(ThreadPost.audit_id) == col(AuditEvent.id))
                .where(col(Case.slack_ts).is_not(None))
                .where(col(AuditEvent.action).in_(TOLD))
                .where(or_(col(ThreadPost.id).is_(None), col(ThreadPost.state) == "uncertain"))
                # What happened before a purge is not told after it.
                .where(or_(col(Case.purged_at).is_(None), col(AuditEvent.at) > col(Case.purged_at)))
                .order_by(col(AuditEvent.id))
                .limit(limit)
            ).all()
            linked = {
                _bare(_detail(e).get("message_id"))
                for e, _, _ in rows
                if e.action == "message linked" and _detail(e).get("message_id")
            }
            # A Message-ID may be carried by several mails (issue 16): each case's own.
            follow_ups = {
                (message.message_id, message.case_id): message
                for message in (
                    session.exec(
                        select(MailMessage).where(
                            col(MailMessage.message_id).in_(linked), MailMessage.direction == "in"
                        )
                    ).all()
                    if linked
                    else []
                )
            }
            views = {
                key: follow_up_view(m, self._mask_mode, w=self._w) for key, m in follow_ups.items()
            }
        pending = []
        for event, case, state in rows:
            assert event.id is not None and case.id is not None and case.slack_ts is not None
            detail = _detail(event)
            if detail.get("posted") is True:  # its writer posted it (a reminder): told already
                self._record(event.id, case.id, "posted", None)
                continue
            key = (_bare(detail.get("message_id")), case.id)
            message = follow_ups.get(key)
            subject = from_mail(message.subject if message else "", self._mask_mode)
            told = Told(event.action, event.actor, detail, case.ref, subject, views.get(key))
            channel = case.slack_channel or self._channel
            pending.append(
                _Pending(event.id, case.id, channel, case.slack_ts, state == "uncertain", told)
            )
        return pending

    async def _tell(self, pending: _Pending, summary: PostSummary) -> None:
        ref = pending.told.ref
        if pending.uncertain:
            try:
                found = await self._in_thread(
                    summary, pending.channel, pending.thread_ts, pending.audit_id
                )
            except Refused as exc:
                self._refused(summary, ref, pending.channel, "conversations_replies", exc.error)
                await threads.db(self._record, pending.audit_id, pending.case_id, "failed", None)
                return
            except LostAnswer as exc:
                summary.errors.append(f"{ref}: {exc}")
                raise _Stop from None
            if found is not None:
                await threads.db(self._record, pending.audit_id, pending.case_id, "posted", found)
                summary.found += 1
                return
        try:
            response = await self._api(
                summary,
                "chat_postMessage",
                channel=pending.channel,
                thread_ts=pending.thread_ts,
                text=thread_line(pending.told, w=self._w),
                # the Case file button only where PD_PUBLIC_URL gives it a page to link to
                blocks=thread_blocks(pending.told, w=self._w) if self._case_file else None,
                unfurl_links=False,
                unfurl_media=False,
                metadata={
                    "event_type": THREAD_EVENT_TYPE,
                    "event_payload": {"audit": pending.audit_id},
                },
            )
        except LostAnswer as exc:
            await threads.db(self._record, pending.audit_id, pending.case_id, "uncertain", None)
            summary.uncertain += 1
            summary.errors.append(f"{ref}: {exc}")
            log.warning("%s: Slack did not answer a thread post (%s)", ref, exc)
            raise _Stop from None
        except Refused as exc:
            self._refused(summary, ref, pending.channel, "chat_postMessage", exc.error)
            await threads.db(self._record, pending.audit_id, pending.case_id, "failed", None)
            return
        await threads.db(
            self._record, pending.audit_id, pending.case_id, "posted", str(response["ts"])
        )
        summary.told += 1

    def _record(self, audit_id: int, case_id: int, state: str, ts: str | None) -> None:
        """What became of one event's line: posted (ts), uncertain, or failed."""
        with Session(self._engine) as session:
            post = session.exec(
                select(ThreadPost).where(ThreadPost.audit_id == audit_id)
            ).first() or ThreadPost(audit_id=audit_id, case_id=case_id)
            post.state, post.ts, post.posted_at = state, ts, self._clock()
            session.add(post)
            session.commit()

    def _refused(self, summary: PostSummary, ref: str, channel: str, what: str, error: str) -> None:
        """One case's message or thread refused: logged, and the other cases go on; unless it
        is the desk's own channel that refuses, which every case shares: then the pass ends."""
        log.error("%s: Slack refused %s: %s", ref, what, error)
        if channel == self._channel and error in CHANNEL_ERRORS:
            summary.errors.append(f"{ref}: {error}")
            raise _Stop
        summary.refused.append(f"{ref}: {error}")

    async def _in_thread(
        self, summary: PostSummary, channel: str, thread_ts: str, audit_id: int
    ) -> str | None:
        """The ts of the line telling event ``audit_id`` if an earlier post reached the thread."""
        cursor = None
        for _ in range(REPLY_PAGES):
            response = await self._api(
                summary,
                "conversations_replies",
                channel=channel,
                ts=thread_ts,
                include_all_metadata=True,
                limit=1000,
                **({"cursor": cursor} if cursor else {}),
            )
            for message in response.get("messages", []):
                meta = message.get("metadata") or {}
                if meta.get("event_type") == THREAD_EVENT_TYPE and str(
                    meta.get("event_payload", {}).get("audit")
                ) == str(audit_id):
                    return str(message["ts"])
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        return None

    # ---- the parent message --------------------------------------------------------------

    async def _one(self, ref: str, summary: PostSummary) -> None:
        prepared = await threads.db(self._prepare, ref)
        if prepared is None:
            return
        case, text, blocks = prepared
        if case.slack_ts is None and case.slack_state == "uncertain":
            found = await self._look_for(case, summary)
            if found is not None:
                await threads.db(self._synced, case, found, True)  # it is in the channel
                summary.found += 1
                return
        if case.slack_ts is None:
            ts = await self._call(
                case,
                summary,
                "chat_postMessage",
                channel=self._channel,
                text=text,
                blocks=blocks,
                unfurl_links=False,
                unfurl_media=False,
                metadata={"event_type": EVENT_TYPE, "event_payload": {"ref": case.ref}},
            )
            if ts is None:  # the desk's channel refused a case: staff must fix it
                summary.errors.append(summary.refused.pop())
                raise _Stop
            await threads.db(self._synced, case, ts, True)
            summary.posted += 1
            SLACK_DELAY.observe(max((self._clock() - case.received_at).total_seconds(), 0))
            done = "posted"
        else:
            ts = await self._call(
                case,
                summary,
                "chat_update",
                channel=case.slack_channel or self._channel,
                ts=case.slack_ts,
                text=text,
                blocks=blocks,
            )
            # A message gone or frozen is not tried again until the case changes.
            await threads.db(self._synced, case, case.slack_ts)
            if ts is None:
                return
            summary.updated += 1
            done = "updated"
        log.info("%s: %s in Slack", case.ref, done)

    def _prepare(self, ref: str) -> tuple[Case, str, list[dict[str, Any]]] | None:
        """The case as read now, and its parent message (text, blocks)."""
        with Session(self._reader) as session:
            case = repo.case_by_ref(session, ref)
            if case is None:
                return None
            if case.purged_at is not None:  # a placeholder: nothing of the case is left to show
                text = self._w("thread.purged", ref=case.ref)
                return case, text, [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
            view = self._view(session, case)
        text, blocks = case_message(view, self._clock(), w=self._w, mask_mode=self._mask_mode)
        return case, text, blocks

    def _synced(self, case: Case, ts: str, posted_now: bool = False) -> None:
        """The case's parent message is ``ts``, showing the case as it was read (``posted_now``:
        a message this pass has just posted)."""
        # Not repo.touch: this must not count as a change of the case (updated_at stays).
        posted = {"slack_posted_at": self._clock()} if posted_now else {}
        with Session(self._engine) as session:
            session.execute(
                update(Case)
                .where(col(Case.id) == case.id)
                .values(
                    slack_ts=ts,
                    slack_state="posted",
                    slack_channel=case.slack_channel or self._channel,
                    slack_synced_at=max(self._clock(), case.updated_at),
                    **posted,
                )
            )
            session.commit()

    def _uncertain(self, case: Case) -> None:
        with Session(self._engine) as session:
            session.execute(
                update(Case).where(col(Case.id) == case.id).values(slack_state="uncertain")
            )
            session.commit()

    async def _call(self, case: Case, summary: PostSummary, method: str, **args: Any) -> str | None:
        """Post or update for ``case``: the message's ts, or None when Slack refused (logged;
        the caller weighs it). A lost answer ends the pass (a parent post becomes uncertain)."""
        try:
            response = await self._api(summary, method, **args)
        except LostAnswer as exc:
            await self._lost(case, method, summary, str(exc))
        except Refused as exc:
            self._refused(summary, case.ref, args["channel"], method, exc.error)
            return None
        return str(response["ts"])

    async def _lost(self, case: Case, method: str, summary: PostSummary, why: str) -> NoReturn:
        """The answer is lost: a post may have been made. Remember to look before posting."""
        if method == "chat_postMessage" and case.slack_ts is None:
            await threads.db(self._uncertain, case)
            summary.uncertain += 1
        summary.errors.append(f"{case.ref}: {why}")
        log.warning("%s: Slack did not answer %s (%s)", case.ref, method, why)
        raise _Stop

    async def _look_for(self, case: Case, summary: PostSummary) -> str | None:
        """The ts of this case's parent message if an earlier post did reach the channel."""
        oldest = (case.created_at - LOOK_BACK).timestamp()
        try:
            response = await self._api(
                summary,
                "conversations_history",
                channel=self._channel,
                oldest=f"{oldest:.6f}",
                include_all_metadata=True,
                limit=200,
            )
        except (LostAnswer, Refused):
            raise _Stop from None
        messages: list[dict[str, Any]] = response.get("messages", [])
        for message in messages:
            meta = message.get("metadata") or {}
            if (
                meta.get("event_type") == EVENT_TYPE
                and meta.get("event_payload", {}).get("ref") == case.ref
            ):
                return str(message["ts"])
        return None

    def _view(self, session: Session, case: Case) -> CaseView:
        assert case.id is not None
        first = session.exec(
            select(MailMessage)
            .where(MailMessage.case_id == case.id, MailMessage.direction == "in")
            .order_by(col(MailMessage.id))
        ).first()
        excerpt, reasons = "", {}
        if first is not None:
            reasons = {k: tuple(v) for k, v in first.classification.get("reasons", {}).items()}
            if first.raw is not None and first.disposition != "quarantined":
                try:
                    # redacted before the cut, so no number is cut in half and half shown
                    newest = parse_message(first.raw).newest_text[: EXCERPT * 20]
                    excerpt = from_mail(newest, self._mask_mode)[:EXCERPT]
                except ParseError:
                    excerpt = ""
        return CaseView(
            ref=case.ref,
            status=case.status,
            kind=case.kind,
            intents=tuple(case.intents),
            language=case.language,
            requester=case.requester,
            received_at=case.received_at,
            answer_due=case.answer_due,
            excerpt=excerpt,
            assignee=case.assignee,
            verified=case.verified_at is not None,
            needs_triage=case.needs_triage,
            triage_due=case.triage_due,
            flags=tuple(case.flags),
            reasons=reasons,
            history=tuple((c.ref, c.status) for c in repo.requester_history(session, case)),
            jurisdiction=case.jurisdiction,
            extendable=may_extend(session, case, self._rules, self._clock()),
            case_file=self._case_file,
        )
