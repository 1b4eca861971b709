"""``privacy-desk serve``: the desk's parts in one process, each in a thread of its own.

The mailbox watcher, the Slack poster, the scheduler, the outbox sender, the Slack app, the HTTP
port (health, metrics, Slack requests) and a look every 30 s at which classifier model is active. A component that raises is restarted with growing
pauses and reported ``failed`` meanwhile; each reports its state as it works (``/healthz``).
Jobs only one replica may do (watching the mailbox, posting to Slack) run while this replica
holds their PostgreSQL advisory lock (``storage.leader``); the others stand by and take over
when the holder dies. The scheduler keeps its own lock; the outbox is shared (``FOR UPDATE SKIP
LOCKED``) and every replica answers Slack. SIGTERM sets ``stop``: every loop ends its current
step (a batch of mail, one mail being sent, one Slack pass) and the process exits within
``DRAIN_SECONDS``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TextIO

from bot.health import Health
from storage.leader import LeaderLock

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from bot.replies import ReplySettings
    from bot.scheduler import SchedulerSettings
    from bot.settings import Settings
    from bot.slack.poster import CasePoster

log = logging.getLogger("privacy_desk.service")

Report = Callable[[str, str], None]
Run = Callable[[threading.Event, Report], None]

DRAIN_SECONDS = 10.0
MAX_RESTART_DELAY = 60.0


@dataclass(frozen=True)
class Component:
    name: str
    run: Run  # runs until the event is set; reports (state, detail) as it goes
    leader_only: bool = False


class Supervisor:
    """Runs components until ``stop``; leader-only ones only while ``lock`` is held."""

    def __init__(
        self,
        components: list[Component],
        health: Health,
        stop: threading.Event,
        *,
        lock: LeaderLock | None = None,
        lead_every: float = 5.0,
        drain: float = DRAIN_SECONDS,
    ) -> None:
        self._components = components
        self._health = health
        self._stop = stop
        self._lock = lock
        self._lead_every = lead_every
        self._drain = drain
        self._threads: list[threading.Thread] = []
        self._leading: threading.Event | None = None  # set while this replica leads

    def run(self) -> bool:
        """Until ``stop``; whether everything stopped within the drain time."""
        for component in self._components:
            if not component.leader_only:
                self._start(component, self._stop)
        followers = [c for c in self._components if c.leader_only]
        try:
            if followers:
                self._lead(followers)
            else:
                self._stop.wait()
        finally:
            self._stop.set()
            if self._leading is not None:
                self._leading.set()
        return self._join()

    def _lead(self, components: list[Component]) -> None:
        """Run ``components`` while this replica holds the lock; stand by otherwise."""
        led: threading.Event | None = None
        while not self._stop.is_set():
            leads = self._lock is None or self._lock.acquire()
            if leads and led is None:
                led = threading.Event()
                self._leading = led
                for component in components:
                    self._start(component, led)
            elif not leads:
                if led is not None:  # the lock was lost: stop, another replica takes over
                    log.warning("leadership lost; stopping %s", [c.name for c in components])
                    led.set()
                    led = None
                for component in components:
                    self._health.report(component.name, "standby", "another replica leads")
            self._stop.wait(self._lead_every)
        if led is not None:
            led.set()
        if self._lock is not None:
            self._lock.release()

    def _start(self, component: Component, stop: threading.Event) -> None:
        thread = threading.Thread(
            target=self._keep_running, args=(component, stop), name=component.name, daemon=True
        )
        self._threads.append(thread)
        thread.start()

    def _keep_running(self, component: Component, stop: threading.Event) -> None:
        """Run the component; when it raises, report it and start it again after a pause."""
        delay = 1.0

        def report(state: str, detail: str = "") -> None:
            self._health.report(component.name, state, detail)

        report("starting")
        while not stop.is_set() and not self._stop.is_set():
            try:
                component.run(_either(stop, self._stop), report)
                break
            except Exception as exc:  # the supervisor owns restarts: report, wait, go on
                log.error(
                    "%s failed (%s); restarting in %.0f s",
                    component.name,
                    type(exc).__name__,
                    delay,
                )
                report("failed", f"{type(exc).__name__}; restarting")
                self._stop.wait(delay)
                delay = min(delay * 2, MAX_RESTART_DELAY)
        report("stopped")

    def _join(self) -> bool:
        deadline = time.monotonic() + self._drain
        for thread in self._threads:
            thread.join(timeout=max(deadline - time.monotonic(), 0))
        late = [t.name for t in self._threads if t.is_alive()]
        if late:
            log.error("not stopped within %.0f s: %s", self._drain, ", ".join(late))
        return not late


def _either(first: threading.Event, second: threading.Event) -> threading.Event:
    """An event set as soon as either is (the components wait on one event)."""
    if first is second:
        return first
    both = threading.Event()

    def watch() -> None:
        while not (first.wait(0.2) or second.is_set()):
            pass
        both.set()

    threading.Thread(target=watch, daemon=True, name="stop-watch").start()
    return both


# ---- serve ---------------------------------------------------------------------------------


def serve(settings: Settings, workers: int, batch: int, out: TextIO) -> int:
    """Run the desk until SIGTERM; exit 2 (every missing setting listed) before starting."""
    import signal
    from functools import partial

    from prometheus_client.registry import REGISTRY

    from bot import wiring
    from bot.health import ReadCounter, watch_database
    from bot.learning import ModelWatch
    from bot.slack.http import serve_http
    from mail.imap import MailboxConfig
    from storage.leader import lock_key, sole_server

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
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
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
            Component("mailbox", watcher.run, leader_only=True),
            Component("outbox", lambda stop, report: sender.run(stop, report=report)),
            Component("retention", _retention(engine, settings.retention.days), leader_only=True),
            # A model made active by `privacy-desk train` is taken up within WATCH_EVERY.
            Component("model", ModelWatch(engine).run),
        ]
        if settings.slack.posts:
            poster = wiring.case_poster(engine, settings.slack)
            components += [
                Component(
                    "slack-poster",
                    lambda stop, report: poster.run(stop, report=report),
                    leader_only=True,
                ),
                Component("scheduler", _scheduler(engine, poster, schedule, replies)),
            ]
        app = None if slack is None else partial(slack.build, engine, replies)
        over_http = app if slack is not None and slack.app_token is None else None
        http = partial(
            serve_http, over_http, port=settings.http.port, host=settings.http.host, health=health
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
        drained = Supervisor(components, health, stop, lock=lock).run()
    return 0 if drained else 1


def _server(serve_until: Callable[..., None]) -> Run:
    """A server that runs until its stop event, reported ok once it is up."""

    def run(stop: threading.Event, report: Report) -> None:
        started = threading.Event()

        def up() -> None:
            if started.wait():
                report("ok", "")

        threading.Thread(target=up, daemon=True).start()
        serve_until(stop, started=started)

    return run


RETENTION_EVERY = 6 * 3600.0  # seconds between purges (each one is idempotent)


def _retention(engine: Engine, days: int, every: float = RETENTION_EVERY) -> Run:
    """Purge what has passed the retention period, at start and then every few hours."""

    def run(stop: threading.Event, report: Report) -> None:
        from bot.retention import purge

        while not stop.is_set():
            try:
                done = purge(engine, datetime.now(UTC), days)
                report("ok", f"last purge: {len(done.cases)} cases, {done.messages} messages")
            except Exception as exc:  # the database failed: try again later
                log.error("purge failed (%s)", type(exc).__name__)
                report("degraded", f"purge failed: {type(exc).__name__}")
            stop.wait(every)

    return run


def _scheduler(
    engine: Engine, poster: CasePoster, schedule: SchedulerSettings, replies: ReplySettings
) -> Run:
    """The scheduler on the poster's Slack client; it leads by its own lock."""

    def run(stop: threading.Event, report: Report) -> None:
        from bot.scheduler import Scheduler

        scheduler = Scheduler(engine, poster.client, poster.channel, schedule, replies)
        report("ok", "")
        scheduler.run(stop)

    return run
