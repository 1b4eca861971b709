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
from typing import TYPE_CHECKING, Any, TextIO

from bot.health import Health
from storage.leader import LeaderLock

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from bot.replies import ReplySettings
    from bot.scheduler import SchedulerSettings
    from bot.settings import Settings, SlackSection
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


def configure_logging(wanted: str | None) -> None:
    """JSON lines when the output is not a terminal (``PD_LOG_FORMAT=json|text`` to choose)."""
    import sys

    from pythonjsonlogger.json import JsonFormatter

    as_json = wanted == "json" or (wanted != "text" and not sys.stderr.isatty())
    handler = logging.StreamHandler()
    if as_json:
        handler.setFormatter(
            JsonFormatter(
                "{asctime}{levelname}{name}{threadName}{message}",
                style="{",
                rename_fields={"asctime": "time", "levelname": "level", "threadName": "thread"},
                json_ensure_ascii=False,
            )
        )
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    # Their DEBUG and INFO lines can carry whole payloads (mail excerpts, addresses).
    for noisy in ("slack_sdk", "slack_bolt", "imapclient", "aiosmtplib", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@dataclass(frozen=True)
class SlackPlan:
    """How the Slack app is served: over Socket Mode (``app_token``) or on the HTTP port."""

    token: str
    channel: str
    base_url: str
    mask_mode: str
    app_token: str | None  # Socket Mode
    signing_secret: str  # HTTP mode ("" in Socket Mode, where bolt checks no signature)

    @classmethod
    def of(cls, slack: SlackSection) -> SlackPlan | None:
        """The Slack app, when configured: over Socket Mode when SLACK_APP_TOKEN is set (no
        public endpoint needed; the token is tried now), else over HTTP when
        SLACK_SIGNING_SECRET is set (on PD_HTTP_PORT)."""
        from bot.errors import UsageError

        if not slack.app_token and not slack.signing_secret:
            return None
        assert slack.bot_token and slack.channel  # checked with the settings
        secret = slack.signing_secret or ""
        if slack.app_token:
            from bot.slack.socket import AppTokenRefused, check_app_token

            try:
                check_app_token(slack.app_token.strip(), base_url=slack.api_url)
            except AppTokenRefused as exc:
                raise UsageError(
                    f"Slack refused SLACK_APP_TOKEN ({exc.error}): it must be the app's "
                    "app-level token with the connections:write scope, and Socket Mode must be on"
                ) from None
            # Bolt checks no signature on Socket Mode requests (the WebSocket is authenticated)
            # and, given no secret, holds "" itself, as in its own Socket Mode examples.
            secret = ""
        return cls(
            token=slack.bot_token.strip(),
            channel=slack.channel,
            base_url=slack.api_url,
            mask_mode=slack.mask,
            app_token=slack.app_token.strip() if slack.app_token else None,
            signing_secret=secret.strip(),
        )

    def build(self, engine: Engine, settings: ReplySettings) -> Any:
        """The desk's bolt app (call inside the event loop that serves it)."""
        from slack_sdk.web.async_client import AsyncWebClient

        from bot.replies import Replies
        from bot.slack.app import build_app

        client = AsyncWebClient(token=self.token, base_url=self.base_url, retry_handlers=[])
        return build_app(
            engine,
            Replies(engine, settings),
            signing_secret=self.signing_secret,
            client=client,
            channel=self.channel,
            mask_mode=self.mask_mode,
        )


def case_poster(engine: Engine, slack: SlackSection) -> CasePoster:
    """The poster of cases into the channel (Slack configured: ``slack.posts``)."""
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.slack.poster import CasePoster

    assert slack.bot_token and slack.channel
    # No retry handlers: the poster alone decides what may be sent again.
    client = AsyncWebClient(
        token=slack.bot_token.strip(), base_url=slack.api_url, retry_handlers=[]
    )
    return CasePoster(
        engine,
        client,
        slack.channel,
        mask_mode=slack.mask,
        posts_per_minute=slack.posts_per_minute,
    )


def sent_copier(settings: Settings) -> Callable[[bytes, datetime], None] | None:
    """``mail.imap.append_copy`` into PD_IMAP_SENT_FOLDER of the PD_MAILBOX, or None."""
    from mail.imap import MailboxConfig, append_copy

    folder, mailbox = settings.mailbox.sent_folder, settings.mailbox.config
    if not folder or not isinstance(mailbox, MailboxConfig):
        return None  # a sent folder without an IMAP mailbox is refused with the settings
    return lambda raw, when: append_copy(mailbox, folder, raw, when)


def serve(settings: Settings, workers: int, batch: int, out: TextIO) -> int:
    """Run the desk until SIGTERM; exit 2 (every missing setting listed) before starting."""
    import signal
    from functools import partial

    from prometheus_client.registry import REGISTRY

    from bot.cli import _install_model, _watcher, database
    from bot.health import ReadCounter, watch_database
    from bot.learning import ModelWatch
    from bot.replies import ReplySettings, Sender
    from bot.scheduler import SchedulerSettings
    from bot.slack.http import serve_http
    from mail.imap import MailboxConfig
    from storage.leader import lock_key, sole_server

    settings.require("serve")  # listed with every other problem when read for `serve`
    mailbox = settings.mailbox.config
    assert isinstance(mailbox, MailboxConfig)
    slack = SlackPlan.of(settings.slack)
    replies = ReplySettings.of(settings.replies)
    schedule = SchedulerSettings.of(settings.schedule)
    smtp = settings.smtp.config
    sqlite = settings.database.sqlite_file
    with contextlib.ExitStack() as held:
        if sqlite is not None:
            sqlite.parent.mkdir(parents=True, exist_ok=True)
            held.enter_context(sole_server(sqlite))
        configure_logging(settings.logging.format)
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        health = Health()
        engine = held.enter_context(database(settings, create=True))
        _install_model(engine)  # before the intake workers start: they get the same one
        watcher, sink = _watcher(
            engine,
            mailbox,
            workers,
            batch,
            replies,
            settings.intake.classify_timeout,
            settings.mailbox.backlog_days,
        )
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
        sender = Sender(engine, smtp, keep_copy=sent_copier(settings))
        components = [
            Component("mailbox", watcher.run, leader_only=True),
            Component("outbox", lambda stop, report: sender.run(stop, report=report)),
            Component("retention", _retention(engine, settings.retention.days), leader_only=True),
            # A model made active by `privacy-desk train` is taken up within WATCH_EVERY.
            Component("model", ModelWatch(engine).run),
        ]
        if settings.slack.posts:
            poster = case_poster(engine, settings.slack)
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

        scheduler = Scheduler(
            engine, poster.client, poster.channel, schedule, replies, report=report
        )
        report("ok", "")
        scheduler.run(stop)

    return run
