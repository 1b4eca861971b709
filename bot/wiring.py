"""The one place that builds the desk's parts from the checked settings (``bot.settings``).

The command line and ``serve`` ask this module for the database, the mailbox watcher, the outbox
sender, the Slack poster and app, the scheduler's settings and the logging; none of them reads a
setting to build a part itself. Arrows point one way: command line -> service -> wiring ->
settings -> components, so nothing here imports ``bot.service`` or ``bot.cli``.

Process-wide state (the umask, the keys of raw mail) is applied by ``apply_process_state``; the database
opener applies it too, so no entry that stores or reads raw mail can skip it. Heavy libraries
(SQLAlchemy, slack_sdk) are imported inside the builders: ``privacy-desk --help`` needs none.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.errors import UsageError

if TYPE_CHECKING:
    from aiohttp import web
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.http_retry.async_handler import AsyncRetryHandler
    from slack_sdk.web.async_client import AsyncWebClient
    from sqlalchemy import Engine

    from bot.replies import ReplySettings, Sender
    from bot.scheduler import SchedulerSettings
    from bot.settings import Settings, SlackSection
    from bot.slack.poster import CasePoster
    from bot.watch import IntakeSink
    from bot.web.links import Links
    from mail.imap import Watcher

# Their DEBUG and INFO lines can carry whole payloads (mail excerpts, addresses).
_NOISY_LOGGERS = ("slack_sdk", "slack_bolt", "imapclient", "aiosmtplib", "apscheduler")


# ---- process-wide state ----------------------------------------------------------------------


UMASK = 0o077  # the desk's files hold personal data: folders 0700, files 0600


def apply_process_state(settings: Settings) -> None:
    """Apply what holds for the whole process: the umask (``UMASK``, whatever the caller's was)
    and the keys of raw mail (``PD_RAW_KEYS``). Idempotent; every entry point calls it before it
    touches the database or writes a file."""
    from storage import crypto

    os.umask(UMASK)
    crypto.configure(settings.keys.keyring)


def configure_logging(wanted: str | None) -> None:
    """JSON lines when the output is not a terminal (``PD_LOG_FORMAT=json|text`` to choose)."""
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
    for noisy in _NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)


# ---- the database ----------------------------------------------------------------------------


@contextlib.contextmanager
def database(settings: Settings, *, create: bool = False) -> Iterator[Engine]:
    """The database of ``PD_DATABASE_URL``, opened (and on SQLite upgraded), closed after use.
    A SQLite file that is not there is created only with ``create`` (the commands that take
    mail in, and ``db upgrade``); the others stop with one line naming the path. The keys of
    raw mail are applied first: every row read or written here is sealed with them."""
    from storage.db import open_database

    apply_process_state(settings)
    engine = open_database(settings.database.url, create=create)
    try:
        yield engine
    finally:
        engine.dispose()


def install_model(engine: Engine) -> None:
    """Make the desk's active classifier model the one this process classifies with."""
    from bot.learning import install_active
    from handlers.model import ModelError

    try:
        install_active(engine)
    except ModelError as exc:
        raise UsageError(f"the active classifier model cannot be used: {exc}") from None


def reply_settings(settings: Settings) -> ReplySettings:
    from bot.replies import ReplySettings

    return ReplySettings.of(
        settings.replies,
        attachment_max_bytes=settings.intake.attachment_max_bytes,
        sla_rules=settings.sla.rules,
    )


def scheduler_settings(settings: Settings) -> SchedulerSettings:
    from bot.scheduler import SchedulerSettings

    return SchedulerSettings.of(settings.schedule)


# ---- mail in and out -------------------------------------------------------------------------


def mail_watcher(
    engine: Engine, settings: Settings, *, workers: int, batch: int
) -> tuple[Watcher, IntakeSink]:
    """The watcher of the IMAP mailbox of ``PD_MAILBOX`` taking mail into ``engine``'s
    database; close the sink when done."""
    from bot.watch import desk_watcher
    from mail.imap import MailboxConfig

    apply_process_state(settings)
    config = settings.mailbox.config
    assert isinstance(config, MailboxConfig)  # a Maildir is read like `ingest`, not watched
    return desk_watcher(
        engine,
        config,
        workers=workers,
        batch=batch,
        replies=reply_settings(settings),
        classify_timeout=settings.intake.classify_timeout,
        backlog=timedelta(days=settings.mailbox.backlog_days),
    )


def sent_copier(settings: Settings) -> Callable[[bytes, datetime], None] | None:
    """``mail.imap.append_copy`` into PD_IMAP_SENT_FOLDER of the PD_MAILBOX, or None."""
    from mail.imap import MailboxConfig, append_copy

    folder, mailbox = settings.mailbox.sent_folder, settings.mailbox.config
    if not folder or not isinstance(mailbox, MailboxConfig):
        return None  # a sent folder without an IMAP mailbox is refused with the settings
    return lambda raw, when: append_copy(mailbox, folder, raw, when)


def outbox_sender(engine: Engine, settings: Settings) -> Sender:
    """The sender of the outbox over ``PD_SMTP_URL``, keeping copies where configured."""
    from bot.replies import Sender

    apply_process_state(settings)
    return Sender(engine, settings.smtp.config, keep_copy=sent_copier(settings))


# ---- Slack -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlackTarget:
    """Where the desk posts: the bot token, the case channel and the Web API base URL."""

    token: str
    channel: str
    base_url: str

    @classmethod
    def of(cls, slack: SlackSection) -> SlackTarget | None:
        """None when ``SLACK_BOT_TOKEN`` or ``PD_SLACK_CHANNEL`` is missing."""
        if not slack.bot_token or not slack.channel:
            return None
        return cls(slack.bot_token.strip(), slack.channel, slack.api_url)

    def async_client(
        self, *, retry_handlers: list[AsyncRetryHandler] | None = None
    ) -> AsyncWebClient:
        """A client that retries nothing unless told: its callers decide what may be sent
        again."""
        from slack_sdk.web.async_client import AsyncWebClient

        return AsyncWebClient(
            token=self.token, base_url=self.base_url, retry_handlers=retry_handlers or []
        )


@dataclass(frozen=True)
class SlackPlan:
    """How the Slack app is served: over Socket Mode (``app_token``) or on the HTTP port."""

    token: str
    channel: str
    base_url: str
    mask_mode: str
    staff: tuple[str, ...]  # PD_STAFF: staff besides approvers and channel members
    staff_language: str  # PD_STAFF_LANGUAGE: the language of every text staff read
    app_token: str | None  # Socket Mode
    signing_secret: str  # HTTP mode ("" in Socket Mode, where bolt checks no signature)

    @classmethod
    def of(cls, slack: SlackSection) -> SlackPlan | None:
        """The Slack app, when configured: over Socket Mode when SLACK_APP_TOKEN is set (no
        public endpoint needed; the token is tried now), else over HTTP when
        SLACK_SIGNING_SECRET is set (on PD_HTTP_PORT)."""
        if not slack.app_token and not slack.signing_secret:
            return None
        target = SlackTarget.of(slack)
        assert target is not None  # checked with the settings
        secret = slack.signing_secret or ""
        if slack.app_token:
            check_app_token(slack)
            # Bolt checks no signature on Socket Mode requests (the WebSocket is authenticated)
            # and, given no secret, holds "" itself, as in its own Socket Mode examples.
            secret = ""
        return cls(
            token=target.token,
            channel=target.channel,
            base_url=target.base_url,
            mask_mode=slack.mask,
            staff=slack.staff,
            staff_language=slack.staff_language,
            app_token=slack.app_token.strip() if slack.app_token else None,
            signing_secret=secret.strip(),
        )

    def build(
        self, engine: Engine, settings: ReplySettings, *, links: Links | None = None
    ) -> AsyncApp:
        """The desk's bolt app (call inside the event loop that serves it); with ``links`` its
        "Case file" buttons answer with signed case-file links."""
        from bot.replies import Replies
        from bot.slack.app import build_app
        from bot.words import words

        client = SlackTarget(self.token, self.channel, self.base_url).async_client()
        return build_app(
            engine,
            Replies(engine, settings),
            signing_secret=self.signing_secret,
            client=client,
            channel=self.channel,
            mask_mode=self.mask_mode,
            staff=self.staff,
            links=links,
            words=words(self.staff_language),
        )


def check_app_token(slack: SlackSection) -> None:
    """Ask Slack whether ``SLACK_APP_TOKEN`` opens Socket Mode; a refusal is a usage error."""
    from bot.slack.socket import AppTokenRefused
    from bot.slack.socket import check_app_token as ask_slack

    assert slack.app_token
    try:
        ask_slack(slack.app_token.strip(), base_url=slack.api_url)
    except AppTokenRefused as exc:
        raise UsageError(
            f"Slack refused SLACK_APP_TOKEN ({exc.error}): it must be the app's "
            "app-level token with the connections:write scope, and Socket Mode must be on"
        ) from None


def case_poster(engine: Engine, settings: Settings) -> CasePoster:
    """The poster of cases into the channel (Slack configured: ``slack.posts``); with
    PD_PUBLIC_URL set, parent messages and follow-ups carry the "Case file" button."""
    from bot.slack.poster import CasePoster
    from bot.words import words

    slack = settings.slack
    target = SlackTarget.of(slack)
    assert target is not None
    # No retry handlers: the poster alone decides what may be sent again.
    return CasePoster(
        engine,
        target.async_client(),
        target.channel,
        mask_mode=slack.mask,
        posts_per_minute=slack.posts_per_minute,
        rules=settings.sla.rules,
        case_file=settings.http.public_url is not None,
        words=words(slack.staff_language),
    )


# ---- the case file on the web ----------------------------------------------------------------


def case_file_links(settings: Settings) -> Links | None:
    """The signer of case-file links (PD_PUBLIC_URL, PD_LINK_SECRET, PD_LINK_TTL_MINUTES), or
    None when PD_PUBLIC_URL is not set (no pages, no "Case file" button)."""
    from bot.web.links import Links

    http = settings.http
    if not http.public_url or not http.link_secret:
        return None
    return Links(http.link_secret, http.public_url, timedelta(minutes=http.link_ttl_minutes))


def case_file_pages(engine: Engine, settings: Settings) -> Callable[[], list[web.RouteDef]] | None:
    """The routes of the case-file pages, built inside the loop that serves them (their Slack
    client belongs to it), answer files uploaded through ``Replies`` as ``attach`` does; None
    without PD_PUBLIC_URL or without Slack to say who is staff."""
    links = case_file_links(settings)
    target = SlackTarget.of(settings.slack)
    if links is None or target is None:
        return None

    def routes() -> list[web.RouteDef]:
        from bot.replies import Replies
        from bot.slack.staff import Staff
        from bot.web.pages import CaseFileSite
        from bot.words import words

        staff = Staff(
            target.async_client(),
            channel=target.channel,
            approvers=settings.replies.approvers,
            staff=settings.slack.staff,
        )
        return CaseFileSite(
            engine,
            links,
            staff,
            max_bytes=settings.intake.attachment_max_bytes,
            replies=Replies(engine, reply_settings(settings)),
            words=words(settings.slack.staff_language),
        ).routes()

    return routes
