"""``privacy-desk check``: check every setting as ``serve`` does, then try every connection.

First the settings, exactly as ``serve`` reads them (``bot.settings``, told the command is
``serve``): a malformed value, a name that is no setting, or anything ``serve`` would refuse
(no mailbox, no ``PD_SMTP_URL``, no approvers) stops here with every problem listed (exit 2),
as does a SQLite database that is not there (``check`` creates nothing). Then a table: the
database (opened, schema at head), the mailbox (IMAP login and folder), the SMTP server (EHLO,
STARTTLS and login, as sending does; or the ``file:`` folder, which is said to send nothing) and
Slack (``auth.test`` with the bot token, the case channel, and ``apps.connections.open`` for
Socket Mode). Nothing is sent; no secret is printed. Exit 0 when everything answers, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.context import Context, Subcommands
from bot.errors import UsageError
from bot.wiring import SlackTarget
from mail.errors import MailError

if TYPE_CHECKING:
    from bot.settings import Settings


def _database(settings: Settings) -> str:
    from sqlalchemy import text

    from storage.db import current_revision, describe, head_revision, make_engine

    engine = make_engine(settings.database.url, create=False)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        at = current_revision(engine)
        behind = "" if at == head_revision() else " (behind: run `privacy-desk db upgrade`)"
        return f"{describe(engine.url)}, schema {at}{behind}"
    finally:
        engine.dispose()


def _mailbox(settings: Settings) -> str:
    from mail.imap import Connection

    config = settings.mailbox.config
    if config is None:
        return "not configured (PD_MAILBOX)"
    if isinstance(config, Path):
        if not (config / "cur").is_dir() and not (config / "new").is_dir():
            raise UsageError(f"{config} is not a Maildir")
        return f"Maildir {config}"
    conn = Connection(config)
    try:
        return (
            f"{config.scheme}://{config.host}:{config.port}, logged in, {config.folder!r} "
            f"selected ({'IDLE' if conn.can_idle else 'no IDLE'}, "
            f"{'MOVE' if conn.can_move else 'no MOVE'})"
        )
    finally:
        conn.close()


def _smtp(settings: Settings) -> str:
    from mail.smtp import probe

    said = asyncio.run(probe(settings.smtp.config))
    if settings.smtp.writes_files:
        said += " (a file: outbox: nothing is sent to requesters)"
    return said


def _slack(settings: Settings) -> str:
    from slack_sdk import WebClient

    slack = settings.slack
    target = SlackTarget.of(slack)
    if not slack.posts or target is None:
        return "not configured (SLACK_BOT_TOKEN, PD_SLACK_CHANNEL)"
    client = WebClient(token=target.token, base_url=target.base_url, timeout=10)
    who = client.auth_test()
    info = client.conversations_info(channel=target.channel)
    if not info["channel"].get("is_member", True):
        raise UsageError(f"the bot is not in {target.channel}: invite it")
    said = f"auth.test as {who.get('user')} in {who.get('team')}, channel {target.channel} ok"
    if slack.app_token:
        from bot.slack.socket import AppTokenRefused, check_app_token

        try:
            check_app_token(slack.app_token.strip(), base_url=slack.api_url)
        except AppTokenRefused as exc:
            raise UsageError(f"Slack refused SLACK_APP_TOKEN ({exc.error})") from None
        said += ", Socket Mode token accepted"
    return said


class _Warning(Exception):
    """A check that works but warns (the row says ``warn``; the exit status stays 0)."""


def _senders(settings: Settings) -> str:
    authserv_id = settings.replies.authserv_id
    if not authserv_id:
        raise _Warning(
            "PD_AUTHSERV_ID is not set: any From: is believed (a forged sender can join "
            "another person's case and get automatic mail)"
        )
    return f"only senders authenticated by {authserv_id} join cases and get automatic mail"


CHECKS: tuple[tuple[str, Callable[[Settings], str]], ...] = (
    ("database", _database),
    ("mailbox", _mailbox),
    ("smtp", _smtp),
    ("slack", _slack),
    ("senders", _senders),
)


def _failure(exc: Exception) -> str:
    from slack_sdk.errors import SlackApiError

    if isinstance(exc, SlackApiError):
        said = f"Slack said {exc.response.get('error', exc.response.status_code)}"
        needed = (
            exc.response.get("needed") if exc.response.get("error") == "missing_scope" else None
        )
        # the app was installed without a scope of slack_app_manifest.yaml: say which
        return (
            f"{said} (the app needs {needed}: reinstall it from the manifest)" if needed else said
        )
    if isinstance(exc, UsageError | MailError):
        return str(exc)
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


def cmd_check(args: argparse.Namespace, ctx: Context) -> int:
    """The settings were checked as for ``serve`` when the command line read them."""
    from storage.errors import MissingError

    settings, out = ctx.settings, ctx.out
    if settings.database.sqlite_file is not None and not settings.database.sqlite_file.is_file():
        raise MissingError(
            f"no database at {settings.database.sqlite_file} (PD_DATABASE_URL): "
            "`privacy-desk db upgrade` creates it"
        )
    rows = []
    for name, check in CHECKS:
        try:
            rows.append((name, "ok", check(settings)))
        except _Warning as exc:
            rows.append((name, "warn", str(exc)))
        except Exception as exc:  # every failure is a row of the table, never a traceback
            rows.append((name, "FAILED", _failure(exc)))
    width = max(len(name) for name, _, _ in rows)
    for name, state, said in rows:
        out.write(f"{name:<{width}}  {state:<6}  {said}\n")
    return 0 if all(state != "FAILED" for _, state, _ in rows) else 1


def add_parsers(sub: Subcommands) -> None:
    p = sub.add_parser("check", help="check the settings as serve does, then try every connection")
    p.set_defaults(func=cmd_check)
