"""The service's HTTP port (``PD_HTTP_PORT``): ``GET /healthz``, ``GET /metrics`` and, in HTTP
mode, the Slack app on ``POST /slack/events`` (bolt's aiohttp adapter), and the case-file pages
under ``/cases`` when ``PD_PUBLIC_URL`` is set (``bot.web.pages``).

The port is for strangers too, so nothing they send costs more than a 4xx: a request's headers
and body must arrive within ``read_timeout`` seconds (408 or the connection closed otherwise), a
body is at most ``MAX_BODY`` bytes (413), an unsigned or wrongly signed request gets 401 before
its body is parsed, and a signed body that is not Slack's (not UTF-8, not JSON or a form) gets
400 — never a 500, never a traceback in the log. The app's handlers ack before they work, so
Slack gets its answer within its 3 seconds whatever the database is doing. ``/healthz`` answers
200 when every component is well (or standing by for another replica) and 503 otherwise, with
each component's state; ``/metrics`` is Prometheus's text format, behind ``Authorization: Bearer
<metrics_token>`` when a token is set. Header timeouts for the whole site belong to the reverse
proxy in front (the README's deployment section).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Callable, Iterable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

from bot import threads
from bot.health import Health

log = logging.getLogger("privacy_desk.http")

PATH = "/slack/events"
MAX_BODY = 1024 * 1024  # Slack's requests are a few kilobytes; a modal's state well under this
READ_TIMEOUT = 10.0  # seconds for a request's headers, and again for its body
_FORMS = ("application/json", "application/x-www-form-urlencoded")


def _refused(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text + "\n")


async def _body(request: web.Request, timeout: float) -> bytes | web.Response:
    """The request's body, or the answer to a request whose body is too big or too slow."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        return _refused(413, "request body too large")
    try:
        async with asyncio.timeout(timeout):
            return await request.read()
    except TimeoutError:
        log.warning("HTTP request body not received within %.0f seconds", timeout)
        return _refused(408, "request body too slow")
    except web.HTTPRequestEntityTooLarge:  # no Content-Length, or a false one
        return _refused(413, "request body too large")


def _bolt_request(
    request: web.Request, body: bytes, verifier: SignatureVerifier
) -> AsyncBoltRequest | web.Response:
    """Slack's request for bolt, or the 4xx for a request that is not Slack's: the signature is
    checked before anything of the body is parsed."""
    try:  # a timestamp that is no number, a body that is no text: no signature of Slack's
        valid = verifier.is_valid_request(body, dict(request.headers))
    except ValueError:
        valid = False
    if not valid:
        return _refused(401, "invalid request signature")
    if request.content_type not in _FORMS:
        return _refused(400, "not a Slack request")
    try:
        parsed = AsyncBoltRequest(
            body=body.decode("utf-8"),
            query=request.query_string,
            headers=dict(request.headers),
        )
    except (UnicodeDecodeError, ValueError, TypeError, AttributeError, KeyError):
        parsed = None
    if parsed is None or not isinstance(parsed.body, dict):
        log.warning("a signed Slack request whose body could not be read was refused")
        return _refused(400, "not a Slack request")
    return parsed


async def serve_http(
    build: Callable[[], AsyncApp] | None,
    stop: asyncio.Event,
    *,
    port: int,
    host: str = "127.0.0.1",
    started: Callable[[], None] | None = None,
    listening: Callable[[str, int], None] | None = None,
    health: Health | None = None,
    signing_secret: str | None = None,
    metrics_token: str | None = None,
    read_timeout: float = READ_TIMEOUT,
    pages: Callable[[], Iterable[web.RouteDef]] | None = None,
) -> None:
    """Serve health, metrics and the app built by ``build`` (None: no Slack requests here, as in
    Socket Mode; else ``signing_secret`` is required) until ``stop``, with the case-file
    ``pages`` (``bot.web``) when given; ``started()`` is called once the port listens, and
    ``listening(host, port)`` with the port bound (the OS's choice when ``port`` is 0)."""
    routes = list(pages()) if pages is not None else []
    if build is not None:
        if not signing_secret:
            raise ValueError("Slack requests over HTTP need the signing secret")
        app = build()
        verifier = SignatureVerifier(signing_secret)

        async def events(request: web.Request) -> web.Response:
            body = await _body(request, read_timeout)
            if isinstance(body, web.Response):
                return body
            bolt_request = _bolt_request(request, body, verifier)
            if isinstance(bolt_request, web.Response):
                return bolt_request
            return await to_aiohttp_response(await app.async_dispatch(bolt_request))

        routes.append(web.post(PATH, events))
    if health is not None:

        async def healthz(request: web.Request) -> web.Response:
            body = {"healthy": health.healthy(), "components": health.snapshot()}
            return web.Response(
                text=json.dumps(body, indent=2) + "\n",
                status=200 if body["healthy"] else 503,
                content_type="application/json",
            )

        async def metrics(request: web.Request) -> web.Response:
            if metrics_token is not None and not hmac.compare_digest(
                request.headers.get("Authorization", "").encode(),
                f"Bearer {metrics_token}".encode(),
            ):
                return web.Response(
                    status=401,
                    text="bearer token required\n",
                    headers={"WWW-Authenticate": "Bearer"},
                )
            # The database's gauges are read as the registry is: in a database thread.
            data = await threads.db(generate_latest, REGISTRY)
            return web.Response(body=data, headers={"Content-Type": CONTENT_TYPE_LATEST})

        routes += [web.get("/healthz", healthz), web.get("/metrics", metrics)]
    web_app = web.Application(client_max_size=MAX_BODY)
    web_app.add_routes(routes)
    # aiohttp closes a connection whose request has not fully arrived when its keep-alive timer
    # runs out (armed when the connection opens): the header timeout.
    runner = web.AppRunner(web_app, access_log=None, keepalive_timeout=read_timeout)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        port = int(runner.addresses[0][1])  # the port bound: PD_HTTP_PORT=0 lets the OS choose
        log.info("HTTP on port %d%s", port, f" (Slack on {PATH})" if build else "")
        if listening is not None:
            listening(host, port)
        if started is not None:
            started()
        await stop.wait()
    finally:
        await runner.cleanup()
