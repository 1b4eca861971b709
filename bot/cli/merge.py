"""The ``merge`` command of ``privacy-desk``: an approver merges a duplicate case into another
(``bot.cases.CaseDesk.merge``: its mail moves, it is closed with the flag ``merged_into``, both
audit trails record it), the same decision as the Slack case thread's **Merge into…** button."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any, TextIO

from bot.cli.context import Context, Subcommands
from bot.cli.output import tokyo_day

if TYPE_CHECKING:
    pass

_AS = "who does this (recorded in the audit trail; must be in PD_APPROVERS)"


def cmd_merge(args: argparse.Namespace, ctx: Context) -> int:
    from bot import wiring
    from bot.cases import CaseDesk
    from bot.errors import UsageError
    from bot.replies import Replies, ReplyError

    replies = wiring.reply_settings(ctx.settings)
    with ctx.database() as engine:
        try:
            target = CaseDesk(engine, Replies(engine, replies)).merge(
                args.ref, args.into, actor=args.as_, force=args.force
            )
        except ReplyError as exc:
            raise UsageError(str(exc)) from None
    due = target.answer_due.isoformat() if target.answer_due else "none"
    forced = " (forced: different requesters)" if args.force else ""
    ctx.out.write(
        f"{args.ref.strip().upper()} merged into {target.ref}{forced}; "
        f"{target.ref} answer due {due}\n"
    )
    return 0


def add_parsers(sub: Subcommands) -> None:
    p = sub.add_parser(
        "merge", help="merge a duplicate case into another (approvers; the duplicate is closed)"
    )
    p.add_argument("ref", metavar="REF", help="the duplicate, closed once merged")
    p.add_argument("into", metavar="INTO_REF", help="the case that takes its mail")
    p.add_argument("--as", dest="as_", required=True, metavar="NAME", help=_AS)
    p.add_argument(
        "--force",
        action="store_true",
        help="merge even though the two cases' requesters differ (audited as forced)",
    )
    p.set_defaults(func=cmd_merge)


# ---- what ``case REF`` shows of merges and of the requester's other cases --------------------


def write_links(record: dict[str, Any], out: TextIO) -> None:
    """The lines of ``case_links`` in ``case REF``'s text."""
    if record.get("merged_into"):
        out.write(f"  merged into {record['merged_into']}\n")
    for n, other in enumerate(record.get("history") or []):
        label = "history" if n == 0 else ""
        day = tokyo_day(other["received_at"])
        out.write(f"  {label:<11} {other['ref']}  {other['status']:<21} received {day}\n")
