"""Who is staff (DESIGN rule 8), asked of Slack at every request, and the gate that answers anyone
else with a short refusal and nothing about any case.

Staff are the approvers (``PD_APPROVERS``), ``PD_STAFF`` (Slack user and user-group IDs) and the
members of the case channel (``PD_SLACK_CHANNEL``). Nothing is cached: every request asks Slack
again (``conversations.members`` for the channel, ``usergroups.users.list`` for groups), so a
person removed from the channel or a group loses access with their next click. When Slack cannot
be asked, the answer is no (the person is told to try again; nothing is shown).

``guard(app, staff, engine, w=...)`` puts the gate in front of every listener of a bolt app: the slash
command, the App Home, every button and every modal submission. A refusal is recorded as an audit
event of no case (``not staff``, the Slack user ID and what was asked: the command, the action
or the form, never what was typed), and the Home of a refused user is replaced by the refusal, so
nothing published earlier stays there. Messages in the case channel pass: only its members can
write there, and a note discloses nothing to its writer. The refusals are in the staff language
(``[staff]`` of ``bot.words``).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient
from sqlalchemy import Engine
from sqlmodel import Session

from bot import threads
from bot.slack.api import LostAnswer, RateLimited, SlackAPI, SlackError, TokenProblem
from bot.slack.ids import is_group_id, is_user_id
from bot.words import Words
from storage import repo
from storage.db import writer

log = logging.getLogger("privacy_desk.slack")

AUDIT_ACTION = "not staff"
MEMBER_PAGES = 50  # conversations.members pages of 1000 members: channels up to 50,000 people


class Verdict(enum.Enum):
    STAFF = "staff"
    NOT_STAFF = "not staff"
    UNKNOWN = "unknown"  # Slack could not be asked: refused, and told to try again


class Staff:
    """Whether a Slack user is staff: listed, in a listed group, or in the case channel."""

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        channel: str,
        approvers: tuple[str, ...] = (),
        staff: tuple[str, ...] = (),
    ) -> None:
        self._api = SlackAPI(client)
        self.channel = channel
        listed = (*approvers, *staff)
        self._users = frozenset(i for i in listed if is_user_id(i))
        self._groups = tuple(dict.fromkeys(i for i in listed if is_group_id(i)))

    async def check(self, user: str) -> Verdict:
        """Ask now (no cache): a removed member is no longer staff at their next request."""
        if not is_user_id(user):
            return Verdict.NOT_STAFF
        if user in self._users:
            return Verdict.STAFF
        unsure = False
        try:
            if await self._in_channel(user):
                return Verdict.STAFF
        except SlackError as exc:
            log.warning("members of the case channel not readable: %s", exc.error)
            unsure = True
        for group in self._groups:
            try:
                answer = await self._api.call("usergroups_users_list", usergroup=group)
            except SlackError as exc:
                log.warning("user group %s not readable: %s", group, exc.error)
                unsure = True
                continue
            if user in (answer.get("users") or []):
                return Verdict.STAFF
        return Verdict.UNKNOWN if unsure else Verdict.NOT_STAFF

    async def is_staff(self, user: str) -> bool:
        return await self.check(user) is Verdict.STAFF

    async def _in_channel(self, user: str) -> bool:
        cursor = ""
        for _ in range(MEMBER_PAGES):
            more = {"cursor": cursor} if cursor else {}
            answer = await self._api.call(
                "conversations_members", channel=self.channel, limit=1000, **more
            )
            if user in (answer.get("members") or []):
                return True
            cursor = str((answer.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                return False
        log.warning("case channel has more than %d pages of members", MEMBER_PAGES)
        return False


_GUARDED: weakref.WeakSet[AsyncApp] = weakref.WeakSet()
_PENDING: set[asyncio.Task[None]] = set()  # refusals being told; kept from the collector


def guard(app: AsyncApp, staff: Staff, engine: Engine, *, w: Words) -> None:
    """Answer only staff on ``app`` (once per app, whoever calls first), refusing in ``w``."""
    if app in _GUARDED:
        return
    _GUARDED.add(app)
    engine = writer(engine)

    async def staff_only(
        body: dict[str, Any],
        context: AsyncBoltContext,
        client: AsyncWebClient,
        next: Callable[[], Awaitable[None]],
    ) -> BoltResponse | None:
        kind, what = _asked(body)
        if kind in ("", "message"):  # url checks, the channel's own messages
            await next()
            return None
        user = str(context.user_id or "")
        verdict = await staff.check(user)
        if verdict is Verdict.STAFF:
            await next()
            return None
        said = w("staff.unsure" if verdict is Verdict.UNKNOWN else "staff.refused")
        log.warning("refused %s of %s: %s", what, user or "an unknown user", verdict.value)
        _later(_refuse(engine, client, body, kind, what, user, said, staff.channel))
        if kind == "command":
            return BoltResponse(status=200, body={"response_type": "ephemeral", "text": said})
        if kind == "view_submission":
            modal = _refusal_modal(said, w=w)
            return BoltResponse(status=200, body={"response_action": "update", "view": modal})
        return BoltResponse(status=200, body="")

    app.middleware(staff_only)


def _later(work: Awaitable[None]) -> None:
    task = asyncio.ensure_future(work)
    _PENDING.add(task)
    task.add_done_callback(_PENDING.discard)


def _asked(body: dict[str, Any]) -> tuple[str, str]:
    """(kind of request, what was asked: a command, an action or form id, an event type)."""
    if "command" in body:
        return "command", str(body.get("command") or "")[:40]
    kind = str(body.get("type") or "")
    if kind == "event_callback":
        event = body.get("event") or {}
        name = str(event.get("type") or "")
        return ("message" if name == "message" else f"event:{name}"), name[:40]
    if kind == "block_actions":
        actions = body.get("actions") or [{}]
        return kind, str(actions[0].get("action_id") or "")[:40]
    if kind in ("view_submission", "view_closed"):
        return kind, str((body.get("view") or {}).get("callback_id") or "")[:40]
    if kind in ("url_verification", "ssl_check", ""):
        return "", kind
    return kind, kind[:40]


async def _refuse(
    engine: Engine,
    client: AsyncWebClient,
    body: dict[str, Any],
    kind: str,
    what: str,
    user: str,
    said: str,
    channel: str,
) -> None:
    """Record the refusal and tell it where the request came from."""
    try:
        await threads.db(_record, engine, user, kind, what)
    except Exception as exc:  # the database: the refusal stands, logged with the user ID only
        log.error("refusal of %s not recorded: %s", user, type(exc).__name__)
    if kind == "event:app_home_opened":  # replaces whatever the Home showed before
        await publish_home(client, user, _refusal_home(said))
    elif kind == "block_actions":
        try:
            await _tell(SlackAPI(client), body, user, said, channel)
        except SlackError as exc:
            log.warning("refusal not shown to %s: %s", user, exc.error)


async def publish_home(client: AsyncWebClient, user: str, view: dict[str, Any]) -> None:
    """``views.publish`` of ``user``'s Home; a failure is logged by its name only."""
    try:
        await SlackAPI(client).call("views_publish", user_id=user, view=view)
    except RateLimited as exc:
        log.warning("App Home not published: %s (retry after %.0f s)", exc.error, exc.retry_after)
    except LostAnswer as exc:
        log.warning("App Home not published: Slack unreachable (%s)", exc.error)
    except TokenProblem as exc:
        log.error("App Home not published: Slack refused the desk's token: %s", exc.error)
    except SlackError as exc:
        log.warning("App Home not published: %s", exc.error)


async def _tell(api: SlackAPI, body: dict[str, Any], user: str, said: str, channel: str) -> None:
    """An ephemeral answer to a click: through its response URL (which reaches a person no
    longer in the channel), else in the channel."""
    url = str(body.get("response_url") or "")
    if url:
        try:
            sent = await AsyncWebhookClient(url).send(
                text=said, response_type="ephemeral", replace_original=False
            )
            if sent.status_code == 200:
                return
            log.warning("refusal not sent to the response URL: HTTP %s", sent.status_code)
        except Exception as exc:  # an unreachable hook: try the channel
            log.warning("refusal not sent to the response URL: %s", type(exc).__name__)
    where = (body.get("container") or {}).get("channel_id") or channel
    await api.call("chat_postEphemeral", channel=where, user=user, text=said)


def _record(engine: Engine, user: str, kind: str, what: str) -> None:
    with Session(engine) as session:
        repo.audit(session, None, user[:64] or "unknown", AUDIT_ACTION, kind=kind, asked=what)
        session.commit()


def _refusal_home(said: str) -> dict[str, Any]:
    return {
        "type": "home",
        "blocks": [{"type": "section", "text": {"type": "plain_text", "text": said}}],
    }


def _refusal_modal(said: str, *, w: Words) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": w("staff.title")},
        "close": {"type": "plain_text", "text": w("staff.close")},
        "blocks": [{"type": "section", "text": {"type": "plain_text", "text": said}}],
    }
