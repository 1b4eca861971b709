"""Puts every case in the Slack channel, once, and keeps its parent message up to date.

Slack being slow, down or rate-limiting never touches intake: cases are taken in whatever
happens here, and this loop works from the database. A case remembers its parent message
(``slack_ts``). A post whose answer was lost (a 5xx, a timeout, a dropped connection) may have
been made all the same, so it is never simply retried: the case becomes ``uncertain`` and the
channel's recent history is searched for the message's metadata (the case reference) before
anything is posted again. A 429 is honoured: the pass stops and says how long to wait.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

from aiohttp import ClientError
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine
from sqlmodel import Session, col, or_, select

from bot.slack.blocks import CaseView, case_message, draft_message, draft_view
from mail.errors import ParseError
from mail.parse import parse_message
from storage import repo
from storage.db import writer
from storage.models import Case, Draft, MailMessage

log = logging.getLogger("privacy_desk.slack")

EVENT_TYPE = "privacy_desk_case"
EXCERPT = 600  # characters of the newest text shown in the channel
LOOK_BACK = timedelta(hours=1)  # how far before the case's creation an uncertain post is sought

Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class PostSummary:
    posted: int = 0
    updated: int = 0
    drafts: int = 0  # drafts posted into case threads
    found: int = 0  # uncertain posts found in the channel, not posted again
    uncertain: int = 0
    retry_after: float | None = None  # Slack asked us to wait this long
    errors: list[str] = field(default_factory=list)


class _Stop(Exception):
    """End the pass: Slack is rate-limiting, down, or refusing us for a reason staff must fix."""


def _rate_limited(exc: SlackApiError, summary: PostSummary) -> NoReturn:
    """Slack said 429: this pass ends, and the loop waits as long as Slack asked."""
    summary.retry_after = float(exc.response.headers.get("Retry-After", 1))
    log.warning("Slack rate limit: waiting %.0f s", summary.retry_after)
    raise _Stop from None


class CasePoster:
    def __init__(
        self,
        engine: Engine,
        client: AsyncWebClient,
        channel: str,
        *,
        clock: Clock = _now,
        mask_mode: str = "partial",
    ) -> None:
        self._engine = writer(engine)
        self._client = client
        self._channel = channel
        self._clock = clock
        self._mask_mode = mask_mode

    def run(self, stop: threading.Event, *, every: float = 2.0, max_backoff: float = 300.0) -> None:
        """Keep the channel in step with the cases until ``stop`` (``privacy-desk serve``):
        every ``every`` seconds, after a 429 as long as Slack asked, after failures longer."""
        delay = every
        while not stop.is_set():
            try:
                summary = asyncio.run(self.run_once())
                if summary.retry_after:
                    delay = summary.retry_after
                elif summary.errors:
                    delay = min(delay * 2, max_backoff)
                else:
                    delay = every
            except Exception as exc:  # the database failed: wait, then start over
                log.error("Slack pass failed (%s); retrying", type(exc).__name__)
                delay = min(delay * 2, max_backoff)
            stop.wait(delay)

    async def run_once(self, *, limit: int = 200) -> PostSummary:
        """Post the cases not yet in the channel and update those that changed."""
        summary = PostSummary()
        with Session(self._engine) as session:
            refs = list(
                session.exec(
                    select(Case.ref)
                    .where(
                        or_(
                            col(Case.slack_ts).is_(None),
                            col(Case.slack_synced_at).is_(None),
                            col(Case.updated_at) > col(Case.slack_synced_at),
                        )
                    )
                    .order_by(col(Case.id))
                    .limit(limit)
                )
            )
        try:
            for ref in refs:
                await self._one(ref, summary)
            await self._drafts(summary, limit)
        except _Stop:
            pass
        return summary

    async def _drafts(self, summary: PostSummary, limit: int) -> None:
        """Drafts waiting for approval, each posted once into its case's thread. (A draft post
        whose answer is lost may be posted twice: harmless, approving either sends one mail.)"""
        with Session(self._engine) as session:
            rows = session.exec(
                select(Draft, Case)
                .where(Draft.case_id == Case.id)
                .where(Draft.status == "draft", col(Draft.slack_ts).is_(None))
                .where(col(Case.slack_ts).is_not(None))
                .order_by(col(Draft.id))
                .limit(limit)
            ).all()
            for draft, case in rows:
                text, blocks = draft_message(draft_view(draft))
                ts = await self._call(
                    session,
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
                draft.slack_ts = ts
                session.add(draft)
                session.commit()
                summary.drafts += 1

    async def _one(self, ref: str, summary: PostSummary) -> None:
        with Session(self._engine, expire_on_commit=False) as session:
            case = repo.case_by_ref(session, ref)
            if case is None:
                return
            text, blocks = case_message(
                self._view(session, case), self._clock(), mask_mode=self._mask_mode
            )
            if case.slack_ts is None and case.slack_state == "uncertain":
                found = await self._look_for(case, summary)
                if found is not None:
                    self._synced(session, case, found, "posted")
                    summary.found += 1
                    session.commit()
                    return
            if case.slack_ts is None:
                ts = await self._call(
                    session,
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
                self._synced(session, case, ts, "posted")
                summary.posted += 1
                done = "posted"
            else:
                await self._call(
                    session,
                    case,
                    summary,
                    "chat_update",
                    channel=case.slack_channel or self._channel,
                    ts=case.slack_ts,
                    text=text,
                    blocks=blocks,
                )
                self._synced(session, case, case.slack_ts, "posted")
                summary.updated += 1
                done = "updated"
            session.commit()
            log.info("%s: %s in Slack", case.ref, done)

    def _synced(self, session: Session, case: Case, ts: str, state: str) -> None:
        # Not repo.touch: this must not count as a change of the case (updated_at stays).
        case.slack_ts, case.slack_state = ts, state
        case.slack_channel = case.slack_channel or self._channel
        case.slack_synced_at = max(self._clock(), case.updated_at)
        session.add(case)

    async def _call(
        self, session: Session, case: Case, summary: PostSummary, method: str, **args: Any
    ) -> str:
        try:
            response = await getattr(self._client, method)(**args)
        except SlackApiError as exc:
            status = exc.response.status_code
            if status == 429:
                _rate_limited(exc, summary)
            if status >= 500:
                self._lost(session, case, method, summary, f"HTTP {status}")
            error = str(exc.response.get("error", "error"))
            summary.errors.append(f"{case.ref}: {error}")
            log.error("%s: Slack refused %s: %s", case.ref, method, error)
            raise _Stop from None
        except (TimeoutError, ClientError, OSError) as exc:
            self._lost(session, case, method, summary, type(exc).__name__)
        return str(response["ts"])

    def _lost(
        self, session: Session, case: Case, method: str, summary: PostSummary, why: str
    ) -> None:
        """The answer is lost: a post may have been made. Remember to look before posting."""
        if method == "chat_postMessage" and case.slack_ts is None:
            case.slack_state = "uncertain"
            session.add(case)
            session.commit()
            summary.uncertain += 1
        summary.errors.append(f"{case.ref}: {why}")
        log.warning("%s: Slack did not answer %s (%s)", case.ref, method, why)
        raise _Stop

    async def _look_for(self, case: Case, summary: PostSummary) -> str | None:
        """The ts of this case's parent message if an earlier post did reach the channel."""
        oldest = (case.created_at - LOOK_BACK).timestamp()
        try:
            response = await self._client.conversations_history(
                channel=self._channel, oldest=f"{oldest:.6f}", include_all_metadata=True, limit=200
            )
        except SlackApiError as exc:
            if exc.response.status_code == 429:
                _rate_limited(exc, summary)
            raise _Stop from None
        except (TimeoutError, ClientError, OSError):
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
                    excerpt = parse_message(first.raw).newest_text[:EXCERPT]
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
            flags=tuple(case.flags),
            reasons=reasons,
        )
