"""The data-protection commands of ``privacy-desk``: ``purge`` (raw mail of cases closed longer
than ``PD_RETENTION_DAYS``, 365 by default), ``hold REF`` and ``release REF`` (a legal hold,
which purge respects; approvers only, audited), ``export REF`` (one case's whole file, for a
disclosure answer or an audit) and ``keys`` (``new``, ``rotate``) for the encryption at rest of
raw mail with ``PD_RAW_KEYS``.

``PD_RAW_KEYS`` is checked with every other setting when the command line starts, for every
command: a malformed key stops any command before the database is touched (exit 2, the key not
shown), and ``main`` applies the keys to the process (``bot.wiring.apply_process_state``).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.cli.context import Context, Subcommands
from bot.cli.output import INTERRUPTED, Progress
from bot.cli.output import plural as _plural
from bot.cli.output import tokyo_day as _day
from bot.errors import UsageError


def retention_days(given: int | None, setting: int) -> int:
    """``--days`` when given, else ``PD_RETENTION_DAYS`` (checked with the settings)."""
    if given is not None:
        if given < 1:
            raise UsageError("--days must be 1 or more")
        return given
    return setting


def cmd_purge(args: argparse.Namespace, ctx: Context) -> int:
    from bot import retention

    days = retention_days(args.days, ctx.settings.retention.days)
    smtp = ctx.settings.smtp
    folder = smtp.config.path if smtp.writes_files else None
    # One transaction per case: Ctrl-C keeps the cases purged so far, a second run does the rest.
    with ctx.database() as engine, Progress(None, unit="case") as progress:
        try:
            summary = retention.purge(
                engine,
                datetime.now(UTC),
                days,
                dry_run=args.dry_run,
                outbox_folder=folder,
                progress=progress.update,
            )
        except KeyboardInterrupt:
            progress.close()
            sys.stderr.write(progress.interrupted("case") + "\n")
            return INTERRUPTED
    for case in summary.cases:
        kept = f"; {_plural(case.queued, 'queued mail')} left to send" if case.queued else ""
        ctx.out.write(
            f"{case.ref:<16} closed {_day(case.closed_at)}  {_plural(case.messages, 'message')}, "
            f"{_plural(case.outbox, 'sent mail')}, {_plural(case.drafts, 'draft')}, "
            f"{_plural(case.notes, 'note')}{kept}\n"
        )
    verb = "would purge" if args.dry_run else "purged"
    ctx.out.write(
        f"{verb} {_plural(len(summary.cases), 'case')} closed more than {days} days ago"
        f" and {_plural(summary.caseless, 'message')} of no case\n"
    )
    if summary.examples:
        ctx.out.write(f"{verb} {_plural(summary.examples, 'imported labelled example')}\n")
    for ref in summary.held:
        ctx.out.write(f"{ref:<16} kept: on legal hold\n")
    if args.mailbox and not args.dry_run:
        _purge_mailbox(ctx)
    return 0


def _purge_mailbox(ctx: Context) -> None:
    """``--mailbox``: delete the processed and sent copies of purged cases from the IMAP mailbox,
    found by their content hash — the one exception to "the desk never deletes mail"."""
    from bot import retention
    from mail.errors import TransportError
    from mail.imap import MailboxConfig, delete_copies

    mailbox = ctx.settings.mailbox
    config = mailbox.config
    if not isinstance(config, MailboxConfig):
        raise UsageError("--mailbox needs an IMAP mailbox (PD_MAILBOX=imaps://...)")
    with ctx.database() as engine:
        came, went = retention.mailbox_copies(engine)
        gone: dict[str, int] = {}
        try:
            if came:  # where taken mail goes; the watched folder where the server has no MOVE
                gone |= delete_copies(config, [config.processed_folder, config.folder], came)
            if went and mailbox.sent_folder:
                gone |= delete_copies(config, [mailbox.sent_folder], went)
        except TransportError as exc:
            raise UsageError(f"mailbox copies not deleted: {exc}") from None
        retention.record_mailbox_purge(engine, gone)
    total = sum(gone.values())
    copies = "1 copy" if total == 1 else f"{total} copies"
    ctx.out.write(f"deleted {copies} of purged cases' mail from the mailbox\n")


def cmd_hold(args: argparse.Namespace, ctx: Context) -> int:
    from bot import retention

    with ctx.database() as engine:
        try:
            case = retention.hold(
                engine,
                args.ref,
                actor=args.as_,
                reason=args.reason,
                approvers=ctx.settings.replies.approvers,
                now=datetime.now(UTC),
            )
        except retention.HoldError as exc:
            raise UsageError(str(exc)) from None
    ctx.out.write(f"{case.ref} is on legal hold: purge keeps it until `release {case.ref}`\n")
    return 0


def cmd_release(args: argparse.Namespace, ctx: Context) -> int:
    from bot import retention

    with ctx.database() as engine:
        try:
            case = retention.release(
                engine, args.ref, actor=args.as_, approvers=ctx.settings.replies.approvers
            )
        except retention.HoldError as exc:
            raise UsageError(str(exc)) from None
    ctx.out.write(f"{case.ref} is released from legal hold\n")
    return 0


def cmd_export(args: argparse.Namespace, ctx: Context) -> int:
    from bot import retention

    ref = args.ref.upper()
    target = Path(args.out) if args.out else Path(ref)
    if target.exists() and (target.suffix.lower() == ".zip" or not target.is_dir()):
        raise UsageError(f"{target} already exists; export into a new file or folder")
    with ctx.database() as engine:
        found = retention.export_case(engine, ref, now=datetime.now(UTC))
    if found is None:
        raise UsageError(f"no case {ref}")
    try:
        written = retention.write_export(found, target)
    except retention.ExportTargetError as exc:
        raise UsageError(str(exc)) from None
    ctx.out.write(
        f"{found.ref}: case.json and {_plural(len(found.files), 'message')} in {written}\n"
    )
    if found.purged_at is not None:
        ctx.out.write(
            f"{found.ref} was purged on {_day(found.purged_at)}: its raw mail and texts "
            "are no longer held; the export has what is left\n"
        )
    return 0


def cmd_keys_new(args: argparse.Namespace, ctx: Context) -> int:
    from storage import crypto

    ctx.out.write(crypto.new_key() + "\n")
    return 0


def cmd_keys_rotate(args: argparse.Namespace, ctx: Context) -> int:
    from storage import crypto

    keyring = crypto.active()
    if keyring is None:
        raise UsageError(f"{crypto.SETTING} is not set: put the new key first, then the old ones")
    # One transaction per batch of rows: a second run after Ctrl-C finishes the work.
    with ctx.database() as engine, Progress(None, unit="row") as progress:
        try:
            done = crypto.rotate(engine, keyring, progress=progress.update)
        except KeyboardInterrupt:
            progress.close()
            sys.stderr.write(progress.interrupted("row") + "\n")
            return INTERRUPTED
    ctx.out.write(
        f"{_plural(done.rotated, 'row')} re-encrypted and {_plural(done.encrypted, 'row')} "
        f"encrypted with the first key of {crypto.SETTING}\n"
    )
    return 0


_AS = "who acts: a name in PD_APPROVERS (recorded in the audit trail)"


def add_parsers(sub: Subcommands) -> None:
    p = sub.add_parser(
        "purge", help="delete raw mail and texts of cases closed longer than PD_RETENTION_DAYS"
    )
    p.add_argument("--dry-run", action="store_true", help="list what would go, change nothing")
    p.add_argument("--days", type=int, metavar="N", help="instead of PD_RETENTION_DAYS (365)")
    p.add_argument(
        "--mailbox",
        action="store_true",
        help="also delete the processed and sent copies of purged cases from the IMAP mailbox "
        "(found by content hash; the one time the desk deletes mail)",
    )
    p.set_defaults(func=cmd_purge)

    p = sub.add_parser("hold", help="put a case on legal hold: purge keeps it (approvers)")
    p.add_argument("ref", metavar="REF", help="the case")
    p.add_argument("--reason", required=True, help="why (a lawsuit, a regulator's inquiry)")
    p.add_argument("--as", dest="as_", required=True, metavar="NAME", help=_AS)
    p.set_defaults(func=cmd_hold)

    p = sub.add_parser("release", help="lift a case's legal hold (approvers)")
    p.add_argument("ref", metavar="REF", help="the case")
    p.add_argument("--as", dest="as_", required=True, metavar="NAME", help=_AS)
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("export", help="write one case's whole file (a folder, or a .zip)")
    p.add_argument("ref", metavar="REF")
    p.add_argument(
        "--out", metavar="PATH", help="a new or empty folder, or a new NAME.zip (default: ./REF)"
    )
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("keys", help="keys for raw mail encrypted at rest (PD_RAW_KEYS)")
    keys = p.add_subparsers(dest="keys_command", required=True, parser_class=type(p))
    k = keys.add_parser("new", help="print a new key (put it first in PD_RAW_KEYS)")
    k.set_defaults(func=cmd_keys_new)
    k = keys.add_parser("rotate", help="encrypt every raw mail with the first key")
    k.set_defaults(func=cmd_keys_rotate)
