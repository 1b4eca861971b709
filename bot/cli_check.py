"""``privacy-desk check``: try every connection the desk needs and print a table.

The database (opened, schema at head), the mailbox (IMAP login and folder, or the Maildir), the
SMTP server (EHLO, STARTTLS and login, as sending does; or the ``file:`` folder) and Slack
(``auth.test`` with the bot token, the case channel, and ``apps.connections.open`` for Socket
Mode). Settings that cannot be read are reported in the same table. Nothing is sent; no secret
is printed. Exit 0 when everything answers, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from bot.errors import UsageError
from mail.errors import MailError


def _database() -> str:
    from sqlalchemy import text

    from bot.cli import database_url
    from storage.db import current_revision, describe, head_revision, open_database

    engine = open_database(database_url())
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        at = current_revision(engine)
        behind = "" if at == head_revision() else " (behind: run `privacy-desk db upgrade`)"
        return f"{describe(engine.url)}, schema {at}{behind}"
    finally:
        engine.dispose()


def _mailbox() -> str:
    from bot.cli import _mailbox as mailbox_setting
    from mail.imap import Connection

    config = mailbox_setting()
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


def _smtp() -> str:
    from bot.cli_replies import smtp_config
    from mail.smtp import probe

    return asyncio.run(probe(smtp_config()))


def _slack() -> str:
    from slack_sdk import WebClient

    token = os.environ.get("SLACK_BOT_TOKEN", "").strip()
    channel = os.environ.get("PD_SLACK_CHANNEL", "").strip()
    if not token and not channel:
        return "not configured (SLACK_BOT_TOKEN, PD_SLACK_CHANNEL)"
    if not token or not channel:
        raise UsageError("Slack needs both SLACK_BOT_TOKEN and PD_SLACK_CHANNEL")
    base_url = os.environ.get("PD_SLACK_API_URL", "").strip() or "https://slack.com/api/"
    client = WebClient(token=token, base_url=base_url, timeout=10)
    who = client.auth_test()
    info = client.conversations_info(channel=channel)
    if not info["channel"].get("is_member", True):
        raise UsageError(f"the bot is not in {channel}: invite it")
    said = f"auth.test as {who.get('user')} in {who.get('team')}, channel {channel} ok"
    app_token = os.environ.get("SLACK_APP_TOKEN", "").strip()
    if app_token:
        from bot.slack.socket import AppTokenRefused, check_app_token

        try:
            check_app_token(app_token, base_url=base_url)
        except AppTokenRefused as exc:
            raise UsageError(f"Slack refused SLACK_APP_TOKEN ({exc.error})") from None
        said += ", Socket Mode token accepted"
    return said


CHECKS: tuple[tuple[str, Callable[[], str]], ...] = (
    ("database", _database),
    ("mailbox", _mailbox),
    ("smtp", _smtp),
    ("slack", _slack),
)


def _failure(exc: Exception) -> str:
    from slack_sdk.errors import SlackApiError

    if isinstance(exc, SlackApiError):
        return f"Slack said {exc.response.get('error', exc.response.status_code)}"
    if isinstance(exc, UsageError | MailError):
        return str(exc)
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


def cmd_check(args: argparse.Namespace, out: TextIO) -> int:
    rows = []
    for name, check in CHECKS:
        try:
            rows.append((name, "ok", check()))
        except Exception as exc:  # every failure is a row of the table, never a traceback
            rows.append((name, "FAILED", _failure(exc)))
    width = max(len(name) for name, _, _ in rows)
    for name, state, said in rows:
        out.write(f"{name:<{width}}  {state:<6}  {said}\n")
    return 0 if all(state == "ok" for _, state, _ in rows) else 1


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("check", help="try every connection (database, mailbox, SMTP, Slack)")
    p.set_defaults(func=cmd_check)
