"""The Slack app over HTTP: ``POST /slack/events`` on ``PD_HTTP_PORT`` (bolt's aiohttp adapter).

Bolt verifies every request's signature (401 otherwise) and the app's handlers ack before they
work, so Slack gets its answer within its 3 seconds whatever the database is doing.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

log = logging.getLogger("privacy_desk.slack")

PATH = "/slack/events"


def serve_http(
    build: Callable[[], AsyncApp],
    stop: threading.Event,
    *,
    port: int,
    host: str = "0.0.0.0",
    started: threading.Event | None = None,
) -> None:
    """Serve the app built by ``build`` (inside this thread's event loop) until ``stop``."""

    async def main() -> None:
        app = build()

        async def events(request: web.Request) -> web.Response:
            response = await app.async_dispatch(await to_bolt_request(request))
            return await to_aiohttp_response(response)

        web_app = web.Application()
        web_app.add_routes([web.post(PATH, events)])
        runner = web.AppRunner(web_app)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
            log.info("Slack requests on port %d%s", port, PATH)
            if started is not None:
                started.set()
            while not stop.is_set():
                await asyncio.sleep(0.2)
        finally:
            await runner.cleanup()

    asyncio.run(main())
