"""The case commands of ``privacy-desk``: ``cases``, ``case`` and ``attachment`` (the list, one
case's whole file read through ``bot.casefile``, and one attachment's bytes), the decisions of the case thread's buttons, for operators without Slack (or while it is
down), and the export of the labelled examples staff made by reclassifying. Same rules, same
audit trail (``bot.cases.CaseDesk``); ``--as NAME`` names the person acting, and the decisions
reserved to approvers need NAME in ``PD_APPROVERS``.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from bot.cli import merge
from bot.cli.context import Command, Context, Subcommands
from bot.cli.output import left, mask, table, tokyo_day, tokyo_time
from bot.errors import UsageError
from handlers.clock import TOKYO
from handlers.intents import ALL_INTENTS
from handlers.replies import ASK_KINDS
from handlers.sla import JURISDICTIONS
from handlers.status import Status

_AS = "who does this (recorded in the audit trail)"

if TYPE_CHECKING:
    from bot import casefile
    from bot.cases import CaseDesk
    from storage.repo import CaseLine


# ---- reading cases ---------------------------------------------------------------------------


def _case_summary(case: CaseLine, *, overdue: bool) -> dict[str, Any]:
    return {
        "ref": case.ref,
        "status": case.status,
        "kind": case.kind,
        "intents": list(case.intents),
        "language": case.language,
        "requester": mask(case.requester),
        "received_at": case.received_at.isoformat(),
        "answer_due": case.answer_due.isoformat() if case.answer_due else None,
        "overdue": overdue,  # storage.repo.overdue: a late paused case stays late
        "needs_triage": case.needs_triage,
        "triage_due": case.triage_due.isoformat() if case.triage_due else None,
        "flags": list(case.flags),
    }


def _due(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a day as YYYY-MM-DD: {value!r}") from None


def _count(value: str) -> int:
    if not value.isdigit():
        raise argparse.ArgumentTypeError(f"not a whole number of cases: {value!r}")
    return int(value)


def cmd_cases(args: argparse.Namespace, ctx: Context) -> int:
    from sqlmodel import Session

    from storage import repo

    out = ctx.out
    now = datetime.now(UTC)
    since = args.since and datetime.combine(args.since, time(), tzinfo=TOKYO).astimezone(UTC)
    with ctx.database() as engine, Session(engine) as session:
        cases, total = repo.case_page(
            session,
            status=args.status,
            overdue_at=now if args.overdue else None,
            assignee=args.assignee,
            intents=args.intent or (),
            received_since=since,
            limit=args.limit or None,
        )
        # Whether each is overdue is asked for the rows shown only (all of them: one query).
        ids = None if args.limit == 0 else [c.id for c in cases]
        late = repo.overdue_ids(session, now, ids)
        rows = [_case_summary(c, overdue=c.id in late) for c in cases]
    if args.json:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        return 0
    listed = [
        (
            r["ref"],
            r["status"],
            r["kind"],
            ", ".join(r["intents"]) or "-",
            r["language"],
            r["requester"],
            tokyo_day(r["answer_due"]),
            left(_due(r["answer_due"]), now),
            f"TRIAGE by {tokyo_day(r['triage_due'])}" if r["needs_triage"] else "",
        )
        for r in rows
    ]
    table(
        ("case", "status", "kind", "intents", "lang", "requester", "due", "left", "triage"),
        listed,
        out,
    )
    shown = f"{len(rows):,} of " if len(rows) < total else ""
    out.write(f"{shown}{total:,} case{'' if total == 1 else 's'}\n")
    return 0


def _attachment_record(a: casefile.Attachment) -> dict[str, Any]:
    return {"n": a.n, "name": a.name, "type": a.type, "size": a.size, "flagged": list(a.flagged)}


def _case_record(found: casefile.CaseFile) -> dict[str, Any]:
    """The case file as ``case --json`` prints it (the keys of before, and the whole file)."""
    facts = found.facts
    return {
        "ref": facts.ref,
        "status": facts.status,
        "kind": facts.kind,
        "intents": list(facts.intents),
        "language": facts.language,
        "requester": facts.requester,
        "received_at": facts.received_at.isoformat(),
        "answer_due": _when(facts.answer_due),
        "overdue": facts.overdue,
        "needs_triage": facts.needs_triage,
        "triage_due": _when(facts.triage_due),
        "flags": list(facts.flags),
        "requester_name": facts.requester_name,
        "addresses": list(facts.addresses),
        "ack_due": _when(facts.ack_due),
        "assignee": facts.assignee,
        "purged": found.purged,
        "merged_into": found.merged_into,
        "history": [
            {"ref": c.ref, "status": c.status, "received_at": c.received_at.isoformat()}
            for c in found.history
        ],
        "verification": {
            "verified": found.verification.verified,
            "verified_at": _when(found.verification.verified_at),
            "verified_by": found.verification.verified_by,
            "how": found.verification.verified_how,
            "code_expires_at": _when(found.verification.code_expires_at),
        },
        "pauses": [
            {
                "started_at": p.started_at.isoformat(),
                "ended_at": _when(p.ended_at),
                "reason": p.reason,
                "due_at": _when(p.due_at),
            }
            for p in found.pauses
        ],
        "messages": [
            {
                "id": m.id,
                "received_at": m.received_at.isoformat(),
                "direction": m.direction,
                "disposition": m.disposition,
                "message_id": m.message_id,
                "sender": m.sender,
                "subject": m.subject,
                "language": m.language,
                "intents": list(m.intents),
                "classification": dict(m.classification),
                "defects": list(m.defects),
                "size": m.size,
                "text": m.text,
                "quoted": m.quoted,
                "attachments": [_attachment_record(a) for a in m.attachments],
            }
            for m in found.messages
        ],
        "drafts": [
            {
                "id": d.id,
                "template": d.template,
                "language": d.language,
                "status": d.status,
                "revision": d.revision,
                "subject": d.subject,
                "body": d.body,
                "edited_by": d.edited_by,
                "approved_by": d.approved_by,
                "approved_at": _when(d.approved_at),
                "created_at": d.created_at.isoformat(),
            }
            for d in found.drafts
        ],
        "notes": [{"at": n.at.isoformat(), "by": n.actor, "text": n.text} for n in found.notes],
        "audit": [
            {"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "detail": dict(e.detail)}
            for e in found.events
        ],
    }


def _indented(text: str, out: TextIO, prefix: str = "        ") -> None:
    for line in text.rstrip("\n").split("\n"):
        out.write(f"{prefix}{line}".rstrip() + "\n")


def cmd_case(args: argparse.Namespace, ctx: Context) -> int:
    from sqlmodel import Session

    from bot import casefile

    out = ctx.out
    now = datetime.now(UTC)
    with ctx.database() as engine, Session(engine) as session:
        found = casefile.load(
            session, args.ref, max_bytes=ctx.settings.intake.attachment_max_bytes, now=now
        )
    if found is None:
        raise UsageError(f"no case {args.ref.upper()}")
    record = _case_record(found)
    if args.json:
        out.write(json.dumps(record, ensure_ascii=False, indent=2) + "\n")
        return 0
    out.write(f"{record['ref']}  {record['status']}  {record['kind']}\n")
    out.write(f"  intents     {', '.join(record['intents']) or '-'}\n")
    out.write(f"  requester   {record['requester_name']} <{record['requester']}>\n")
    out.write(f"  language    {record['language']}\n")
    out.write(f"  assignee    {record['assignee'] or '-'}\n")
    out.write(f"  received    {tokyo_time(record['received_at'])}\n")
    out.write(f"  ack due     {tokyo_time(record['ack_due'])}\n")
    answer_due = _due(record["answer_due"])
    out.write(f"  answer due  {tokyo_time(record['answer_due'])}  {left(answer_due, now)}\n")
    if record["needs_triage"]:
        triage_due = _due(record["triage_due"])
        out.write(
            f"  TRIAGE      nobody has decided what it asks for: decide by "
            f"{tokyo_time(record['triage_due'])}  {left(triage_due, now)}\n"
            f"              (privacy-desk reclassify {record['ref']} INTENT... | --not-a-request)\n"
        )
    if record["flags"]:
        out.write(f"  flags       {', '.join(record['flags'])}\n")
    merge.write_links(record, out)
    out.write(f"  identity    {_verification(found.verification)}\n")
    for p in found.pauses:
        until = tokyo_time(p.ended_at) if p.ended_at else "(waiting)"
        out.write(f"  paused      {tokyo_time(p.started_at)} – {until}  {p.reason}\n")
    if found.purged:
        out.write(f"  PURGED      {tokyo_time(found.facts.purged_at)}: the mail texts are gone\n")
    out.write("  messages\n")
    for m in found.messages:
        out.write(
            f"    {tokyo_time(m.received_at)}  {m.direction:<3} {m.disposition:<8} "
            f"{', '.join(m.intents) or '-'}  {m.subject}\n"
        )
        out.write(f"      from {m.sender or '-'}  (message {m.id})\n")
        for intent, reasons in m.classification.get("reasons", {}).items():
            out.write(f"      {intent}: {'; '.join(reasons)}\n")
        for reason in m.classification.get("triage_reasons", []):
            out.write(f"      triage: {reason}\n")
        if m.text is None:
            gone = "purged" if not m.raw_kept else "unreadable: " + "; ".join(m.defects[-1:])
            out.write(f"      (text {gone})\n")
        else:
            _indented(m.text or "(no text)", out)
            if m.quoted:
                if args.quoted:
                    out.write("      quoted history and signature:\n")
                    _indented(m.quoted, out, "        | ")
                else:
                    out.write("      (quoted history and signature hidden: --quoted)\n")
        for a in m.attachments:
            warn = f"  FLAGGED: {', '.join(a.flagged)}" if a.flagged else ""
            out.write(f"      [{a.n}] {a.name or '(no name)'}  {a.type}  {size(a.size)}{warn}\n")
    if found.drafts:
        out.write("  drafts\n")
    for d in found.drafts:
        approved = f", approved by {d.approved_by}" if d.approved_by else ""
        out.write(
            f"    draft {d.id}  {d.status}  {d.template}  revision {d.revision}"
            f" (edited by {d.edited_by or '-'}{approved})\n"
        )
        out.write(f"      subject: {d.subject}\n")
        _indented(d.body, out)
    if found.notes:
        out.write("  notes\n")
    for n in found.notes:
        out.write(f"    {tokyo_time(n.at)}  {n.actor}\n")
        _indented(n.text or "(purged)", out)
    out.write("  audit trail\n")
    for e in found.events:
        what = e.action
        if what == "mail written":  # a file: outbox: say where it went, not that it was sent
            what = f"mail written to {e.detail.get('file', '?')} (not sent)"
        out.write(f"    {tokyo_time(e.at)}  {e.actor:<8} {what}\n")
    return 0


def _verification(v: casefile.Verification) -> str:
    if v.verified:
        return f"verified {tokyo_time(v.verified_at)} by {v.verified_by} ({v.verified_how or '-'})"
    if v.code_expires_at:
        return f"not verified; a code was mailed (valid until {tokyo_time(v.code_expires_at)})"
    return "not verified"


def size(n: int) -> str:
    """Bytes as staff read them: 512 B, 3.4 KiB, 12.0 MiB."""
    if n < 1024:
        return f"{n} B"
    return f"{n / 1024:.1f} KiB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.1f} MiB"


def cmd_attachment(args: argparse.Namespace, ctx: Context) -> int:
    """Attachment N of a case, byte for byte, into a new file (0600) or to stdout; audited."""
    import hashlib

    from sqlmodel import Session

    from bot import casefile
    from storage import repo
    from storage.db import writer

    target = None if args.out == "-" else Path(args.out)
    if target is not None and target.exists():
        raise UsageError(f"{target} exists; name a new file")
    sink = None if target is not None else getattr(ctx.out, "buffer", None)
    if target is None and sink is None:
        raise UsageError("this output takes no bytes; use --out FILE")
    with ctx.database() as engine, Session(writer(engine)) as session:
        found = casefile.attachment(
            session, args.ref, args.n, max_bytes=ctx.settings.intake.attachment_max_bytes
        )
        case = repo.case_by_ref(session, args.ref)
        if found is None or case is None:
            what = "no case" if case is None else f"no attachment {args.n} in"
            raise UsageError(f"{what} {args.ref.upper()}")
        if target is not None:
            try:
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                raise UsageError(f"{target} exists; name a new file") from None
            except OSError as exc:
                raise UsageError(f"cannot write {target}: {exc.strerror}") from None
            with os.fdopen(fd, "wb") as file:
                file.write(found.data)
        else:
            assert sink is not None
            sink.write(found.data)
            sink.flush()
        digest = hashlib.sha256(found.data).hexdigest()
        repo.audit(
            session,
            case.id,
            args.as_ or _login(),
            "attachment exported",
            n=args.n,
            sha256=digest,
            size=len(found.data),
            flagged=list(found.info.flagged),
        )
        session.commit()
    if target is not None:
        warn = f" (flagged: {', '.join(found.info.flagged)})" if found.info.flagged else ""
        sys.stderr.write(f"attachment {args.n} written to {target}{warn}\n")
    return 0


# ---- deciding ----------------------------------------------------------------------------------


def _decide(ctx: Context, act: Callable[[CaseDesk], str]) -> int:
    from bot import wiring
    from bot.cases import CaseDesk
    from bot.replies import Replies, ReplyError

    replies = wiring.reply_settings(ctx.settings)
    with ctx.database() as engine:
        try:
            said = act(CaseDesk(engine, Replies(engine, replies)))
        except ReplyError as exc:
            raise UsageError(str(exc)) from None
    ctx.out.write(said + "\n")
    return 0


def cmd_assign(args: argparse.Namespace, ctx: Context) -> int:
    return _decide(
        ctx, lambda d: f"{d.assign(args.ref, to=args.person, actor=args.as_).ref}: {args.person}"
    )


def cmd_reclassify(args: argparse.Namespace, ctx: Context) -> int:
    def act(desk: CaseDesk) -> str:
        case = desk.reclassify(
            args.ref,
            args.intents,
            actor=args.as_,
            not_a_request=args.not_a_request,
            jurisdiction=args.jurisdiction,
        )
        due = case.answer_due.isoformat() if case.answer_due else "none"
        intents = ", ".join(case.intents) or "(none)"
        return f"{case.ref}: {intents}, answer due {due} ({case.jurisdiction})"

    return _decide(ctx, act)


def cmd_ask(args: argparse.Namespace, ctx: Context) -> int:
    def act(desk: CaseDesk) -> str:
        draft = desk.ask(args.ref, kind=args.kind, needed=args.need or [], actor=args.as_)
        return f"draft {draft.id} for {args.ref.upper()}: {draft.subject}"

    return _decide(ctx, act)


def cmd_extend(args: argparse.Namespace, ctx: Context) -> int:
    def act(desk: CaseDesk) -> str:
        case, draft = desk.extend(args.ref, reason=args.reason, actor=args.as_)
        due = case.answer_due.isoformat() if case.answer_due else "none"
        return f"{case.ref}: answer due {due}; draft {draft.id} tells the requester"

    return _decide(ctx, act)


def cmd_reject(args: argparse.Namespace, ctx: Context) -> int:
    def act(desk: CaseDesk) -> str:
        draft = desk.reject(
            args.ref,
            reasons=args.reason or [],
            scope="partial" if args.partial else "full",
            granted=args.granted or [],
            actor=args.as_,
        )
        return f"draft {draft.id} for {args.ref.upper()}: {draft.subject}"

    return _decide(ctx, act)


def cmd_close(args: argparse.Namespace, ctx: Context) -> int:
    return _decide(
        ctx, lambda d: f"{d.close(args.ref, reason=args.reason, actor=args.as_).ref}: closed"
    )


def cmd_link(args: argparse.Namespace, ctx: Context) -> int:
    def act(desk: CaseDesk) -> str:
        moved = desk.link(args.ref, args.messages, actor=args.as_)
        return f"{args.ref.upper()}: {len(moved)} messages linked"

    return _decide(ctx, act)


def cmd_examples_export(args: argparse.Namespace, ctx: Context) -> int:
    """The reclassified messages as a corpus folder (../shared/corpus/LABELS.md's format):
    ``NNN.eml`` as received and ``labels.jsonl``; the latest label of a message wins."""
    from sqlmodel import Session, col, select

    from storage.models import LabelledExample, MailMessage

    folder = Path(args.folder)
    if folder.exists() and any(folder.iterdir()):
        raise UsageError(f"{folder} is not empty; export into a new folder")
    with ctx.database() as engine, Session(engine) as session:
        latest: dict[int, LabelledExample] = {}
        staff = select(LabelledExample).where(col(LabelledExample.message_id).is_not(None))
        for example in session.exec(staff.order_by(col(LabelledExample.id))):
            assert example.message_id is not None
            latest[example.message_id] = example
        folder.mkdir(parents=True, exist_ok=True)
        lines = []
        for number, (message_id, example) in enumerate(sorted(latest.items()), start=1):
            message = session.get(MailMessage, message_id)
            if message is None or message.raw is None:
                continue
            name = f"{number:03d}.eml"
            (folder / name).write_bytes(message.raw)
            record = {"file": name, "intents": example.intents, "language": example.language}
            lines.append(json.dumps(record, ensure_ascii=False))
    (folder / "labels.jsonl").write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    ctx.out.write(f"{len(lines)} labelled examples written to {folder}\n")
    return 0


def _intent(value: str) -> str:
    if value not in ALL_INTENTS:
        choices = ", ".join(repr(i) for i in ALL_INTENTS)
        raise argparse.ArgumentTypeError(f"invalid choice: {value!r} (choose from {choices})")
    return value


def add_listing_parsers(sub: Subcommands) -> None:
    p = sub.add_parser("cases", help="list cases with their deadlines")
    p.add_argument(
        "--status",
        default=None,
        choices=list(Status),
        metavar="STATUS",
        help=f"only cases in this status: {', '.join(Status)}",
    )
    p.add_argument("--overdue", action="store_true", help="only cases past their deadline")
    p.add_argument("--assignee", metavar="ID", help="only cases assigned to ID")
    p.add_argument(
        "--intent",
        action="append",
        type=_intent,
        metavar="INTENT",
        help=f"only cases asking for INTENT (repeat: any of them): {', '.join(ALL_INTENTS)}",
    )
    p.add_argument(
        "--since",
        type=_day,
        metavar="YYYY-MM-DD",
        help="only cases received on that day (Tokyo) or later",
    )
    p.add_argument(
        "--limit",
        type=_count,
        default=50,
        metavar="N",
        help="show at most N cases, soonest deadline first (default 50; 0 for all)",
    )
    p.add_argument("--json", action="store_true", help="one JSON object per case")
    p.set_defaults(func=cmd_cases)

    p = sub.add_parser("case", help="one case's whole file")
    p.add_argument("ref", metavar="REF", help="the case reference, e.g. PD-2026-000123")
    p.add_argument("--json", action="store_true", help="the case file as one JSON object")
    p.add_argument(
        "--quoted",
        action="store_true",
        help="also show each message's quoted history and signature",
    )
    p.set_defaults(func=cmd_case)

    p = sub.add_parser("attachment", help="one attachment of a case, byte for byte")
    p.add_argument("ref", metavar="REF", help="the case reference, e.g. PD-2026-000123")
    p.add_argument("n", type=_number, metavar="N", help="the attachment's number, as `case` lists")
    p.add_argument(
        "--out",
        required=True,
        metavar="FILE",
        help="a new file to write (0600; never overwritten), or - for stdout",
    )
    p.add_argument(
        "--as",
        dest="as_",
        default=None,
        metavar="NAME",
        help=f"{_AS}; default: your login name",
    )
    p.set_defaults(func=cmd_attachment)


def _login() -> str:
    """Who runs the command, for the audit trail when ``--as`` is not given."""
    try:
        return getpass.getuser()[:64]
    except (KeyError, OSError):  # no login name and no passwd entry (a bare container)
        return "command line"


def _number(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"not an attachment number (1, 2, ...): {value!r}")
    return int(value)


def add_parsers(sub: Subcommands) -> Subcommands:
    """The decision subcommands and ``examples export``; the ``examples`` subparsers, for
    ``examples import`` (``bot.cli.learning``)."""

    def command(name: str, help_text: str, func: Command) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = sub.add_parser(name, help=help_text)
        p.add_argument("ref", metavar="REF", help="the case reference, e.g. PD-2026-000123")
        p.set_defaults(func=func)
        return p

    p = command("assign", "give a case to someone", cmd_assign)
    p.add_argument("person", metavar="PERSON", help="a Slack user ID or a name")
    p.add_argument("--as", dest="as_", required=True, metavar="NAME", help=_AS)

    p = command(
        "reclassify", "say what a case really asks for (its deadline follows)", cmd_reclassify
    )
    p.add_argument(
        "intents",
        nargs="*",  # not choices=: argparse checks an empty list against them (bpo-27227)
        type=_intent,
        metavar="INTENT",
        help=f"what the case asks for, one or more of: {', '.join(ALL_INTENTS)}",
    )
    p.add_argument(
        "--not-a-request",
        action="store_true",
        help="the case asks for no right (its provisional legal clock is removed; approvers only)",
    )
    p.add_argument(
        "--jurisdiction",
        choices=JURISDICTIONS,
        help="the law the case runs under (its deadlines are computed again)",
    )
    p.add_argument("--as", dest="as_", required=True, metavar="NAME", help=_AS)

    p = command("ask", "draft a request for identity documents or a clarification", cmd_ask)
    p.add_argument(
        "--kind", choices=ASK_KINDS, default="identity", help="what to ask for (identity)"
    )
    p.add_argument("--need", action="append", metavar="TEXT", help="what is needed (repeat)")
    p.add_argument("--as", dest="as_", required=True, metavar="NAME", help=_AS)

    p = command("extend", "extend a case's deadline once, where the law allows", cmd_extend)
    p.add_argument("--reason", required=True, help="told to the requester")
    p.add_argument("--as", dest="as_", required=True, metavar="NAME", help=_AS)

    p = command("reject", "draft a refusal with its reasons (APPI Art. 36)", cmd_reject)
    p.add_argument("--reason", action="append", metavar="TEXT", help="a reason (repeat)")
    p.add_argument("--partial", action="store_true", help="only part of the request is refused")
    p.add_argument("--granted", action="append", metavar="TEXT", help="what is granted (repeat)")
    p.add_argument("--as", dest="as_", required=True, metavar="NAME", help=_AS)

    p = command("close", "close a case without a further answer", cmd_close)
    p.add_argument("--reason", required=True, help="why, for the case file and the audit trail")
    p.add_argument("--as", dest="as_", required=True, metavar="NAME", help=_AS)

    p = command(
        "link", "join mail to a case by hand (approvers; e.g. an unauthenticated one)", cmd_link
    )
    p.add_argument("messages", nargs="+", metavar="MESSAGE", help="a message number or a case REF")
    p.add_argument("--as", dest="as_", required=True, metavar="NAME", help=_AS)

    merge.add_parsers(sub)

    p = sub.add_parser("examples", help="labelled examples: staff reclassifications, imports")
    examples = p.add_subparsers(dest="examples_command", required=True, parser_class=type(p))
    e = examples.add_parser("export", help="write them as a corpus folder (NNN.eml, labels.jsonl)")
    e.add_argument("folder", metavar="FOLDER", help="the corpus folder to write")
    e.set_defaults(func=cmd_examples_export)
    return examples
