"""The service's HTTP port (``PD_HTTP_PORT``): ``GET /healthz``, ``GET /metrics`` and, in HTTP
mode, the Slack app on ``POST /slack/events`` (bolt's aiohttp adapter).

Bolt verifies every Slack request's signature (401 otherwise) and the app's handlers ack before
they work, so Slack gets its answer within its 3 seconds whatever the database is doing.
``/healthz`` answers 200 when every component is well (or standing by for another replica) and
503 otherwise, with each component's state; ``/metrics`` is Prometheus's text format.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

from bot import threads
from bot.health import Health

log = logging.getLogger("privacy_desk.http")

PATH = "/slack/events"


async def serve_http(
    build: Callable[[], AsyncApp] | None,
    stop: asyncio.Event,
    *,
    port: int,
    host: str = "0.0.0.0",
    started: Callable[[], None] | None = None,
    health: Health | None = None,
) -> None:
    """Serve health, metrics and the app built by ``build`` (None: no Slack requests here, as in
    Socket Mode) until ``stop``; ``started()`` is called once the port listens."""
    routes = []
    if build is not None:
        app = build()

        async def events(request: web.Request) -> web.Response:
            response = await app.async_dispatch(await to_bolt_request(request))
            return await to_aiohttp_response(response)

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
            # The database's gauges are read as the registry is: in a database thread.
            data = await threads.db(generate_latest, REGISTRY)
            return web.Response(body=data, headers={"Content-Type": CONTENT_TYPE_LATEST})

        routes += [web.get("/healthz", healthz), web.get("/metrics", metrics)]
    web_app = web.Application()
    web_app.add_routes(routes)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        log.info("HTTP on port %d%s", port, f" (Slack on {PATH})" if build else "")
        if started is not None:
            started()
        await stop.wait()
    finally:
        await runner.cleanup()
