"""``privacy-desk serve``: the desk's parts as tasks of one asyncio event loop, under a supervisor.

The mailbox watcher, the Slack poster, the scheduler, the outbox sender, the Slack app, the HTTP
port (health, metrics, Slack requests) and a look every 30 s at which classifier model is active.
Blocking libraries run in the named worker threads of ``bot.threads``: the synchronous database
in ``pd-db-*``, imapclient (the watcher's IDLE) in ``pd-imap-*``; parsing and classifying in the
intake worker processes. A component that raises is restarted with growing pauses and reported
``failed`` meanwhile; each reports its state as it works (``/healthz``). Jobs only one replica may
do (watching the mailbox, posting to Slack) run while this replica holds their PostgreSQL
advisory lock (``storage.leader``); the others stand by and take over when the holder dies. The
scheduler keeps its own lock; the outbox is shared (``FOR UPDATE SKIP LOCKED``) and every replica
answers Slack. SIGTERM or SIGINT sets ``stop``: every component ends its current step (a batch of
mail, one mail being sent, one Slack pass) and the process exits within ``DRAIN_SECONDS``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TextIO

from bot import threads
from bot.health import Health

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from bot.replies import ReplySettings
    from bot.scheduler import SchedulerSettings
    from bot.settings import Settings
    from bot.slack.poster import CasePoster

log = logging.getLogger("privacy_desk.service")

Report = Callable[[str, str], None]
Serve = Callable[[asyncio.Event, Report], Awaitable[None]]

DRAIN_SECONDS = 10.0
MAX_RESTART_DELAY = 60.0


@dataclass(frozen=True)
class Component:
    name: str
    serve: Serve  # runs until the event is set; reports (state, detail) as it goes
    leader_only: bool = False


class Lock(Protocol):
    """Who leads (``storage.leader.LeaderLock``); blocking calls, run in the database threads."""

    def acquire(self) -> bool: ...

    def release(self) -> None: ...


async def wait(stop: asyncio.Event, seconds: float) -> bool:
    """Wait up to ``seconds`` for ``stop``; whether it is set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()


class Supervisor:
    """Runs components as tasks until ``stop``; leader-only ones only while ``lock`` is held."""

    def __init__(
        self,
        components: list[Component],
        health: Health,
        stop: asyncio.Event,
        *,
        lock: Lock | None = None,
        lead_every: float = 5.0,
        drain: float = DRAIN_SECONDS,
    ) -> None:
        self._components = components
        self._health = health
        self._stop = stop
        self._lock = lock
        self._lead_every = lead_every
        self._drain = drain
        self._tasks: list[asyncio.Task[None]] = []
        self._led: asyncio.Event | None = None  # set when the leader-only components must stop

    @property
    def stop(self) -> asyncio.Event:
        return self._stop

    async def run(self) -> bool:
        """Until ``stop``; whether everything stopped within the drain time."""
        for component in self._components:
            if not component.leader_only:
                self._start(component, self._stop)
        followers = [c for c in self._components if c.leader_only]
        leading = asyncio.create_task(self._lead(followers), name="leadership")
        stopped = asyncio.create_task(self._stop.wait())
        try:
            # until stopped, or until asking for the lock fails (raised below)
            await asyncio.wait(
                {stopped, leading} if followers else {stopped},
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            self._stop.set()
            stopped.cancel()
            if self._led is not None:
                self._led.set()
        drained = await self._join(leading)
        failure = leading.exception() if leading.done() and not leading.cancelled() else None
        if failure is not None:
            raise failure
        return drained

    async def _lead(self, components: list[Component]) -> None:
        """Run ``components`` while this replica holds the lock; stand by otherwise."""
        if not components:
            return
        while not self._stop.is_set():
            leads = self._lock is None or await threads.db(self._lock.acquire)
            if self._stop.is_set():
                break
            if leads and self._led is None:
                self._led = asyncio.Event()
                for component in components:
                    self._start(component, self._led)
            elif not leads:
                if self._led is not None:  # the lock was lost: stop, another replica takes over
                    log.warning("leadership lost; stopping %s", [c.name for c in components])
                    self._led.set()
                    self._led = None
                for component in components:
                    self._health.report(component.name, "standby", "another replica leads")
            await wait(self._stop, self._lead_every)
        if self._lock is not None:
            await threads.db(self._lock.release)

    def _start(self, component: Component, stop: asyncio.Event) -> None:
        task = asyncio.create_task(self._keep_running(component, stop), name=component.name)
        self._tasks.append(task)

    async def _keep_running(self, component: Component, stop: asyncio.Event) -> None:
        """Run the component; when it raises, report it and start it again after a pause."""
        delay = 1.0

        def report(state: str, detail: str = "") -> None:
            self._health.report(component.name, state, detail)

        report("starting")
        while not stop.is_set():  # ``stop`` is set whenever the supervisor's is
            try:
                await component.serve(stop, report)
                break
            except Exception as exc:  # the supervisor owns restarts: report, wait, go on
                log.error(
                    "%s failed (%s); restarting in %.0f s",
                    component.name,
                    type(exc).__name__,
                    delay,
                )
                report("failed", f"{type(exc).__name__}; restarting")
                await wait(stop, delay)
                delay = min(delay * 2, MAX_RESTART_DELAY)
        report("stopped")

    async def _join(self, leading: asyncio.Task[None]) -> bool:
        tasks = [*self._tasks, leading]
        _done, late = await asyncio.wait(tasks, timeout=self._drain)
        if late:
            names = sorted(t.get_name() for t in late)
            log.error("not stopped within %.0f s: %s", self._drain, ", ".join(names))
            for task in late:
                task.cancel()
            await asyncio.wait(late, timeout=1.0)
        return not late


# ---- serve ---------------------------------------------------------------------------------


def serve(settings: Settings, workers: int, batch: int, out: TextIO) -> int:
    """Run the desk until SIGTERM; exit 2 (every missing setting listed) before starting."""

    from prometheus_client.registry import REGISTRY

    from bot import wiring
    from bot.health import ReadCounter, watch_database
    from bot.learning import ModelWatch
    from bot.slack.http import serve_http
    from bot.watch import serve_watcher
    from mail.imap import MailboxConfig
    from storage.leader import LeaderLock, lock_key, sole_server

    settings.require("serve")  # listed with every other problem when read for `serve`
    mailbox = settings.mailbox.config
    assert isinstance(mailbox, MailboxConfig)
    wiring.apply_process_state(settings)
    slack = wiring.SlackPlan.of(settings.slack)
    replies = wiring.reply_settings(settings)
    schedule = wiring.scheduler_settings(settings)
    smtp = settings.smtp.config
    sqlite = settings.database.sqlite_file
    with contextlib.ExitStack() as held:
        if sqlite is not None:
            sqlite.parent.mkdir(parents=True, exist_ok=True)
            held.enter_context(sole_server(sqlite))
        wiring.configure_logging(settings.logging.format)
        # A signal while the desk starts is kept for the loop (which then stops at once).
        early: list[int] = []
        for sig in SIGNALS:
            signal.signal(sig, lambda signum, _frame: early.append(signum))
        health = Health()
        engine = held.enter_context(wiring.database(settings, create=True))
        wiring.install_model(engine)  # before the intake workers start: they get the same one
        watcher, sink = wiring.mail_watcher(engine, settings, workers=workers, batch=batch)
        held.callback(sink.close)
        forget_gauges = watch_database(engine, lambda: datetime.now(UTC))
        held.callback(forget_gauges)
        reconnects = ReadCounter(
            "privacy_desk_imap_reconnects",
            "Reconnections to the mailbox",
            lambda: float(watcher.reconnects),
        )
        REGISTRY.register(reconnects)
        held.callback(REGISTRY.unregister, reconnects)
        health.watch("mailbox", sink.stuck)
        states = health.collector()
        REGISTRY.register(states)
        held.callback(REGISTRY.unregister, states)
        sender = wiring.outbox_sender(engine, settings)
        components = [
            Component("mailbox", serve_watcher(watcher), leader_only=True),
            Component("outbox", sender.serve),
            Component(
                "retention",
                _retention(
                    engine,
                    settings.retention.days,
                    outbox_folder=smtp.path if settings.smtp.writes_files else None,
                ),
                leader_only=True,
            ),
            # A model made active by `privacy-desk train` is taken up within WATCH_EVERY.
            Component("model", ModelWatch(engine).serve),
        ]
        if settings.slack.posts:
            poster = wiring.case_poster(engine, settings)
            components += [
                Component("slack-poster", poster.serve, leader_only=True),
                Component("scheduler", _scheduler(engine, poster, schedule, replies)),
            ]
        links = wiring.case_file_links(settings)
        app = None if slack is None else partial(slack.build, engine, replies, links=links)
        over_http = app if slack is not None and slack.app_token is None else None
        http = partial(
            serve_http,
            over_http,
            port=settings.http.port,
            host=settings.http.host,
            health=health,
            signing_secret=None if slack is None else slack.signing_secret,
            metrics_token=settings.http.metrics_token or None,
            read_timeout=settings.http.read_timeout,
            pages=wiring.case_file_pages(engine, settings),
            listening=partial(_listening, out),
        )
        components.append(Component("http", _server(http)))
        if slack is not None and slack.app_token is not None and app is not None:
            from bot.slack.socket import serve_socket

            socket = partial(serve_socket, app, app_token=slack.app_token)
            components.append(Component("slack-socket", _server(socket)))
        out.write(f"watching {mailbox.key}\n")
        if settings.smtp.writes_files:
            said = f"mail is written to {smtp.path}, never sent (PD_SMTP_URL={smtp.url})"
            out.write(f"outbox: {said}\n")
            log.warning("outbox: %s", said)
        out.flush()
        lock = LeaderLock(engine, key=lock_key("privacy-desk mailbox"), name="mailbox")
        supervisor = Supervisor(components, health, asyncio.Event(), lock=lock)
        drained = asyncio.run(_supervise(supervisor, early))
        for sig in SIGNALS:  # the loop is gone; a second signal while closing changes nothing
            signal.signal(sig, lambda signum, _frame: early.append(signum))
        if not drained:
            # A worker thread still busy cannot be cancelled, and the interpreter would wait
            # for it at exit: the process ends now, as promised, with what it has said.
            out.flush()
            sys.stderr.flush()
            logging.shutdown()
            os._exit(1)
    # After the intake pool is closed: its workers end with the thread that started them.
    threads.shutdown()
    return 0


SIGNALS = (signal.SIGTERM, signal.SIGINT)


async def _supervise(supervisor: Supervisor, early: list[int]) -> bool:
    """The supervisor on this loop, stopped by SIGTERM or SIGINT."""
    loop = asyncio.get_running_loop()
    stop = supervisor.stop
    for sig in SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    if early:
        stop.set()
    try:
        return await supervisor.run()
    finally:
        for sig in SIGNALS:
            loop.remove_signal_handler(sig)


def _listening(out: TextIO, host: str, port: int) -> None:
    """Say where the HTTP port listens (with PD_HTTP_PORT=0, the port the OS chose)."""
    out.write(f"http: listening on {host}:{port}\n")
    out.flush()


def _server(serve_until: Callable[..., Awaitable[None]]) -> Serve:
    """A server that runs until its stop event, reported ok once it is up."""

    async def serve(stop: asyncio.Event, report: Report) -> None:
        await serve_until(stop, started=lambda: report("ok", ""))

    return serve


RETENTION_EVERY = 6 * 3600.0  # seconds between purges (each one is idempotent)


def _retention(
    engine: Engine, days: int, every: float = RETENTION_EVERY, *, outbox_folder: Path | None = None
) -> Serve:
    """Purge what has passed the retention period, at start and then every few hours."""

    async def serve(stop: asyncio.Event, report: Report) -> None:
        from bot.retention import purge

        while not stop.is_set():
            try:
                done = await threads.db(
                    partial(purge, outbox_folder=outbox_folder), engine, datetime.now(UTC), days
                )
                report("ok", f"last purge: {len(done.cases)} cases, {done.messages} messages")
            except Exception as exc:  # the database failed: try again later
                log.error("purge failed (%s)", type(exc).__name__)
                report("degraded", f"purge failed: {type(exc).__name__}")
            await wait(stop, every)

    return serve


def _scheduler(
    engine: Engine, poster: CasePoster, schedule: SchedulerSettings, replies: ReplySettings
) -> Serve:
    """The scheduler on the poster's Slack client; it leads by its own lock."""

    async def serve(stop: asyncio.Event, report: Report) -> None:
        from bot.scheduler import Scheduler

        scheduler = Scheduler(
            engine,
            poster.client,
            poster.channel,
            schedule,
            replies,
            report=report,
            words=poster.words,
        )
        report("ok", "")
        await scheduler.serve(stop)

    return serve
