"""The reply commands of ``privacy-desk``: drafts, approval, the outbox and identity checks.

For operators without Slack (or while Slack is down): the same rules and the same audit trail as
the buttons in the case thread. ``--as NAME`` names the person acting; approvals need NAME in
``PD_APPROVERS``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.cli.context import Context, Subcommands
from bot.errors import UsageError
from templates import KINDS, TEMPLATE_NAMES

_AS = "who does this (recorded in the audit trail)"

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from bot.replies import NewFile, Replies


def _replies(engine: Engine, ctx: Context) -> Replies:
    from bot import wiring
    from bot.replies import Replies

    return Replies(engine, wiring.reply_settings(ctx.settings))


def _values(pairs: list[str], files: list[str]) -> dict[str, Any]:
    """``name=value`` pairs (a list value repeats its name) and ``name=@FILE`` texts."""
    values: dict[str, Any] = {}
    for pair in [*pairs, *files]:
        name, sep, text = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise UsageError(f"--set takes name=value, not {pair!r}")
        if text.startswith("@"):
            try:
                text = Path(text[1:]).read_text(encoding="utf-8")
            except OSError as exc:
                raise UsageError(f"cannot read {text[1:]}: {exc.strerror}") from None
        kind = KINDS.get(name, "text")
        if kind == "texts":
            values.setdefault(name, []).append(text)
        elif kind == "date":
            try:
                values[name] = date.fromisoformat(text)
            except ValueError:
                raise UsageError(f"{name} must be a date (YYYY-MM-DD), not {text!r}") from None
        elif kind == "moment":
            try:
                values[name] = datetime.fromisoformat(text)
            except ValueError:
                raise UsageError(f"{name} must be a time with its zone, not {text!r}") from None
        elif kind == "flag":
            values[name] = text.lower() in ("1", "yes", "true", "on")
        elif kind == "number":
            if not text.isdigit():
                raise UsageError(f"{name} must be a whole number, not {text!r}")
            values[name] = int(text)
        else:
            values[name] = text
    return values


def _files(paths: list[str], ctx: Context) -> list[NewFile]:
    """The files named on the command line, read whole (each is checked by ``Replies``); one
    over the size limit is refused before it is read."""
    from bot.replies import NewFile

    limit = ctx.settings.intake.attachment_max_bytes
    found = []
    for name in paths:
        path = Path(name)
        try:
            size = path.stat().st_size
            if size > limit:
                raise UsageError(
                    f"{path.name} is {size} bytes, over PD_ATTACHMENT_MAX_BYTES ({limit})"
                )
            found.append(NewFile(path.name, path.read_bytes()))
        except OSError as exc:
            raise UsageError(f"cannot read {name}: {exc.strerror}") from None
    return found


def cmd_drafts(args: argparse.Namespace, ctx: Context) -> int:
    from sqlmodel import Session

    from storage import repo

    with ctx.database() as engine, Session(engine) as session:
        case_id = None
        if args.ref:
            case = repo.case_by_ref(session, args.ref)
            if case is None:
                raise UsageError(f"no case {args.ref.upper()}")
            case_id = case.id
        rows = repo.drafts(session, case_id=case_id, status=None if args.all else "draft")
        refs = {c.id: c.ref for c in repo.list_cases(session)}
        files = repo.draft_files(session, [d.id for d in rows if d.id is not None])
        records = [
            {
                "id": d.id,
                "case": refs.get(d.case_id, "?"),
                "template": d.template,
                "language": d.language,
                "status": d.status,
                "revision": d.revision,
                "edited_by": d.edited_by,
                "approved_by": d.approved_by,
                "subject": d.subject,
                "body": d.body,
                "files": [
                    {"name": f.name, "type": f.mime_type, "size": f.size, "sha256": f.sha256}
                    for f in files.get(d.id or 0, [])
                    if f.revision <= d.revision
                ],
            }
            for d in rows
        ]
    if args.json:
        ctx.out.write(json.dumps(records, ensure_ascii=False, indent=2) + "\n")
        return 0
    for d, r in zip(rows, records, strict=True):
        ctx.out.write(
            f"{r['id']:>5}  {r['case']:<16} {r['template']:<20} {r['language']}  "
            f"{r['status']:<9} r{r['revision']}  {r['subject']}\n"
        )
        for f in files.get(d.id or 0, []):
            if f.revision <= d.revision:
                ctx.out.write(f"       + {f.name}  {f.size} bytes  {f.mime_type}\n")
        if args.ref:
            body = str(r["body"]).splitlines()
            ctx.out.write("\n" + "\n".join(f"      {line}" for line in body) + "\n\n")
    if not records:
        ctx.out.write("no drafts waiting\n")
    return 0


def cmd_draft(args: argparse.Namespace, ctx: Context) -> int:
    from sqlmodel import Session

    from bot.replies import ReplyError
    from handlers.replies import answer_template
    from storage import repo

    values = _values(args.set or [], [])
    files = _files(args.attach or [], ctx)
    with ctx.database() as engine:
        template = args.template
        if template is None:
            with Session(engine) as session:
                case = repo.case_by_ref(session, args.ref)
                template = answer_template(case.intents) if case else None
            if template is None:
                raise UsageError(
                    f"{args.ref.upper()}: name the template (no answer follows from its intents)"
                )
        try:
            draft = _replies(engine, ctx).draft(
                args.ref, template, values, editor=args.as_, files=files
            )
        except ReplyError as exc:
            raise UsageError(str(exc)) from None
    carried = f" ({len(files)} files)" if files else ""
    ctx.out.write(f"draft {draft.id} for {args.ref.upper()}: {draft.subject}{carried}\n")
    return 0


def cmd_attach(args: argparse.Namespace, ctx: Context) -> int:
    from bot.replies import ReplyError

    files = _files(args.files, ctx)
    with ctx.database() as engine:
        try:
            draft = _replies(engine, ctx).attach(args.draft_id, files, editor=args.as_)
        except ReplyError as exc:
            raise UsageError(f"not attached: {exc}") from None
    names = ", ".join(f.name for f in files)
    ctx.out.write(f"draft {draft.id} revision {draft.revision}: attached {names}\n")
    return 0


def cmd_approve(args: argparse.Namespace, ctx: Context) -> int:
    from bot.replies import ReplyError

    with ctx.database() as engine:
        try:
            done = _replies(engine, ctx).approve(
                args.draft_id, approver=args.as_, revision=args.revision
            )
        except ReplyError as exc:
            raise UsageError(f"not approved: {exc}") from None
    word = "queued" if done.outcome == "queued" else "was already approved and queued"
    ctx.out.write(f"draft {done.draft_id} {word}: {done.message_id}\n")
    return 0


def cmd_discard(args: argparse.Namespace, ctx: Context) -> int:
    from bot.replies import ReplyError

    with ctx.database() as engine:
        try:
            _replies(engine, ctx).discard(args.draft_id, actor=args.as_)
        except ReplyError as exc:
            raise UsageError(str(exc)) from None
    ctx.out.write(f"draft {args.draft_id} discarded\n")
    return 0


def cmd_verify(args: argparse.Namespace, ctx: Context) -> int:
    from bot.replies import ReplyError

    if bool(args.send_code) == bool(args.how):
        raise UsageError("verify takes either --send-code or --how TEXT")
    with ctx.database() as engine:
        replies = _replies(engine, ctx)
        try:
            if args.send_code:
                done = replies.send_code(args.ref, approver=args.as_)
                ctx.out.write(
                    f"{args.ref.upper()}: a one-time code is queued ({done.message_id})\n"
                )
            else:
                replies.mark_verified(args.ref, actor=args.as_, how=args.how)
                ctx.out.write(f"{args.ref.upper()}: identity verified ({args.how})\n")
        except ReplyError as exc:
            raise UsageError(str(exc)) from None
    return 0


def cmd_send(args: argparse.Namespace, ctx: Context) -> int:
    from bot import wiring

    config = ctx.settings.smtp.config
    with ctx.database() as engine:
        sender = wiring.outbox_sender(engine, ctx.settings)
        summary = asyncio.run(sender.run_once(limit=args.limit))
    done = (
        f"{summary.written} written (not sent)"
        if config.scheme == "file"
        else f"{summary.sent} sent"
    )
    ctx.out.write(f"{config.url}: {done}, {summary.deferred} deferred, {summary.failed} failed\n")
    return 1 if summary.failed else 0


def cmd_outbox(args: argparse.Namespace, ctx: Context) -> int:
    from sqlmodel import Session

    from storage import repo

    with ctx.database() as engine, Session(engine) as session:
        refs = {c.id: c.ref for c in repo.list_cases(session)}
        rows = [
            {
                "id": item.id,
                "case": refs.get(item.case_id, "-"),
                "template": item.template,
                "status": item.status,
                "automatic": item.automatic,
                "attempts": item.attempts,
                "queued_at": item.queued_at.isoformat(),
                "next_attempt_at": item.next_attempt_at.isoformat(),
                "sent_at": item.sent_at.isoformat() if item.sent_at else None,
                "last_error": item.last_error,
                "message_id": item.message_id,
            }
            for item in repo.outbox(session, status=args.status)
        ]
    if args.json:
        ctx.out.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        return 0
    for r in rows:
        when = r["sent_at"] or f"next {r['next_attempt_at']}"
        ctx.out.write(
            f"{r['id']:>5}  {r['case']:<16} {r['template']:<20} {r['status']:<8} "
            f"tries {r['attempts']}  {when}  {r['last_error'] or ''}\n"
        )
    if not rows:
        ctx.out.write("the outbox is empty\n")
    return 0


def add_parsers(sub: Subcommands) -> None:
    p = sub.add_parser("drafts", help="drafts waiting for approval (all of a case's with REF)")
    p.add_argument("ref", nargs="?", metavar="REF", help="the case reference, e.g. PD-2026-000123")
    p.add_argument("--all", action="store_true", help="approved, sent and discarded ones too")
    p.add_argument("--json", action="store_true", help="one JSON object per draft")
    p.set_defaults(func=cmd_drafts)

    p = sub.add_parser("draft", help="prepare a reply for a case from a template")
    p.add_argument("ref", metavar="REF", help="the case reference, e.g. PD-2026-000123")
    p.add_argument(
        "template",
        nargs="?",
        choices=TEMPLATE_NAMES,
        help="default: the answer the case's intents call for (deletion -> deletion_done, ...)",
    )
    p.add_argument(
        "--set",
        action="append",
        metavar="NAME=VALUE",
        help="a template value (repeat for lists; NAME=@FILE reads a text)",
    )
    p.add_argument(
        "--attach",
        action="append",
        metavar="FILE",
        help="a file the answer carries (repeat for several); the letter lists their names",
    )
    p.add_argument("--as", dest="as_", required=True, metavar="NAME", help=_AS)
    p.set_defaults(func=cmd_draft)

    p = sub.add_parser("attach", help="add files to a draft (a new revision to approve)")
    p.add_argument("draft_id", type=int, metavar="DRAFT_ID", help="the draft's number (see drafts)")
    p.add_argument("files", nargs="+", metavar="FILE", help="the files, sent under their names")
    p.add_argument("--as", dest="as_", required=True, metavar="NAME", help=_AS)
    p.set_defaults(func=cmd_attach)

    p = sub.add_parser("approve", help="approve a draft: its mail is queued and sent once")
    p.add_argument("draft_id", type=int, metavar="DRAFT_ID", help="the draft's number (see drafts)")
    p.add_argument("--as", dest="as_", required=True, metavar="NAME", help=_AS)
    p.add_argument("--revision", type=int, help="refuse if the draft changed since this one")
    p.set_defaults(func=cmd_approve)

    p = sub.add_parser("discard", help="drop a draft")
    p.add_argument("draft_id", type=int, metavar="DRAFT_ID", help="the draft's number (see drafts)")
    p.add_argument("--as", dest="as_", required=True, metavar="NAME", help=_AS)
    p.set_defaults(func=cmd_discard)

    p = sub.add_parser("verify", help="verify a requester's identity, or mail them a code")
    p.add_argument("ref", metavar="REF", help="the case reference, e.g. PD-2026-000123")
    p.add_argument("--send-code", action="store_true", help="mail a one-time code to reply with")
    p.add_argument("--how", help="how staff verified it (e.g. 'driving licence, call back')")
    p.add_argument("--as", dest="as_", required=True, metavar="NAME", help=_AS)
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser(
        "outbox", help="mail queued, sent (or written to a file:), failed or bounced"
    )
    p.add_argument(
        "--status",
        choices=("queued", "sent", "written", "failed", "bounced"),
        help="only mail in this state",
    )
    p.add_argument("--json", action="store_true", help="one JSON object per mail")
    p.set_defaults(func=cmd_outbox)

    p = sub.add_parser("send", help="one pass over the outbox (PD_SMTP_URL)")
    p.add_argument("--limit", type=int, default=100, help="send at most this many mails (100)")
    p.set_defaults(func=cmd_send)
