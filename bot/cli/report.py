"""The ``report`` command of ``privacy-desk``: one month's statistics, printed, written as
``report-YYYY-MM.csv`` and ``report-YYYY-MM.png`` into ``--out``, and posted to Slack with
``--slack`` (text only: ``SLACK_BOT_TOKEN``, ``PD_SLACK_CHANNEL``, ``PD_SLACK_API_URL``)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bot.cli.context import Context, Subcommands
from bot.errors import UsageError
from bot.wiring import SlackTarget
from handlers.stats import Month, MonthError

if TYPE_CHECKING:
    from bot.settings import SlackSection
    from handlers.stats import MonthReport


def _month(text: str) -> Month:
    try:
        return Month.parse(text)
    except MonthError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _slack(slack: SlackSection) -> SlackTarget:
    """Where to post, as ``serve`` posts."""
    target = SlackTarget.of(slack)
    if target is None:
        raise UsageError("--slack needs SLACK_BOT_TOKEN and PD_SLACK_CHANNEL")
    return target


def cmd_report(args: argparse.Namespace, ctx: Context) -> int:
    from bot import report

    out = ctx.out
    slack = _slack(ctx.settings.slack) if args.slack else None  # refused before anything is written
    now = datetime.now(UTC)
    month: Month = args.month or Month.before(now)
    language = ctx.settings.slack.staff_language
    with ctx.database() as engine:  # first: no database, no report folder either
        built = report.build(engine, month, as_of=now)
    folder = Path(args.out)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot write to {folder}: {exc.strerror}") from None
    csv_path, png_path = folder / f"report-{month}.csv", folder / f"report-{month}.png"
    try:
        report.write_csv(built, csv_path)
        report.write_chart(built, png_path, language)
    except OSError as exc:
        raise UsageError(f"cannot write to {folder}: {exc.strerror}") from None
    out.write(report.table(built, language))
    out.write(f"written: {csv_path}, {png_path}\n")
    if slack is None:
        return 0
    return _post(built, slack, out, language)


def _post(built: MonthReport, slack: SlackTarget, out: TextIO, language: str) -> int:
    from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler

    from bot import report

    # A 429 means nothing was posted, so it alone is retried: a lost answer might have been.
    client = slack.async_client(retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)])
    problem = report.post_to_slack(built, client, slack.channel, language)
    if problem is not None:
        sys.stderr.write(f"privacy-desk: {problem}; the files are written\n")
        return 1
    out.write(f"posted to Slack channel {slack.channel}\n")
    return 0


def add_parsers(sub: Subcommands) -> None:
    p = sub.add_parser(
        "report", help="a month's statistics: table, CSV and PNG chart (and Slack with --slack)"
    )
    p.add_argument(
        "--month",
        type=_month,
        default=None,
        metavar="YYYY-MM",
        help="the month the requests were received in, Tokyo time (default: last month)",
    )
    p.add_argument(
        "--out",
        default="var/reports",
        metavar="DIR",
        help="where report-YYYY-MM.csv and .png are written (default var/reports)",
    )
    p.add_argument("--slack", action="store_true", help="post the table to PD_SLACK_CHANNEL")
    p.set_defaults(func=cmd_report)
