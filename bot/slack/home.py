"""``/privacy`` and the App Home: what staff ask of the desk in Slack, answered from the database.

Read-only, and for staff only (``bot.slack.staff``: anyone else is refused before any of this
runs). The slash command answers only the caller (an ephemeral response): in its ack when
the answer is ready within ``ack_budget`` (Slack allows 3 s), otherwise a short "looking" ack
and the answer through the command's ``response_url``. The App Home is published for the user
who opens it: their cases, overdue cases, cases due in the next 3 days, and cases with a draft
waiting for approval. Every list is bounded ("and K more"), text from mail is escaped and
clipped, requesters are masked as the operator configured, and a failure is logged with no
personal data (the error's name, never the search text or an address). Every text is in the
staff language (``[home]`` of ``bot.words``).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from aiohttp import ClientError
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine
from sqlmodel import Session

from bot import threads
from bot.replies import status_text
from bot.slack.api import SlackAPI, SlackError
from bot.slack.blocks import (
    HEADER_TEXT,
    SECTION_TEXT,
    clip,
    escape,
    mask,
    said,
    time_left,
)
from bot.slack.ids import is_user_id
from bot.slack.staff import Staff, guard, publish_home
from bot.words import Words
from handlers.clock import TOKYO, Clock, now
from handlers.status import FINISHED
from storage import views
from storage.db import WRITER
from storage.models import Case
from storage.search import QueryError

T = TypeVar("T")

log = logging.getLogger("privacy_desk.slack")

COMMAND = "/privacy"
ACK_BUDGET = 2.0  # seconds to find the answer before acking without it (Slack allows 3)
LINES = 20  # cases in one command answer
HOME_LINES = 10  # cases in one App Home section
EVENTS = 5  # audit events in `/privacy case`
SOON = timedelta(days=3)
MAX_VIEW_BLOCKS = 100
SUBJECT_SHOWN = 80  # characters of a mail subject in a line

_REF = re.compile(r"PD-\d{4}-\d{6}", re.IGNORECASE)
_LINK = re.compile(r"<(?:mailto:)?([^<>|]*)(?:\|([^<>]*))?>")  # how Slack may send an address

Answer = Callable[[str, str, AsyncWebClient], Awaitable[str]]


def register(
    app: AsyncApp,
    engine: Engine,
    *,
    staff: Staff,
    w: Words,
    mask_mode: str = "partial",
    clock: Clock = now,
    ack_budget: float = ACK_BUDGET,
) -> None:
    """Add the ``/privacy`` command and the App Home to ``app``, behind the staff gate; staff
    read them in ``w``."""
    guard(app, staff, engine, w=w)  # a no-op when the app is guarded already
    # Only reads: on SQLite a writer engine's BEGIN IMMEDIATE would queue behind intake.
    desk = _Desk(engine.execution_options(**{WRITER: False}), mask_mode, clock, w)

    @app.command(COMMAND)
    async def privacy(
        ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        work = asyncio.ensure_future(
            desk.answer(str(command.get("text") or ""), str(command.get("user_id") or ""), client)
        )
        try:
            text = await asyncio.wait_for(asyncio.shield(work), ack_budget)
        except TimeoutError:
            await ack(text=w("home.looking"), response_type="ephemeral")
            text = await work
            try:
                await respond(text=text, response_type="ephemeral")
            except (ClientError, TimeoutError) as exc:
                log.warning("%s answer not delivered: %s", COMMAND, type(exc).__name__)
            return
        await ack(text=text, response_type="ephemeral")

    @app.event("app_home_opened")
    async def home(event: dict[str, Any], client: AsyncWebClient) -> None:
        user = str(event.get("user") or "")
        if event.get("tab") != "home" or not user:
            return
        try:
            view = await threads.db(desk.home, user)
        except Exception as exc:  # the database: never raise out of an event handler
            log.error("App Home not built: %s", type(exc).__name__)
            return
        await publish_home(client, user, view)


class _Desk:
    """The answers, from a read-only engine; queries run in the ``pd-db`` threads (``bot.threads``)."""

    def __init__(self, engine: Engine, mask_mode: str, clock: Clock, w: Words) -> None:
        self._engine = engine
        self._mask_mode = mask_mode
        self._clock = clock
        self._w = w
        self._verbs: dict[str, Answer] = {
            "open": self._open,
            "overdue": self._overdue,
            "mine": self._mine,
            "case": self._case,
            "search": self._search,
        }

    def _usage(self, which: str = "usage") -> str:
        return self._w(f"home.{which}", command=COMMAND)

    async def answer(self, text: str, user: str, client: AsyncWebClient) -> str:
        w = self._w
        verb, _, rest = text.strip().partition(" ")
        if verb.lower() in ("", "help"):
            return self._usage()
        found = self._verbs.get(verb.lower())
        if found is None:
            return w("home.unknown", verb=_echo(verb, w=w), usage=self._usage())
        try:
            return await found(rest.strip(), user, client)
        except Exception as exc:  # the database, mostly: the caller is told, nothing is raised
            log.error("%s %s failed: %s", COMMAND, verb.lower(), type(exc).__name__)
            return w("home.failed")

    # ---- the subcommands --------------------------------------------------------------------

    async def _open(self, rest: str, user: str, client: AsyncWebClient) -> str:
        page = await self._read(lambda s: views.open_cases(s, limit=LINES))
        return self._listing(self._w("home.open"), page, self._w("home.open_none"))

    async def _overdue(self, rest: str, user: str, client: AsyncWebClient) -> str:
        now = self._clock()
        page = await self._read(lambda s: views.overdue(s, now, limit=LINES))
        return self._listing(self._w("home.overdue"), page, self._w("home.overdue_none"))

    async def _mine(self, rest: str, user: str, client: AsyncWebClient) -> str:
        page = await self._read(lambda s: views.assigned_to(s, user, limit=LINES))
        return self._listing(self._w("home.mine"), page, self._w("home.mine_none"))

    async def _search(self, rest: str, user: str, client: AsyncWebClient) -> str:
        w, text = self._w, _typed(rest)
        if not text:
            return self._usage("search_usage")
        try:
            page = await self._read(lambda s: views.search(s, text, limit=LINES))
        except QueryError:  # what is typed is never empty here: the text is too short
            return w("home.search_short", usage=self._usage("search_usage"))
        title = w("home.matching", text=_echo(text, w=w))
        return self._listing(title, page, w("home.matching_none"), subjects=True)

    async def _case(self, rest: str, user: str, client: AsyncWebClient) -> str:
        if not rest:
            return self._usage("case_usage")
        if not _REF.fullmatch(rest):
            return self._w(
                "home.not_a_ref", text=_echo(rest, w=self._w), usage=self._usage("case_usage")
            )
        ref = rest.upper()
        found = await self._read(lambda s: views.case_summary(s, ref, events=EVENTS))
        if found is None:
            return self._w("home.no_case", ref=ref)
        return self._summary(found, await _thread_link(client, found.case, w=self._w))

    # ---- the App Home -----------------------------------------------------------------------

    def home(self, user: str) -> dict[str, Any]:
        now, w = self._clock(), self._w
        with Session(self._engine) as session:
            sections = [
                (
                    w("home.my_cases"),
                    views.assigned_to(session, user, limit=HOME_LINES),
                    w("home.mine_none"),
                ),
                (
                    w("home.overdue"),
                    views.overdue(session, now, limit=HOME_LINES),
                    w("home.overdue_none"),
                ),
                (
                    w("home.soon", days=SOON.days),
                    views.due_between(session, now, now + SOON, limit=HOME_LINES),
                    w("home.soon_none", days=SOON.days),
                ),
                (
                    w("home.approval"),
                    views.awaiting_approval(session, limit=HOME_LINES),
                    w("home.approval_none"),
                ),
            ]
        blocks: list[dict[str, Any]] = [
            _header(w("home.title"), w=w),
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": w("home.as_of", time=_time(now), command=COMMAND)}
                ],
            },
        ]
        for title, page, empty in sections:
            blocks += [
                {"type": "divider"},
                _header(w("home.count", title=title, count=page.total), w=w),
                _section(self._lines(page, now, empty), w=w),
            ]
        return {"type": "home", "blocks": blocks[:MAX_VIEW_BLOCKS]}

    # ---- formatting -------------------------------------------------------------------------

    async def _read(self, query: Callable[[Session], T]) -> T:
        def run() -> T:
            with Session(self._engine) as session:
                return query(session)

        return await threads.db(run)

    def _listing(self, title: str, page: views.Page, empty: str, *, subjects: bool = False) -> str:
        # a search that matched more than it ranked says its total is a floor
        key = "home.count_capped" if page.capped else "home.count"
        heading = self._w(key, title=f"*{title}*", count=page.total)
        return f"{heading}\n" + self._lines(page, self._clock(), empty, subjects=subjects)

    def _lines(self, page: views.Page, now: datetime, empty: str, *, subjects: bool = False) -> str:
        if not page.cases:
            return f"_{empty}_"
        lines = []
        for case in page.cases:
            assert case.id is not None
            late = case.id in page.late_paused
            line = self._line(case, now, page.drafts_waiting.get(case.id, 0), late_paused=late)
            subject = page.subjects.get(case.id, "")
            if subjects and subject:
                line += f" — “{escape(clip(subject, SUBJECT_SHOWN, w=self._w))}”"
            lines.append(line)
        # the header line of a command answer takes ~60 characters of the section
        return _fit(lines, page.total, SECTION_TEXT - 100, w=self._w)

    def _line(self, case: Case, now: datetime, waiting: int, *, late_paused: bool = False) -> str:
        w = self._w
        parts = [
            f"*{escape(case.ref)}*",
            escape(_intents(case, w=w)),
            _due(case, now, late_paused=late_paused, w=w),
            escape(status_text(case.status, w=w)),
            escape(mask(case.requester, self._mask_mode, w=w)),
        ]
        if case.assignee:
            parts.append(_who(case.assignee))
        if waiting:
            parts.append(
                w("home.drafts_waiting" if waiting > 1 else "home.draft_waiting", count=waiting)
            )
        return "• " + " · ".join(parts)

    def _summary(self, found: views.CaseSummary, thread: str) -> str:
        case, now, w = found.case, self._clock(), self._w

        def field(label: str, value: str) -> str:
            return w("home.field", label=w(f"home.{label}"), value=value)

        if found.drafts:
            drafts = ", ".join(
                w("home.draft", draft=d.id, template=escape(d.template), revision=d.revision)
                for d in found.drafts[:5]
            )
            more = len(found.drafts) - 5
            if more > 0:
                drafts = w("home.and_more", drafts=drafts, more=more)
        else:
            drafts = w("home.no_draft")
        lines = [
            f"*{escape(case.ref)}* · {escape(status_text(case.status, w=w))}",
            field("intents", escape(_intents(case, w=w))),
            field("requester", escape(mask(case.requester, self._mask_mode, w=w))),
            field("subject", escape(clip(found.subject, SUBJECT_SHOWN * 2, w=w)) or "-"),
            field("received", _time(case.received_at)),
            field("due_label", _deadline(case, now, w=w)),
            field("assignee", _who(case.assignee) if case.assignee else w("home.nobody")),
            field("waiting", drafts),
            field("thread", thread),
        ]
        if found.events:
            lines.append(w("home.field", label=w("home.events"), value="").rstrip())
            lines += [
                f"• {_time(e.at)} · {_who(e.actor)} · "
                + escape(clip(said(w, f"event.{e.action}", e.action), 80, w=w))
                for e in found.events
            ]
        return clip("\n".join(lines), SECTION_TEXT, w=w)


async def _thread_link(client: AsyncWebClient, case: Case, *, w: Words) -> str:
    """A link to the case's thread (``chat.getPermalink``), or where it is, or why there is none."""
    if not case.slack_ts or not case.slack_channel:
        return w("home.not_posted")
    channel = case.slack_channel
    where = f"<#{channel}>" if _CHANNEL_ID.fullmatch(channel) else w("home.the_channel")
    try:
        found = await SlackAPI(client).call(
            "chat_getPermalink", channel=case.slack_channel, message_ts=case.slack_ts
        )
    except SlackError as exc:
        log.warning("no permalink for %s: %s", case.ref, exc.error)
        return w("home.in_channel", where=where)
    link = str(found.get("permalink") or "")
    if not link.startswith("https://"):
        return w("home.in_channel", where=where)
    return w("home.open_thread", link=link, where=where)


_CHANNEL_ID = re.compile(r"[A-Z][A-Z0-9]{2,31}")


def _who(actor: str) -> str:
    """A Slack user ID as a mention (it pings no one in an ephemeral answer or a Home tab)."""
    return f"<@{actor}>" if is_user_id(actor) else escape(actor)


def _intents(case: Case, *, w: Words) -> str:
    return ", ".join(w(f"intent.{i}") if f"intent.{i}" in w else i for i in case.intents) or w(
        "home.no_intent"
    )


def _time(value: datetime) -> str:
    return value.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M JST")


def _due(case: Case, now: datetime, *, w: Words, late_paused: bool = False) -> str:
    """The case's deadline in a listing line: ``due`` and when, or why there is none."""
    if case.answer_due is None:
        return _deadline(case, now, w=w, late_paused=late_paused)
    return w("home.due", when=_deadline(case, now, w=w))


def _deadline(case: Case, now: datetime, *, w: Words, late_paused: bool = False) -> str:
    if case.answer_due is None and late_paused:
        return w("home.late_paused")
    if case.answer_due is None:
        return w("home.paused" if case.status not in FINISHED else "home.no_deadline")
    return w("home.when", time=_time(case.answer_due), left=time_left(case.answer_due, now, w=w))


def _fit(lines: list[str], total: int, budget: int, *, w: Words) -> str:
    """As many whole lines as fit in ``budget`` characters, then how many were left out."""
    shown: list[str] = []
    size = 0
    for line in lines:
        line = clip(line, budget // 2, w=w)
        if size + len(line) + 1 > budget - 40:  # room for the "and K more" line
            break
        shown.append(line)
        size += len(line) + 1
    more = total - len(shown)
    return "\n".join(shown) + (f"\n_{w('home.more', more=more)}_" if more > 0 else "")


def _typed(text: str) -> str:
    """What the user typed: Slack may send an address as ``<mailto:a@b|a@b>`` and ``&<>`` as
    entities."""
    text = _LINK.sub(lambda m: m[2] or m[1], text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()


def _echo(text: str, *, w: Words) -> str:
    """The user's own words, said back inside backticks: short, escaped."""
    return escape(clip(text.replace("`", "'"), 60, w=w))


def _header(text: str, *, w: Words) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": clip(text, HEADER_TEXT, w=w)}}


def _section(text: str, *, w: Words) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, SECTION_TEXT, w=w)}}
