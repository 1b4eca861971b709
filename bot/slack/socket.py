"""The Slack app over Socket Mode: the desk opens a WebSocket to Slack, so no public endpoint.

Switched on by ``SLACK_APP_TOKEN`` (an app-level ``xapp-`` token with ``connections:write``).
bolt's aiohttp ``AsyncSocketModeHandler`` speaks the protocol: it asks ``apps.connections.open``
for a URL, acks each envelope with its ``envelope_id`` (the app's handlers ack before they work,
as over HTTP), and opens a new connection when Slack sends ``disconnect``. No signing secret is
needed: requests come over the authenticated WebSocket and bolt skips signature checks for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Callable, Iterator
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


async def serve_socket(
    build: Callable[[], AsyncApp],
    stop: asyncio.Event,
    *,
    app_token: str,
    started: Callable[[], None] | None = None,
) -> None:
    """Serve the app built by ``build`` over Socket Mode until ``stop``; ``started()`` is called
    once Slack has said hello."""
    app = build()
    handler = AsyncSocketModeHandler(app, app_token, logger=_socket_logger())

    async def greeted(
        _client: AsyncBaseSocketModeClient, message: dict[str, Any], _raw: str | None
    ) -> None:
        if message.get("type") == "hello":
            log.info("Slack requests over Socket Mode")
            if started is not None:
                started()

    handler.client.message_listeners.append(greeted)
    with _tracking_work(handler.client) as work:
        # connect() retries until it succeeds; run it aside so a stop is seen meanwhile.
        connecting = asyncio.ensure_future(handler.connect_async())  # type: ignore[no-untyped-call]
        try:
            await stop.wait()
        finally:
            connecting.cancel()
            await asyncio.gather(connecting, return_exceptions=True)
            await _close(handler)
            await _finish(work)


_work: contextvars.ContextVar[set[asyncio.Task[Any]]] = contextvars.ContextVar("socket_work")


@contextlib.contextmanager
def _tracking_work(client: AsyncBaseSocketModeClient) -> Iterator[set[asyncio.Task[Any]]]:
    """The tasks that work on what Slack delivered, while they run: the client starts one per
    envelope, and bolt works a click on in a task of its own after the ack. Tasks started from
    within one (they inherit its context) are counted in; the loop's other tasks are not."""
    work: set[asyncio.Task[Any]] = set()
    listeners = client.run_message_listeners

    async def tracked(message: dict[str, Any], raw_message: str) -> None:
        _work.set(work)
        task = asyncio.current_task()
        if task is not None:
            work.add(task)
        try:
            await listeners(message, raw_message)
        finally:
            work.discard(task)

    loop = asyncio.get_running_loop()
    previous = loop.get_task_factory()

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **options: Any) -> asyncio.Future[Any]:
        if previous is not None:
            task = previous(loop, coro, **options)
        else:
            task = asyncio.Task(coro, loop=loop, **options)
        into = _work.get(None)
        if into is not None and isinstance(task, asyncio.Task):
            into.add(task)
            task.add_done_callback(into.discard)
        return task

    client.run_message_listeners = tracked  # type: ignore[method-assign]
    loop.set_task_factory(factory)
    try:
        yield work
    finally:
        loop.set_task_factory(previous)


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


async def _finish(work: set[asyncio.Task[Any]]) -> None:
    """Let handlers that acked before the stop finish (their work runs after the ack)."""
    if work:
        _done, late = await asyncio.wait(set(work), timeout=WORK_GRACE)
        if late:
            log.warning("%d Slack request(s) still running when the desk stopped", len(late))
