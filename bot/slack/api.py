"""The one place the desk's senders (the case poster, the scheduler, the monthly report, App Home)
call Slack's Web API, and the one tree of what can go wrong there.

Every failure of a call is one of these, so each sender decides the same way what to do next::

    SlackError                 a call did not do what was asked (``.error``: Slack's name for it)
    ├── RateLimited            HTTP 429: nothing was done; ``.retry_after`` seconds to wait
    ├── LostAnswer             a 5xx, a timeout, a dropped connection, or an ``ok: false`` that says
    │                          the call may have taken effect: look before posting again
    ├── Refused                a permanent no to this call (``msg_too_long``, ``channel_not_found``,
    │                          ``is_archived``…); ``.about_channel`` when the channel refused
    └── TokenProblem           the desk's token or its scopes (``invalid_auth``, ``token_revoked``,
                               ``missing_scope``…): every call fails until staff fix the app

A ``TokenProblem`` ends a sender's pass: it makes no further call that pass and says so in
``/healthz``. ``.answered`` tells whether Slack itself answered (anything but a 5xx or no answer),
which the poster's probe uses to know Slack was there.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

from aiohttp import ClientError
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

# Slack answered ok:false but says the call may have taken effect: as good as a lost answer.
LOST_ERRORS = frozenset({"fatal_error", "internal_error", "service_unavailable", "request_timeout"})
# Refusals about the desk's own token or app, not about one call: staff must fix the app.
TOKEN_ERRORS = frozenset(
    {
        "not_authed",
        "invalid_auth",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "no_permission",
        "missing_scope",
        "not_allowed_token_type",
        "org_login_required",
        "ekm_access_denied",
        "team_access_not_granted",
        "access_denied",
    }
)
# Refusals naming a channel: about the desk's own channel they concern every post.
CHANNEL_ERRORS = frozenset({"channel_not_found", "is_archived", "not_in_channel"})
# What chat.postEphemeral answers for a user who cannot be told in that channel (not a member of
# it, or a channel the desk cannot see): they are told in a direct message instead (``tell``).
ELSEWHERE = frozenset({"user_not_in_channel", "channel_not_found"})


class SlackError(Exception):
    """A Web API call did not do what was asked; ``error`` is what Slack (or the network) said."""

    def __init__(self, error: str, *, method: str, answered: bool) -> None:
        super().__init__(error)
        self.error = error
        self.method = method
        self.answered = answered  # Slack itself answered (not a 5xx, a timeout or a reset)


class RateLimited(SlackError):
    """HTTP 429: nothing was done; wait ``retry_after`` seconds before the next call."""

    def __init__(self, retry_after: float, *, method: str) -> None:
        super().__init__("ratelimited", method=method, answered=True)
        self.retry_after = retry_after


class LostAnswer(SlackError):
    """Slack's answer was lost: the call may have taken effect. Look before posting again."""


class Refused(SlackError):
    """Slack said no to this call, for good: nothing was done."""

    @property
    def about_channel(self) -> bool:
        return self.error in CHANNEL_ERRORS


class TokenProblem(SlackError):
    """The desk's token or scopes are refused: no call will work until staff fix the app."""


def classify(exc: BaseException, method: str) -> SlackError | None:
    """The desk's error for what a Web API call raised; None for anything else (a bug)."""
    if isinstance(exc, SlackApiError):
        status = exc.response.status_code
        if status == 429:
            headers = exc.response.headers or {}
            return RateLimited(float(headers.get("Retry-After", 1)), method=method)
        if status >= 500:
            return LostAnswer(f"HTTP {status}", method=method, answered=False)
        error = str(exc.response.get("error", "error"))
        if error in LOST_ERRORS:
            return LostAnswer(error, method=method, answered=True)
        if error in TOKEN_ERRORS:
            return TokenProblem(error, method=method, answered=True)
        return Refused(error, method=method, answered=True)
    if isinstance(exc, TimeoutError | ClientError | OSError):
        return LostAnswer(type(exc).__name__, method=method, answered=False)
    return None


class SlackAPI:
    """Web API calls on an injected ``AsyncWebClient``; every failure raised as a ``SlackError``.

    ``on_answer`` is called whenever Slack answered (ok or a refusal, not a 5xx or silence).
    """

    def __init__(
        self, client: AsyncWebClient, *, on_answer: Callable[[], None] | None = None
    ) -> None:
        self.client = client
        self._on_answer = on_answer

    async def tell(
        self, user: str, text: str, *, channel: str, thread_ts: str | None = None
    ) -> str:
        """``text`` to ``user`` alone: ephemeral in ``channel`` (in the thread ``thread_ts``), or,
        when Slack says they cannot see it there (``ELSEWHERE``), as a direct message from the
        app (``chat.postMessage`` to their user ID), so a refusal is never lost. Where it went:
        ``ephemeral`` or ``direct``."""
        try:
            await self.call(
                "chat_postEphemeral", channel=channel, user=user, text=text, thread_ts=thread_ts
            )
            return "ephemeral"
        except Refused as exc:
            if exc.error not in ELSEWHERE:
                raise
        await self.call("chat_postMessage", channel=user, text=text)
        return "direct"

    async def call(self, method: str, **args: Any) -> dict[str, Any]:
        """``method`` (slack_sdk's name, ``chat_postMessage``) with ``args``: Slack's answer."""
        try:
            answer = await getattr(self.client, method)(**args)
        except Exception as exc:
            error = classify(exc, method)
            if error is None:
                raise
            if error.answered and self._on_answer is not None:
                self._on_answer()
            raise error from None
        if self._on_answer is not None:
            self._on_answer()
        return dict(answer.data) if hasattr(answer, "data") else dict(answer)

    async def post(self, **args: Any) -> str:
        """``chat.postMessage``: the new message's ts."""
        return str((await self.call("chat_postMessage", **args))["ts"])

    async def update(self, **args: Any) -> str:
        """``chat.update``: the message's ts."""
        return str((await self.call("chat_update", **args))["ts"])

    async def probe(self) -> dict[str, Any]:
        """``auth.test``: who the token is, or the ``SlackError`` saying why not."""
        return await self.call("auth_test")

    async def messages(
        self,
        channel: str,
        *,
        thread: str | None = None,
        pages: int = 5,
        limit: int = 200,
        oldest: datetime | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """Recent messages, with their metadata, of ``channel`` (``conversations.history``) or of
        one ``thread`` in it (``conversations.replies``), newest page first, at most ``pages``."""
        method = "conversations_history" if thread is None else "conversations_replies"
        where: dict[str, Any] = {"channel": channel}
        if thread is not None:
            where["ts"] = thread
        if oldest is not None:
            where["oldest"] = f"{oldest.timestamp():.6f}"
        cursor: str | None = None
        for _ in range(pages):
            more = {"cursor": cursor} if cursor else {}
            response = await self.call(
                method, **where, include_all_metadata=True, limit=limit, **more
            )
            for message in response.get("messages") or []:
                yield message
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if cursor is None:
                return
