"""A local double of the Slack Web API, and builders for what Slack sends to an app, for tests.

``SlackDouble`` is an aiohttp application on 127.0.0.1 (port chosen by the OS) that answers the
Web API methods the desk uses the way slack.com does: ``{"ok": true, ...}`` or
``{"ok": false, "error": "..."}`` with HTTP 200, form-encoded, JSON and query-string arguments,
the token from ``Authorization: Bearer`` (or a ``token`` form/query field, never a JSON one),
the token's scopes (the manifest's by default; ``missing_scope`` with ``needed`` and ``provided``
as Slack answers, per the table ``SCOPES``), Block Kit limits, single-use trigger ids that expire after 3 seconds, HTTP 429 with
``Retry-After``. It keeps its state in memory, records every call, and injects faults per method.
It runs on a thread of its own, so sync and async tests use it alike::

    with SlackDouble() as slack:
        client = AsyncWebClient(token=slack.bot_token, base_url=slack.base_url)

Where Slack's documentation is silent the double follows what Slack was seen to do, and says so:
a ``thread_ts`` naming no message posts to the channel itself; ``chat.update`` keeps the blocks
(and text) it is not given.

Socket Mode: ``apps.connections.open`` (only with the app-level token, ``slack.app_token``)
answers a ``ws://127.0.0.1:<port>/link/?ticket=...`` URL, each ticket good for one connection.
The WebSocket greets with ``hello``; a test pushes envelopes with ``push`` (``interactive``,
``slash_commands``, ``events_api``), reads the app's acks with ``acks()``, and sends Slack's
``disconnect`` with ``disconnect_sockets()``, after which the app is expected to open a new
connection (the double leaves closing the old one to the app, as Slack allows it a few seconds).

The module-level functions build and sign the requests Slack sends to the app
(``block_actions``, ``view_submission``, slash commands, ``event_callback``,
``url_verification``) so a test can hand them to ``AsyncApp.async_dispatch``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import secrets
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

TEAM_ID = "T0DESK0001"
APP_ID = "A0DESK0001"
BOT_USER_ID = "U0DESKBOT1"
BOT_ID = "B0DESKBOT1"
BOT_TOKEN = "xoxb-0000-desk-double"
APP_TOKEN = "xapp-1-A0DESK0001-1-double"  # app-level: Socket Mode (connections:write)
APP_LEVEL_METHODS = frozenset({"apps.connections.open"})  # the ones that take only an xapp token
CHANNEL_ID = "C0DESK0001"  # the case channel; the bot is a member
TRIGGER_TTL = 3.0  # seconds, as Slack's

MAX_TEXT = 40_000
MAX_MESSAGE_BLOCKS = 50
MAX_SURFACE_BLOCKS = 100  # modals and App Home
KNOWN_BLOCKS = frozenset(
    {
        "actions",
        "context",
        "divider",
        "file",
        "header",
        "image",
        "input",
        "markdown",
        "rich_text",
        "section",
        "table",
        "video",
    }
)

JsonObject = dict[str, Any]

MANIFEST = Path(__file__).resolve().parents[1] / "slack_app_manifest.yaml"
# The bot scope Slack's documentation asks of each Web API method the double serves (the
# method pages of docs.slack.dev, as in slackapi/slack-api-specs): a scope, (the scope for a
# public channel, the one for a private channel) where it depends on the channel, or None.
SCOPES: dict[str, str | tuple[str, str] | None] = {
    "apps.connections.open": "connections:write",  # the app-level token's
    "auth.test": None,
    "chat.delete": "chat:write",
    "chat.getPermalink": None,
    "chat.postEphemeral": "chat:write",
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "conversations.history": ("channels:history", "groups:history"),
    "conversations.info": ("channels:read", "groups:read"),
    "conversations.members": ("channels:read", "groups:read"),
    "conversations.replies": ("channels:history", "groups:history"),
    "usergroups.users.list": "usergroups:read",
    "users.info": "users:read",
    "views.open": None,
    "views.publish": None,
    "views.update": None,
}
APP_TOKEN_SCOPES = frozenset({"connections:write"})


def manifest_scopes(path: Path = MANIFEST) -> frozenset[str]:
    """The bot scopes ``slack_app_manifest.yaml`` grants: what an installed app's token holds."""
    import yaml

    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    return frozenset(loaded["oauth_config"]["scopes"]["bot"])


@dataclass(frozen=True)
class Call:
    """One request the double received: what was asked, with which token, and what it answered."""

    method: str
    token: str | None
    params: JsonObject
    http_method: str
    status: int
    error: str | None  # None when the answer was ok


@dataclass
class _Message:
    channel: str
    ts: str
    text: str
    blocks: list[JsonObject] | None
    user: str
    bot_id: str | None
    thread_ts: str | None  # the parent's ts for a reply; None for a top-level message
    edited_ts: str | None = None
    replies: list[str] = field(default_factory=list)
    metadata: JsonObject | None = None  # chat.postMessage's ``metadata`` (event_type, payload)

    def as_slack(self, *, with_metadata: bool = False) -> JsonObject:
        out: JsonObject = {"type": "message", "ts": self.ts, "user": self.user, "text": self.text}
        out["team"] = TEAM_ID
        if self.bot_id is not None:
            out.update(bot_id=self.bot_id, app_id=APP_ID)
        if self.blocks is not None:
            out["blocks"] = json.loads(json.dumps(self.blocks))
        if self.thread_ts is not None:
            out["thread_ts"] = self.thread_ts
        if self.replies:
            out.update(
                thread_ts=self.ts, reply_count=len(self.replies), latest_reply=self.replies[-1]
            )
        if self.edited_ts is not None:
            out["edited"] = {"user": self.user, "ts": self.edited_ts}
        if with_metadata and self.metadata is not None:
            out["metadata"] = json.loads(json.dumps(self.metadata))
        return out


@dataclass(frozen=True)
class SocketAck:
    """What the app sent back over a Socket Mode connection for one envelope."""

    envelope_id: str
    payload: JsonObject | None  # a slash command's or a view submission's answer, if any
    connection: int  # which connection it came on: 1 for the first the double accepted


@dataclass
class _Fault:
    times: int
    status: int
    error: str
    retry_after: int | None = None
    after_effect: bool = False


class SlackError(Exception):
    """An answer ``{"ok": false, "error": ...}``, raised inside a method handler."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


class SlackDouble:
    """The Slack Web API of one workspace, in memory, on a loopback port of its own."""

    def __init__(
        self,
        *,
        bot_token: str = BOT_TOKEN,
        app_token: str = APP_TOKEN,
        clock: Callable[[], float] = time.monotonic,
        scopes: frozenset[str] | None = None,
    ) -> None:
        """``scopes``: what the bot token was granted (default: the manifest's bot scopes)."""
        self.bot_token = bot_token
        self.app_token = app_token
        self._clock = clock
        self._skew = 0.0  # advance() moves the double's clock, for trigger expiry
        self._lock = threading.Lock()
        self._tokens: dict[str, str] = {bot_token: BOT_USER_ID}
        granted = manifest_scopes() if scopes is None else frozenset(scopes)
        self._scopes: dict[str, frozenset[str]] = {bot_token: granted, app_token: APP_TOKEN_SCOPES}
        self._revoked: set[str] = set()
        self._app_tokens: set[str] = {app_token}
        self._tickets: set[str] = set()  # Socket Mode tickets not used yet
        self._sockets: list[tuple[int, web.WebSocketResponse]] = []  # open, oldest first
        self._connections = 0  # Socket Mode connections accepted so far
        self._acks: list[SocketAck] = []
        self._channels: dict[str, JsonObject] = {}
        self._members: dict[str, set[str]] = {}
        self._users: dict[str, JsonObject] = {}
        self._usergroups: dict[str, list[str]] = {}
        self._messages: dict[str, list[_Message]] = {}
        self._ephemeral: list[JsonObject] = []
        self._views: dict[str, JsonObject] = {}
        self._home: dict[str, JsonObject] = {}
        self._responses: list[JsonObject] = []  # what apps posted to a response_url
        self._triggers: dict[str, tuple[float, str]] = {}  # id -> (issued at, user)
        self._used_triggers: set[str] = set()
        self._faults: dict[str, list[_Fault]] = {}
        self._calls: list[Call] = []
        self._last_ts = 0
        self._ids = itertools.count(1)
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.add_user(BOT_USER_ID, name="privacy-desk", is_bot=True)
        self.add_channel(CHANNEL_ID, name="privacy-desk")
        self.channel = CHANNEL_ID  # the case channel (PD_SLACK_CHANNEL)

    # ---- lifecycle -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The Web API root for ``AsyncWebClient(base_url=...)``; ends in ``/api/``."""
        return f"http://127.0.0.1:{self.port}/api/"

    def __enter__(self) -> SlackDouble:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="slack-double", daemon=True
        )
        self._thread.start()
        self._run(self._listen())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None and self._thread is not None
        self._run(self._close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    async def __aenter__(self) -> SlackDouble:
        return await asyncio.to_thread(self.__enter__)

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.__exit__)

    def down(self) -> None:
        """Stop listening and drop open connections: clients get "connection refused"."""
        self._run(self._close())

    def up(self) -> None:
        """Listen again, on the same port."""
        self._run(self._listen())

    def _run(self, coroutine: Any) -> Any:
        assert self._loop is not None, "use SlackDouble as a context manager"
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=15)

    async def _listen(self) -> None:
        if self._runner is not None:
            return
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle)
        app.router.add_post("/commands/{rest:.*}", self._response_url)
        app.router.add_get("/link/", self._socket)
        runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        self.port = runner.addresses[0][1]
        self._runner = runner

    async def _close(self) -> None:
        with self._lock:
            open_now = [ws for _number, ws in self._sockets]
        for ws in open_now:
            await ws.close(code=1001, message=b"going away")
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    # ---- the workspace ---------------------------------------------------------------------

    def add_token(
        self, token: str, *, user_id: str = BOT_USER_ID, scopes: frozenset[str] | None = None
    ) -> None:
        """Make ``token`` valid, acting as ``user_id``, with ``scopes`` (default: the
        manifest's)."""
        with self._lock:
            self._tokens[token] = user_id
            self._scopes[token] = manifest_scopes() if scopes is None else frozenset(scopes)
            self._revoked.discard(token)

    @staticmethod
    def manifest_scopes() -> frozenset[str]:
        """The bot scopes of ``slack_app_manifest.yaml``."""
        return manifest_scopes()

    def set_scopes(self, scopes: frozenset[str], token: str | None = None) -> None:
        """The app is reinstalled with ``scopes``: ``token`` (the bot token) now holds these."""
        with self._lock:
            self._scopes[token or self.bot_token] = frozenset(scopes)

    def add_app_token(self, token: str) -> None:
        """Make ``token`` a valid app-level token (Socket Mode)."""
        with self._lock:
            self._app_tokens.add(token)
            self._scopes[token] = APP_TOKEN_SCOPES
            self._revoked.discard(token)

    def revoke_token(self, token: str) -> None:
        """Calls with ``token`` now fail with ``token_revoked``."""
        with self._lock:
            self._revoked.add(token)

    def add_channel(
        self,
        channel_id: str,
        *,
        name: str,
        bot_is_member: bool = True,
        is_private: bool = False,
        is_archived: bool = False,
    ) -> str:
        with self._lock:
            self._channels[channel_id] = {
                "id": channel_id,
                "name": name,
                "is_channel": not is_private,
                "is_group": False,
                "is_im": False,
                "is_private": is_private,
                "is_archived": is_archived,
                "is_member": bot_is_member,
                "created": 1700000000,
                "creator": BOT_USER_ID,
            }
            members = self._members.setdefault(channel_id, set())
            if bot_is_member:
                members.add(BOT_USER_ID)
            self._messages.setdefault(channel_id, [])
        return channel_id

    def add_user(
        self,
        user_id: str,
        *,
        name: str,
        real_name: str = "",
        email: str | None = None,
        is_bot: bool = False,
        deleted: bool = False,
        channels: tuple[str, ...] = (CHANNEL_ID,),
    ) -> str:
        """A member of the workspace (by default of the case channel too)."""
        profile: JsonObject = {"real_name": real_name or name, "display_name": name}
        if email is not None:
            profile["email"] = email
        with self._lock:
            self._users[user_id] = {
                "id": user_id,
                "team_id": TEAM_ID,
                "name": name,
                "real_name": real_name or name,
                "deleted": deleted,
                "is_bot": is_bot,
                "is_admin": False,
                "tz": "Asia/Tokyo",
                "profile": profile,
            }
            for channel in channels:
                self._members.setdefault(channel, set()).add(user_id)
        return user_id

    def join(self, channel: str, user_id: str) -> None:
        """``user_id`` becomes a member of ``channel``."""
        with self._lock:
            self._members.setdefault(channel, set()).add(user_id)

    def remove_member(self, channel: str, user_id: str) -> None:
        """``user_id`` is removed from ``channel`` (``conversations.kick``, or they left)."""
        with self._lock:
            self._members.get(channel, set()).discard(user_id)

    def set_usergroup(self, usergroup_id: str, user_ids: list[str]) -> None:
        with self._lock:
            self._usergroups[usergroup_id] = list(user_ids)

    def add_message(
        self, channel: str, *, user: str, text: str, thread_ts: str | None = None
    ) -> str:
        """A message a person wrote (say, staff replying in a case thread); returns its ts."""
        with self._lock:
            return self._store(
                channel, user=user, bot_id=None, text=text, blocks=None, thread_ts=thread_ts
            ).ts

    def new_trigger_id(self, user: str = "U0STAFF001") -> str:
        """A trigger id as Slack issues with an interaction: usable once, for 3 seconds."""
        trigger = f"{next(self._ids)}.{int(time.time())}.{secrets.token_hex(16)}"
        with self._lock:
            self._triggers[trigger] = (self._now(), user)
        return trigger

    def advance(self, seconds: float) -> None:
        """Move the double's clock (trigger expiry) forward without sleeping."""
        with self._lock:
            self._skew += seconds

    def _now(self) -> float:
        return self._clock() + self._skew

    # ---- fault injection ---------------------------------------------------------------------

    def rate_limit(self, method: str, *, retry_after: int = 1, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` get HTTP 429, ``Retry-After`` and ``ratelimited``."""
        self._add_fault(method, _Fault(times, 429, "ratelimited", retry_after=retry_after))

    def fail(
        self,
        method: str,
        *,
        status: int = 200,
        error: str | None = None,
        times: int = 1,
        after_effect: bool = False,
    ) -> None:
        """The next ``times`` calls of ``method`` fail: with ``error`` (HTTP 200, as Slack names
        errors), or with a 5xx ``status``. ``after_effect`` first does what was asked (the post is
        made) and then answers the failure: Slack posted although the client saw an error."""
        if error is None:
            error = "internal_error" if status >= 500 else "fatal_error"
        self._add_fault(method, _Fault(times, status, error, after_effect=after_effect))

    def _add_fault(self, method: str, fault: _Fault) -> None:
        with self._lock:
            self._faults.setdefault(method, []).append(fault)

    def _take_fault(self, method: str) -> _Fault | None:
        queue = self._faults.get(method)
        if not queue:
            return None
        fault = queue[0]
        fault.times -= 1
        if fault.times <= 0:
            queue.pop(0)
        return fault

    # ---- Socket Mode -------------------------------------------------------------------------

    def push(self, kind: str, payload: JsonObject, *, retry_attempt: int = 0) -> str:
        """Deliver ``payload`` as Slack does in Socket Mode: an envelope of ``kind``
        (``interactive``, ``slash_commands``, ``events_api``) on the newest open connection.
        Returns its envelope_id, which the app must ack."""
        if kind not in ("interactive", "slash_commands", "events_api"):
            raise ValueError(f"Slack sends no {kind!r} envelopes")
        envelope_id = str(uuid.uuid4())
        envelope: JsonObject = {
            "envelope_id": envelope_id,
            "payload": payload,
            "type": kind,
            # an answer with content is taken for commands, modal submissions and option lists
            "accepts_response_payload": kind == "slash_commands"
            or payload.get("type") in ("view_submission", "block_suggestion"),
        }
        if kind == "events_api":
            envelope.update(
                retry_attempt=retry_attempt, retry_reason="timeout" if retry_attempt else ""
            )
        self._run(self._send_newest(envelope))
        return envelope_id

    def disconnect_sockets(self, reason: str = "refresh_requested") -> None:
        """Slack's ``disconnect`` message on every open connection (Slack refreshes connections
        every few hours); the app should open a new one through ``apps.connections.open``."""
        message = {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-double"}}
        self._run(self._send_all(message))

    def acks(self) -> list[SocketAck]:
        """What the app sent back for the envelopes, in the order it arrived."""
        with self._lock:
            return list(self._acks)

    def socket_connections(self) -> int:
        """Socket Mode connections accepted (and greeted with ``hello``) so far."""
        with self._lock:
            return self._connections

    def open_sockets(self) -> int:
        with self._lock:
            return len(self._sockets)

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        """One Socket Mode connection, opened with a ticket from ``apps.connections.open``."""
        ticket = request.query.get("ticket", "")
        with self._lock:
            known = ticket in self._tickets
            self._tickets.discard(ticket)
        if not known:  # the double's choice: Slack does not document how it refuses a ticket
            return web.Response(status=401, text="invalid_ticket")
        ws = web.WebSocketResponse()  # answers the app's pings
        await ws.prepare(request)
        with self._lock:
            self._connections += 1
            number = self._connections
            self._sockets.append((number, ws))
            hello = {
                "type": "hello",
                "num_connections": len(self._sockets),
                "debug_info": {"host": "applink-double", "approximate_connection_time": 18060},
                "connection_info": {"app_id": APP_ID},
            }
        try:
            await ws.send_json(hello)
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self._acked(message.data, number)
        finally:
            with self._lock:
                self._sockets.remove((number, ws))
        return ws

    def _acked(self, text: str, connection: int) -> None:
        try:
            ack = json.loads(text)
        except ValueError:
            return
        if isinstance(ack, dict) and isinstance(ack.get("envelope_id"), str):
            payload = ack.get("payload")
            with self._lock:
                self._acks.append(
                    SocketAck(ack["envelope_id"], payload if payload else None, connection)
                )

    async def _send_newest(self, message: JsonObject) -> None:
        with self._lock:
            newest = self._sockets[-1][1] if self._sockets else None
        if newest is None:
            raise RuntimeError("no Socket Mode connection is open")
        await newest.send_json(message)

    async def _send_all(self, message: JsonObject) -> None:
        with self._lock:
            open_now = [ws for _number, ws in self._sockets]
        for ws in open_now:
            await ws.send_json(message)

    # ---- assertions --------------------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[Call]:
        """Every request received (of ``method``), in order, failed ones included."""
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def messages(self, channel: str = CHANNEL_ID) -> list[JsonObject]:
        """Top-level messages of ``channel`` as ``conversations.history`` shows them, edits applied."""
        with self._lock:
            return [m.as_slack() for m in self._messages.get(channel, []) if m.thread_ts is None]

    def thread(self, channel: str, ts: str) -> list[JsonObject]:
        """The parent message and its replies, oldest first ([] if there is no such message)."""
        with self._lock:
            return [m.as_slack() for m in self._thread_of(channel, ts)]

    def ephemeral(self, channel: str | None = None) -> list[JsonObject]:
        with self._lock:
            return [dict(e) for e in self._ephemeral if channel in (None, e["channel"])]

    @property
    def response_url(self) -> str:
        """A ``response_url`` for ``slash_command``: what the app posts there is ``responses()``."""
        return f"http://127.0.0.1:{self.port}/commands/{TEAM_ID}/1/double"

    def responses(self) -> list[JsonObject]:
        """Messages the app posted to a ``response_url`` (the JSON it sent), oldest first."""
        with self._lock:
            return [dict(r) for r in self._responses]

    def published_home(self, user: str) -> JsonObject | None:
        """The App Home view last published for ``user``."""
        with self._lock:
            view = self._home.get(user)
            return json.loads(json.dumps(view)) if view is not None else None

    def open_views(self) -> list[JsonObject]:
        """Modals opened (and possibly updated) through ``views.open``, oldest first."""
        with self._lock:
            return [json.loads(json.dumps(v)) for v in self._views.values()]

    # ---- HTTP --------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params, token, bad_body = await _read_arguments(request)
        with self._lock:
            status, body, headers = self._answer(method, params, token, bad_body)
            self._calls.append(
                Call(
                    method,
                    token,
                    params,
                    request.method,
                    status,
                    None if body.get("ok") else body.get("error"),
                )
            )
        return web.json_response(body, status=status, headers=headers)

    async def _response_url(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return web.Response(status=400, text="invalid_payload")
        with self._lock:
            self._responses.append(body if isinstance(body, dict) else {"body": body})
        return web.Response(text="ok")

    def _answer(
        self, method: str, params: JsonObject, token: str | None, bad_body: str | None
    ) -> tuple[int, JsonObject, dict[str, str]]:
        handler = _METHODS.get(method)
        if handler is None:
            return 200, {"ok": False, "error": "unknown_method", "req_method": method}, {}
        fault = self._take_fault(method)
        if fault is not None and fault.status == 429:
            headers = {"Retry-After": str(fault.retry_after)}
            return 429, {"ok": False, "error": fault.error}, headers
        if fault is not None and not fault.after_effect:
            return fault.status, {"ok": False, "error": fault.error}, {}
        try:
            self._authenticate(token, app_level=method in APP_LEVEL_METHODS)
            self._authorize(method, params, token or "")
            if bad_body is not None:
                raise SlackError(bad_body)
            result: JsonObject = {"ok": True, **handler(self, params, token)}
        except SlackError as exc:
            result = {"ok": False, "error": exc.error, **exc.extra}
        if fault is not None:  # after the effect
            return fault.status, {"ok": False, "error": fault.error}, {}
        return 200, result, {}

    def _authenticate(self, token: str | None, *, app_level: bool = False) -> None:
        """As Slack: an app-level token works only for app-level methods, and only it does."""
        if not token:
            raise SlackError("not_authed")
        if token in self._revoked:
            raise SlackError("token_revoked")
        if token not in self._tokens and token not in self._app_tokens:
            raise SlackError("invalid_auth")
        if app_level != (token in self._app_tokens):
            raise SlackError("not_allowed_token_type")

    def _authorize(self, method: str, params: JsonObject, token: str) -> None:
        """As Slack: a method the token holds no scope for answers ``missing_scope``, saying
        which scope was ``needed`` and which the token has (``provided``)."""
        needed = SCOPES[method]
        if isinstance(needed, tuple):
            channel = self._channels.get(str(params.get("channel") or ""))
            needed = needed[1] if channel is not None and channel["is_private"] else needed[0]
        granted = self._scopes.get(token, frozenset())
        if needed is not None and needed not in granted:
            raise SlackError("missing_scope", needed=needed, provided=",".join(sorted(granted)))

    # ---- state helpers (called with the lock held) -------------------------------------------

    def _next_ts(self) -> str:
        micros = max(int(time.time() * 1_000_000), self._last_ts + 1)
        self._last_ts = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _find(self, channel: str, ts: str) -> _Message | None:
        return next((m for m in self._messages.get(channel, []) if m.ts == ts), None)

    def _thread_of(self, channel: str, ts: str) -> list[_Message]:
        parent = self._find(channel, ts)
        if parent is None:
            return []
        return [parent, *(m for m in self._messages[channel] if m.ts in parent.replies)]

    def _store(
        self,
        channel: str,
        *,
        user: str,
        bot_id: str | None,
        text: str,
        blocks: list[JsonObject] | None,
        thread_ts: str | None,
    ) -> _Message:
        parent = self._find(channel, thread_ts) if thread_ts else None
        if parent is not None and parent.thread_ts is not None:  # a reply's ts: its thread
            parent = self._find(channel, parent.thread_ts)
        message = _Message(
            channel, self._next_ts(), text, blocks, user, bot_id, parent.ts if parent else None
        )
        self._messages.setdefault(channel, []).append(message)
        if parent is not None:
            parent.replies.append(message.ts)
        return message

    def _channel(self, params: JsonObject, *, names: bool = False) -> str:
        channel = str(params.get("channel") or "")
        if not channel:
            raise SlackError("channel_not_found")
        if names and channel.startswith("#"):
            channel = next(
                (c for c, info in self._channels.items() if info["name"] == channel[1:]), ""
            )
        if channel not in self._channels:
            raise SlackError("channel_not_found")
        return channel

    def _postable(self, params: JsonObject) -> str:
        channel = self._channel(params, names=True)
        if self._channels[channel]["is_archived"]:
            raise SlackError("is_archived")
        if BOT_USER_ID not in self._members[channel]:
            raise SlackError("not_in_channel")
        return channel

    # ---- methods -----------------------------------------------------------------------------

    def _auth_test(self, params: JsonObject, token: str | None) -> JsonObject:
        user_id = self._tokens[token or ""]
        return {
            "url": "https://privacy-desk-double.slack.com/",
            "team": "Privacy Desk (double)",
            "user": self._users.get(user_id, {}).get("name", user_id),
            "team_id": TEAM_ID,
            "user_id": user_id,
            "bot_id": BOT_ID if user_id == BOT_USER_ID else None,
            "is_enterprise_install": False,
        }

    def _apps_connections_open(self, params: JsonObject, token: str | None) -> JsonObject:
        ticket = secrets.token_hex(16)
        self._tickets.add(ticket)
        return {"url": f"ws://127.0.0.1:{self.port}/link/?ticket={ticket}&app_id={APP_ID}"}

    def _im_of(self, user_id: str) -> str:
        """The app's direct-message channel with a person, opened on first use: Slack posts a
        ``chat.postMessage`` whose channel is a user ID there (the app's Messages tab)."""
        user = self._users[user_id]
        if user["is_bot"]:
            raise SlackError("cannot_dm_bot")
        channel = "D" + user_id[1:]
        if channel not in self._channels:
            self._channels[channel] = {
                "id": channel,
                "is_im": True,
                "is_private": True,
                "is_archived": False,
                "is_member": True,
                "user": user_id,
                "created": 1700000000,
            }
            self._members[channel] = {BOT_USER_ID, user_id}
            self._messages[channel] = []
        return channel

    def direct_messages(self, user_id: str) -> list[JsonObject]:
        """What the app said to ``user_id`` in its direct messages (``chat.postMessage`` with the
        user's ID as channel), oldest first."""
        with self._lock:
            channel = "D" + user_id[1:]
            return [m.as_slack() for m in self._messages.get(channel, [])]

    def _chat_post_message(self, params: JsonObject, token: str | None) -> JsonObject:
        to = str(params.get("channel") or "")
        if to in self._users:
            params = {**params, "channel": self._im_of(to)}
        channel = self._postable(params)
        text, blocks = _content(params, MAX_MESSAGE_BLOCKS)
        if not text and blocks is None:
            raise SlackError("no_text")
        message = self._store(
            channel,
            user=self._tokens[token or ""],
            bot_id=BOT_ID,
            text=text,
            blocks=blocks,
            thread_ts=_opt(params, "thread_ts"),
        )
        metadata = params.get("metadata")
        if isinstance(metadata, str) and metadata:
            try:
                metadata = json.loads(metadata)
            except ValueError:
                raise SlackError("invalid_metadata_format") from None
        if metadata is not None:
            if not isinstance(metadata, dict) or not metadata.get("event_type"):
                raise SlackError("invalid_metadata_schema")
            message.metadata = metadata
        return {"channel": channel, "ts": message.ts, "message": message.as_slack()}

    def _chat_update(self, params: JsonObject, token: str | None) -> JsonObject:
        channel = self._channel(params)  # chat.update takes an ID, not a #name
        message = self._find(channel, str(params.get("ts") or ""))
        if message is None:
            raise SlackError("message_not_found")
        if message.user != self._tokens[token or ""]:
            raise SlackError("cant_update_message")
        text, blocks = _content(params, MAX_MESSAGE_BLOCKS)
        if not text and blocks is None and "attachments" not in params:
            raise SlackError("no_text")
        if "text" in params:
            message.text = text
        if blocks is not None:
            message.blocks = blocks
        message.edited_ts = self._next_ts()
        return {
            "channel": channel,
            "ts": message.ts,
            "text": message.text,
            "message": message.as_slack(),
        }

    def _chat_delete(self, params: JsonObject, token: str | None) -> JsonObject:
        channel = self._channel(params)
        ts = str(params.get("ts") or "")
        message = self._find(channel, ts)
        if message is None:
            raise SlackError("message_not_found")
        if message.user != self._tokens[token or ""]:
            raise SlackError("cant_delete_message")
        self._messages[channel].remove(message)
        for other in self._messages[channel]:
            if ts in other.replies:
                other.replies.remove(ts)
        return {"channel": channel, "ts": ts}

    def _chat_post_ephemeral(self, params: JsonObject, token: str | None) -> JsonObject:
        channel = self._postable(params)
        user = str(params.get("user") or "")
        if user not in self._users:
            raise SlackError("user_not_found")
        if user not in self._members[channel]:
            raise SlackError("user_not_in_channel")
        text, blocks = _content(params, MAX_MESSAGE_BLOCKS)
        if not text and blocks is None:
            raise SlackError("no_text")
        ts = self._next_ts()
        self._ephemeral.append(
            {
                "channel": channel,
                "user": user,
                "ts": ts,
                "text": text,
                "blocks": blocks,
                "thread_ts": _opt(params, "thread_ts"),
            }
        )
        return {"message_ts": ts}

    def _chat_get_permalink(self, params: JsonObject, token: str | None) -> JsonObject:
        channel = self._channel(params)
        message = self._find(channel, str(params.get("message_ts") or ""))
        if message is None:
            raise SlackError("message_not_found")
        link = f"https://privacy-desk-double.slack.com/archives/{channel}/p{message.ts.replace('.', '')}"
        if message.thread_ts is not None:
            link += f"?thread_ts={message.thread_ts}&cid={channel}"
        return {"channel": channel, "permalink": link}

    def _conversations_replies(self, params: JsonObject, token: str | None) -> JsonObject:
        channel = self._channel(params)
        thread = self._thread_of(channel, str(params.get("ts") or ""))
        if not thread:
            raise SlackError("thread_not_found")
        if thread[0].thread_ts is not None:  # a reply's ts: only that reply, as Slack answers
            thread = thread[:1]
        with_metadata = str(params.get("include_all_metadata", "")).lower() in ("1", "true")
        return {
            "messages": [m.as_slack(with_metadata=with_metadata) for m in thread],
            "has_more": False,
            "response_metadata": {"next_cursor": ""},
        }

    def _conversations_history(self, params: JsonObject, token: str | None) -> JsonObject:
        """Top-level messages, newest first, between ``oldest`` and ``latest``; metadata only
        with ``include_all_metadata`` (as Slack). No paging: ``limit`` caps the answer."""
        channel = self._channel(params)
        oldest = float(params.get("oldest") or 0)
        latest = float(params.get("latest") or "inf")
        limit = int(params.get("limit") or 100)
        with_metadata = str(params.get("include_all_metadata", "")).lower() in ("1", "true")
        found = [
            m
            for m in reversed(self._messages.get(channel, []))
            if m.thread_ts is None and oldest <= float(m.ts) <= latest
        ]
        return {
            "messages": [m.as_slack(with_metadata=with_metadata) for m in found[:limit]],
            "has_more": len(found) > limit,
            "response_metadata": {"next_cursor": ""},
        }

    def _conversations_info(self, params: JsonObject, token: str | None) -> JsonObject:
        channel = self._channel(params)
        return {"channel": dict(self._channels[channel])}

    def _conversations_members(self, params: JsonObject, token: str | None) -> JsonObject:
        """Member IDs, paged as Slack pages them (``limit`` up to 1000, an opaque cursor)."""
        channel = self._channel(params)
        if not self._channels[channel]["is_member"] and self._channels[channel]["is_private"]:
            raise SlackError("channel_not_found")  # a private channel the bot is not in
        try:
            limit = min(max(int(params.get("limit") or 100), 1), 1000)
            start = int(str(params.get("cursor") or "0").removeprefix("next:") or 0)
        except ValueError:
            raise SlackError("invalid_cursor") from None
        members = sorted(self._members.get(channel, set()))
        page = members[start : start + limit]
        more = start + limit < len(members)
        cursor = f"next:{start + limit}" if more else ""
        return {"members": page, "response_metadata": {"next_cursor": cursor}}

    def _users_info(self, params: JsonObject, token: str | None) -> JsonObject:
        user = self._users.get(str(params.get("user") or ""))
        if user is None:
            raise SlackError("user_not_found")
        return {"user": json.loads(json.dumps(user))}

    def _usergroups_users_list(self, params: JsonObject, token: str | None) -> JsonObject:
        users = self._usergroups.get(str(params.get("usergroup") or ""))
        if users is None:
            raise SlackError("no_such_subteam")
        return {"users": list(users)}

    def _views_open(self, params: JsonObject, token: str | None) -> JsonObject:
        trigger = str(params.get("trigger_id") or "")
        issued = self._triggers.get(trigger)
        if issued is None:
            raise SlackError("invalid_trigger_id")
        if trigger in self._used_triggers:
            raise SlackError("exchanged_trigger_id")
        if self._now() - issued[0] > TRIGGER_TTL:
            raise SlackError("expired_trigger_id")
        view = _view(params, "modal")
        self._used_triggers.add(trigger)
        view_id = f"V{next(self._ids):010d}"
        stored = self._stamp(view, view_id, user=issued[1])
        self._views[view_id] = stored
        return {"view": stored}

    def _views_update(self, params: JsonObject, token: str | None) -> JsonObject:
        view_id = str(params.get("view_id") or "")
        if not view_id and params.get("external_id"):
            view_id = next(
                (k for k, v in self._views.items() if v["external_id"] == params["external_id"]), ""
            )
        old = self._views.get(view_id)
        if old is None:
            raise SlackError("not_found")
        if params.get("hash") and params["hash"] != old["hash"]:
            raise SlackError("hash_conflict")
        stored = self._stamp(_view(params, "modal"), view_id, user=old["user"])
        self._views[view_id] = stored
        return {"view": stored}

    def _views_publish(self, params: JsonObject, token: str | None) -> JsonObject:
        user = str(params.get("user_id") or "")
        if not user:
            raise SlackError("invalid_arguments")
        old = self._home.get(user)
        if old is not None and params.get("hash") and params["hash"] != old["hash"]:
            raise SlackError("hash_conflict")
        view_id = old["id"] if old else f"V{next(self._ids):010d}"
        stored = self._stamp(_view(params, "home"), view_id, user=user)
        self._home[user] = stored
        return {"view": stored}

    def _stamp(self, view: JsonObject, view_id: str, *, user: str) -> JsonObject:
        return {
            **view,
            "id": view_id,
            "team_id": TEAM_ID,
            "app_id": APP_ID,
            "bot_id": BOT_ID,
            "user": user,
            "callback_id": view.get("callback_id", ""),
            "private_metadata": view.get("private_metadata", ""),
            "external_id": view.get("external_id", ""),
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "root_view_id": view_id,
            "previous_view_id": None,
        }


_METHODS: dict[str, Callable[[SlackDouble, JsonObject, str | None], JsonObject]] = {
    "apps.connections.open": SlackDouble._apps_connections_open,
    "auth.test": SlackDouble._auth_test,
    "chat.postMessage": SlackDouble._chat_post_message,
    "chat.update": SlackDouble._chat_update,
    "chat.delete": SlackDouble._chat_delete,
    "chat.postEphemeral": SlackDouble._chat_post_ephemeral,
    "chat.getPermalink": SlackDouble._chat_get_permalink,
    "conversations.replies": SlackDouble._conversations_replies,
    "conversations.history": SlackDouble._conversations_history,
    "conversations.info": SlackDouble._conversations_info,
    "conversations.members": SlackDouble._conversations_members,
    "users.info": SlackDouble._users_info,
    "usergroups.users.list": SlackDouble._usergroups_users_list,
    "views.open": SlackDouble._views_open,
    "views.update": SlackDouble._views_update,
    "views.publish": SlackDouble._views_publish,
}


# ---- request parsing and validation ----------------------------------------------------------


async def _read_arguments(request: web.Request) -> tuple[JsonObject, str | None, str | None]:
    """Arguments from the query string and the body; the token; a body error, if any."""
    params: JsonObject = dict(request.query)
    token_field = params.pop("token", None)
    bad: str | None = None
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            body, bad = {}, "invalid_json"
        if isinstance(body, dict):
            body.pop("token", None)  # Slack ignores a token in a JSON body
            params.update(body)
        else:
            bad = "invalid_json"
    elif request.can_read_body:
        form = await request.post()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
        token_field = params.pop("token", token_field)
    token = token_field
    authorization = request.headers.get("Authorization", "")
    if authorization.startswith("Bearer "):
        token = authorization.removeprefix("Bearer ").strip()
    return params, token, bad


def _opt(params: JsonObject, name: str) -> str | None:
    value = params.get(name)
    return str(value) if value not in (None, "") else None


def _json_argument(params: JsonObject, name: str, *, error: str) -> Any:
    """A JSON argument: a list/dict in a JSON body, a JSON string in a form."""
    value = params.get(name)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise SlackError(error) from None
    return value


def _content(params: JsonObject, max_blocks: int) -> tuple[str, list[JsonObject] | None]:
    text = str(params.get("text") or "")
    if len(text) > MAX_TEXT:
        raise SlackError("msg_too_long")
    blocks = _json_argument(params, "blocks", error="invalid_blocks_format")
    if blocks is None:
        return text, None
    if not isinstance(blocks, list):
        raise SlackError("invalid_blocks_format")
    problems = block_problems(blocks, max_blocks=max_blocks)
    if problems:
        raise SlackError(
            "invalid_blocks",
            errors=problems,
            response_metadata={"messages": [f"[ERROR] {p}" for p in problems]},
        )
    return text, blocks


def _view(params: JsonObject, kind: str) -> JsonObject:
    view = _json_argument(params, "view", error="invalid_arguments")
    if not isinstance(view, dict):
        raise SlackError("invalid_arguments")
    problems = view_problems(view, kind)
    if problems:
        raise SlackError(
            "invalid_arguments", response_metadata={"messages": [f"[ERROR] {p}" for p in problems]}
        )
    return view


def _too_long(limit: int, pointer: str) -> str:
    return f"must be less than {limit + 1} characters [json-pointer:{pointer}]"


def _text_problems(obj: Any, pointer: str, limit: int, *, plain_only: bool = False) -> list[str]:
    if not isinstance(obj, dict) or obj.get("type") not in ("plain_text", "mrkdwn"):
        return [f"must provide an object [json-pointer:{pointer}]"]
    if plain_only and obj["type"] != "plain_text":
        return [f"must be plain_text [json-pointer:{pointer}/type]"]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return [f"must be more than 0 characters [json-pointer:{pointer}/text]"]
    return [_too_long(limit, f"{pointer}/text")] if len(text) > limit else []


def _element_problems(element: Any, pointer: str) -> list[str]:
    if not isinstance(element, dict) or not isinstance(element.get("type"), str):
        return [f"must provide an object [json-pointer:{pointer}]"]
    problems: list[str] = []
    limits = {"action_id": 255}
    if element["type"] == "button":
        problems += _text_problems(element.get("text"), f"{pointer}/text", 75, plain_only=True)
        limits.update(value=2000, url=3000)
        if element.get("style") not in (None, "primary", "danger"):
            problems.append(f"must be a valid enum value [json-pointer:{pointer}/style]")
    if "confirm" in element:
        problems += _confirm_problems(element["confirm"], f"{pointer}/confirm")
    if element["type"] == "plain_text_input":
        most = element.get("max_length", 3000)
        if not isinstance(most, int) or not 1 <= most <= 3000:
            problems.append(_too_long(3000, f"{pointer}/max_length"))
        limits.update(initial_value=most if isinstance(most, int) else 3000)
    for name, limit in limits.items():
        value = element.get(name)
        if isinstance(value, str) and len(value) > limit:
            problems.append(_too_long(limit, f"{pointer}/{name}"))
    return problems


def _confirm_problems(confirm: Any, pointer: str) -> list[str]:
    """A confirmation dialog: title, text, confirm and deny, within Slack's lengths."""
    if not isinstance(confirm, dict):
        return [f"must provide an object [json-pointer:{pointer}]"]
    problems = _text_problems(confirm.get("title"), f"{pointer}/title", 100, plain_only=True)
    problems += _text_problems(confirm.get("text"), f"{pointer}/text", 300)
    for name in ("confirm", "deny"):
        problems += _text_problems(confirm.get(name), f"{pointer}/{name}", 30, plain_only=True)
    if confirm.get("style") not in (None, "primary", "danger"):
        problems.append(f"must be a valid enum value [json-pointer:{pointer}/style]")
    return problems


def block_problems(blocks: list[Any], *, max_blocks: int = MAX_MESSAGE_BLOCKS) -> list[str]:
    """What Slack would say is wrong with ``blocks`` (empty when they are valid)."""
    if len(blocks) > max_blocks:
        return [f"no more than {max_blocks} items allowed [json-pointer:/blocks]"]
    problems: list[str] = []
    block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        at = f"/blocks/{i}"
        if not isinstance(block, dict) or block.get("type") not in KNOWN_BLOCKS:
            problems.append(f"unsupported type [json-pointer:{at}/type]")
            continue
        block_id = block.get("block_id")
        if isinstance(block_id, str):
            if len(block_id) > 255:
                problems.append(_too_long(255, f"{at}/block_id"))
            elif block_id in block_ids:
                problems.append(f"duplicate block_id [json-pointer:{at}/block_id]")
            block_ids.add(block_id)
        problems += _block_problems(block, at)
    return problems


def _block_problems(block: JsonObject, at: str) -> list[str]:
    kind = block["type"]
    if kind == "header":
        return _text_problems(block.get("text"), f"{at}/text", 150, plain_only=True)
    if kind == "section":
        if "text" not in block and "fields" not in block:
            return [f"must provide text or fields [json-pointer:{at}]"]
        problems = _text_problems(block["text"], f"{at}/text", 3000) if "text" in block else []
        fields = block.get("fields", [])
        if len(fields) > 10:
            problems.append(f"no more than 10 items allowed [json-pointer:{at}/fields]")
        for j, item in enumerate(fields):
            problems += _text_problems(item, f"{at}/fields/{j}", 2000)
        if "accessory" in block:
            problems += _element_problems(block["accessory"], f"{at}/accessory")
        return problems
    if kind in ("actions", "context"):
        limit = 25 if kind == "actions" else 10
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements:
            return [f"must provide at least 1 item [json-pointer:{at}/elements]"]
        if len(elements) > limit:
            return [f"no more than {limit} items allowed [json-pointer:{at}/elements]"]
        if kind == "context":
            return []
        problems = []
        action_ids: set[str] = set()
        for j, element in enumerate(elements):
            problems += _element_problems(element, f"{at}/elements/{j}")
            action_id = element.get("action_id") if isinstance(element, dict) else None
            if isinstance(action_id, str):
                if action_id in action_ids:
                    problems.append(
                        f"duplicate action_id [json-pointer:{at}/elements/{j}/action_id]"
                    )
                action_ids.add(action_id)
        return problems
    if kind == "input":
        problems = _text_problems(block.get("label"), f"{at}/label", 2000, plain_only=True)
        return problems + _element_problems(block.get("element"), f"{at}/element")
    return []


def view_problems(view: JsonObject, kind: str) -> list[str]:
    """What Slack would say is wrong with a ``modal`` or ``home`` view."""
    if view.get("type") != kind:
        return [f"must be {kind} [json-pointer:/view/type]"]
    blocks = view.get("blocks")
    if not isinstance(blocks, list):
        return ["must provide an array [json-pointer:/view/blocks]"]
    problems = [
        p.replace("[json-pointer:/", "[json-pointer:/view/")
        for p in block_problems(blocks, max_blocks=MAX_SURFACE_BLOCKS)
    ]
    if kind == "modal":
        problems += _text_problems(view.get("title"), "/view/title", 24, plain_only=True)
        for button in ("submit", "close"):
            if button in view:
                problems += _text_problems(view[button], f"/view/{button}", 24, plain_only=True)
        if "submit" not in view and any(b.get("type") == "input" for b in blocks):
            problems.append(
                "must provide submit when there is an input block [json-pointer:/view/submit]"
            )
    for name, limit in (("callback_id", 255), ("private_metadata", 3000), ("external_id", 255)):
        value = view.get(name)
        if isinstance(value, str) and len(value) > limit:
            problems.append(_too_long(limit, f"/view/{name}"))
    return problems


# ---- what Slack sends to the app ---------------------------------------------------------------


@dataclass(frozen=True)
class SlackRequest:
    """A request as Slack would POST it to the app: body text and headers, signed."""

    body: str
    headers: dict[str, str]

    def multi_headers(self) -> dict[str, list[str]]:
        """Headers in the ``{name: [value]}`` form ``AsyncBoltRequest`` also takes."""
        return {k: [v] for k, v in self.headers.items()}


def signature(body: str, signing_secret: str, timestamp: int) -> str:
    """``v0=`` HMAC-SHA256 of ``v0:{timestamp}:{body}``, as Slack signs."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


def signed(
    body: str,
    signing_secret: str,
    *,
    content_type: str,
    timestamp: int | None = None,
) -> SlackRequest:
    """``body`` with the headers Slack sends: its signature and the time it was signed."""
    when = int(time.time()) if timestamp is None else timestamp
    return SlackRequest(
        body,
        {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(when),
            "X-Slack-Signature": signature(body, signing_secret, when),
        },
    )


def interaction(payload: JsonObject, signing_secret: str, **kw: Any) -> SlackRequest:
    """An interaction payload as Slack posts it: form-encoded ``payload=<json>``, signed."""
    body = urllib.parse.urlencode({"payload": json.dumps(payload)})
    return signed(body, signing_secret, content_type="application/x-www-form-urlencoded", **kw)


def event(envelope: JsonObject, signing_secret: str, **kw: Any) -> SlackRequest:
    """An Events API envelope (``event_callback``, ``url_verification``) as JSON, signed."""
    return signed(json.dumps(envelope), signing_secret, content_type="application/json", **kw)


def _interaction(kind: str, user_id: str) -> JsonObject:
    """The fields every interaction payload opens with."""
    user = {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": TEAM_ID}
    return {
        "type": kind,
        "team": {"id": TEAM_ID, "domain": "privacy-desk-double"},
        "user": user,
        "api_app_id": APP_ID,
        "token": "verification-token-unused",
    }


def block_actions(
    *,
    user_id: str,
    action_id: str,
    value: str,
    trigger_id: str,
    channel: str = CHANNEL_ID,
    message_ts: str,
    response_url: str = "https://hooks.slack.com/actions/T0DESK0001/1/double",
    block_id: str = "actions",
    message: JsonObject | None = None,
) -> JsonObject:
    """The payload of a button click on a message."""
    return {
        **_interaction("block_actions", user_id),
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": False,
        },
        "trigger_id": trigger_id,
        "channel": {"id": channel, "name": "privacy-desk"},
        "message": message or {"type": "message", "ts": message_ts, "text": ""},
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": block_id,
                "value": value,
                "text": {"type": "plain_text", "text": action_id},
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }


def view_submission(
    *,
    user_id: str,
    callback_id: str,
    values: Mapping[str, Mapping[str, JsonObject]],
    private_metadata: str = "",
    view_id: str = "V0000000001",
    trigger_id: str = "",
) -> JsonObject:
    """The payload of a modal's submit; ``values`` is ``{block_id: {action_id: state}}``, e.g.
    ``{"note": {"text": {"type": "plain_text_input", "value": "..."}}}``."""
    return {
        **_interaction("view_submission", user_id),
        "trigger_id": trigger_id,
        "view": {
            "id": view_id,
            "team_id": TEAM_ID,
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "blocks": [],
            "hash": "1.double",
            "state": {"values": {b: dict(v) for b, v in values.items()}},
            "title": {"type": "plain_text", "text": "Privacy desk"},
            "root_view_id": view_id,
            "previous_view_id": None,
            "app_id": APP_ID,
            "bot_id": BOT_ID,
        },
        "response_urls": [],
    }


def slash_command(
    text: str,
    signing_secret: str,
    *,
    user_id: str,
    trigger_id: str,
    channel_id: str = CHANNEL_ID,
    command: str = "/privacy",
    response_url: str = "https://hooks.slack.com/commands/T0DESK0001/1/double",
    timestamp: int | None = None,
) -> SlackRequest:
    """``/privacy <text>`` as Slack posts it: a signed form body."""
    body = urllib.parse.urlencode(
        {
            "token": "verification-token-unused",
            "team_id": TEAM_ID,
            "team_domain": "privacy-desk-double",
            "channel_id": channel_id,
            "channel_name": "privacy-desk",
            "user_id": user_id,
            "user_name": user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "response_url": response_url,
            "trigger_id": trigger_id,
        }
    )
    return signed(
        body, signing_secret, content_type="application/x-www-form-urlencoded", timestamp=timestamp
    )


_event_ids = itertools.count(1)


def event_callback(inner: JsonObject) -> JsonObject:
    """The Events API envelope around ``inner`` (see ``thread_message``, ``app_home_opened``)."""
    return {
        "token": "verification-token-unused",
        "team_id": TEAM_ID,
        "api_app_id": APP_ID,
        "event": inner,
        "type": "event_callback",
        "event_id": f"Ev{next(_event_ids):010d}",
        "event_time": int(time.time()),
        "authorizations": [
            {
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
    }


def thread_message(
    *, user: str, text: str, ts: str, thread_ts: str, channel: str = CHANNEL_ID
) -> JsonObject:
    """A ``message`` event for a person's reply in a thread."""
    return {
        "type": "message",
        "channel": channel,
        "user": user,
        "text": text,
        "ts": ts,
        "thread_ts": thread_ts,
        "event_ts": ts,
        "channel_type": "channel",
    }


def app_home_opened(user: str, *, tab: str = "home") -> JsonObject:
    return {
        "type": "app_home_opened",
        "user": user,
        "channel": "D0DESKHOME",
        "tab": tab,
        "event_ts": f"{time.time():.6f}",
    }


def url_verification(challenge: str) -> JsonObject:
    return {
        "token": "verification-token-unused",
        "challenge": challenge,
        "type": "url_verification",
    }
