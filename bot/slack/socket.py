"""The Slack app over Socket Mode: the desk opens a WebSocket to Slack, so no public endpoint.

Switched on by ``SLACK_APP_TOKEN`` (an app-level ``xapp-`` token with ``connections:write``).
bolt's aiohttp ``AsyncSocketModeHandler`` speaks the protocol: it asks ``apps.connections.open``
for a URL, acks each envelope with its ``envelope_id`` (the app's handlers ack before they work,
as over HTTP), and opens a new connection when Slack sends ``disconnect``. No signing secret is
needed: requests come over the authenticated WebSocket and bolt skips signature checks for them.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import Any

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient

log = logging.getLogger("privacy_desk.slack")

PREFIX = "xapp-"
CLOSE_TIMEOUT = 5.0  # seconds Slack gets to answer our close before the connection is dropped
WORK_GRACE = 5.0  # seconds clicks already acked get to finish their work when the desk stops

# Answers that mean "later", not "never": the handler keeps trying with these.
_TRANSIENT = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


class AppTokenRefused(Exception):
    """Slack will not open a Socket Mode connection for this app-level token."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


def check_app_token(app_token: str, *, base_url: str, timeout: int = 10) -> None:
    """Raise ``AppTokenRefused`` if Slack refuses ``app_token`` (wrong, revoked, a bot token, no
    ``connections:write``). Slack unreachable, rate limiting or failing is no verdict: it is
    logged and the handler keeps trying once serving. The URL Slack issues here goes unused."""
    client = WebClient(base_url=base_url, timeout=timeout, retry_handlers=[])
    try:
        client.apps_connections_open(app_token=app_token)
    except SlackApiError as exc:
        status = exc.response.status_code
        error = str(exc.response.get("error") or "") if isinstance(exc.response.data, dict) else ""
        if status >= 500 or status == 429 or error in _TRANSIENT:
            log.warning("Slack could not check the app token now (%s)", error or f"HTTP {status}")
            return
        raise AppTokenRefused(error or f"HTTP {status}") from None
    except OSError as exc:
        log.warning("Slack not reachable to check the app token: %s", type(exc).__name__)


def serve_socket(
    build: Callable[[], AsyncApp],
    stop: threading.Event,
    *,
    app_token: str,
    started: threading.Event | None = None,
) -> None:
    """Serve the app built by ``build`` (inside this thread's event loop) over Socket Mode until
    ``stop``; ``started`` is set once Slack has said hello."""

    async def main() -> None:
        app = build()
        handler = AsyncSocketModeHandler(app, app_token, logger=_socket_logger())

        async def greeted(
            _client: AsyncBaseSocketModeClient, message: dict[str, Any], _raw: str | None
        ) -> None:
            if message.get("type") == "hello":
                log.info("Slack requests over Socket Mode")
                if started is not None:
                    started.set()

        handler.client.message_listeners.append(greeted)
        # connect() retries until it succeeds; run it aside so a stop is seen meanwhile.
        connecting = asyncio.ensure_future(handler.connect_async())  # type: ignore[no-untyped-call]
        try:
            while not stop.is_set():
                await asyncio.sleep(0.2)
        finally:
            connecting.cancel()
            await asyncio.gather(connecting, return_exceptions=True)
            await _close(handler)
            await _finish_work()

    asyncio.run(main())


def _socket_logger() -> logging.Logger:
    """The Socket Mode client's logger, held at INFO: at DEBUG it logs whole envelopes, and a
    click's envelope carries the case message (an excerpt of the requester's mail)."""
    logger = logging.getLogger("privacy_desk.slack.socket")
    logger.setLevel(logging.INFO)
    return logger


async def _close(handler: AsyncSocketModeHandler) -> None:
    try:
        closing = handler.close_async()  # type: ignore[no-untyped-call]
        await asyncio.wait_for(closing, timeout=CLOSE_TIMEOUT)
    except TimeoutError:
        log.warning("Slack did not answer the close of the Socket Mode connection; dropped it")
        await handler.client.aiohttp_client_session.close()


async def _finish_work() -> None:
    """Let handlers that acked before the stop finish (their work runs after the ack)."""
    pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    if pending:
        _done, late = await asyncio.wait(pending, timeout=WORK_GRACE)
        if late:
            log.warning("%d Slack request(s) still running when the desk stopped", len(late))
