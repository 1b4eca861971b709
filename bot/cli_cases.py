"""The case commands of ``privacy-desk``: the decisions of the case thread's buttons, for
operators without Slack (or while it is down), and the export of the labelled examples staff
made by reclassifying. Same rules, same audit trail (``bot.cases.CaseDesk``); ``--as NAME``
names the person acting, and the decisions reserved to approvers need NAME in ``PD_APPROVERS``.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TextIO

from sqlmodel import Session, col, select

from bot.cases import ASK_KINDS, CaseDesk
from bot.errors import UsageError
from bot.replies import Replies, ReplyError, ReplySettings
from handlers.intents import ALL_INTENTS
from storage.models import LabelledExample, MailMessage


def _decide(
    args: argparse.Namespace, database: Any, act: Callable[[CaseDesk], str], out: TextIO
) -> int:
    replies = ReplySettings.of(args.settings.replies)
    with database() as engine:
        try:
            said = act(CaseDesk(engine, Replies(engine, replies)))
        except ReplyError as exc:
            raise UsageError(str(exc)) from None
    out.write(said + "\n")
    return 0


def cmd_assign(args: argparse.Namespace, out: TextIO, database: Any) -> int:
    return _decide(
        args,
        database,
        lambda d: f"{d.assign(args.ref, to=args.person, actor=args.as_).ref}: {args.person}",
        out,
    )


def cmd_reclassify(args: argparse.Namespace, out: TextIO, database: Any) -> int:
    def act(desk: CaseDesk) -> str:
        case = desk.reclassify(
            args.ref, args.intents, actor=args.as_, not_a_request=args.not_a_request
        )
        due = case.answer_due.isoformat() if case.answer_due else "none"
        return f"{case.ref}: {', '.join(case.intents) or '(none)'}, answer due {due}"

    return _decide(args, database, act, out)


def cmd_ask(args: argparse.Namespace, out: TextIO, database: Any) -> int:
    def act(desk: CaseDesk) -> str:
        draft = desk.ask(args.ref, kind=args.kind, needed=args.need or [], actor=args.as_)
        return f"draft {draft.id} for {args.ref.upper()}: {draft.subject}"

    return _decide(args, database, act, out)


def cmd_extend(args: argparse.Namespace, out: TextIO, database: Any) -> int:
    def act(desk: CaseDesk) -> str:
        case, draft = desk.extend(args.ref, reason=args.reason, actor=args.as_)
        due = case.answer_due.isoformat() if case.answer_due else "none"
        return f"{case.ref}: answer due {due}; draft {draft.id} tells the requester"

    return _decide(args, database, act, out)


def cmd_reject(args: argparse.Namespace, out: TextIO, database: Any) -> int:
    def act(desk: CaseDesk) -> str:
        draft = desk.reject(
            args.ref,
            reasons=args.reason or [],
            scope="partial" if args.partial else "full",
            granted=args.granted or [],
            actor=args.as_,
        )
        return f"draft {draft.id} for {args.ref.upper()}: {draft.subject}"

    return _decide(args, database, act, out)


def cmd_close(args: argparse.Namespace, out: TextIO, database: Any) -> int:
    return _decide(
        args,
        database,
        lambda d: f"{d.close(args.ref, reason=args.reason, actor=args.as_).ref}: closed",
        out,
    )


def cmd_examples_export(args: argparse.Namespace, out: TextIO, database: Any) -> int:
    """The reclassified messages as a corpus folder (../shared/corpus/LABELS.md's format):
    ``NNN.eml`` as received and ``labels.jsonl``; the latest label of a message wins."""
    folder = Path(args.folder)
    if folder.exists() and any(folder.iterdir()):
        raise UsageError(f"{folder} is not empty; export into a new folder")
    with database() as engine, Session(engine) as session:
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
    out.write(f"{len(lines)} labelled examples written to {folder}\n")
    return 0


def _intent(value: str) -> str:
    if value not in ALL_INTENTS:
        choices = ", ".join(repr(i) for i in ALL_INTENTS)
        raise argparse.ArgumentTypeError(f"invalid choice: {value!r} (choose from {choices})")
    return value


def add_parsers(sub: Any, database: Any) -> None:
    """The case subcommands; ``database`` is the CLI's context manager for the engine."""

    def bound(func: Any) -> Any:
        return lambda args, out: func(args, out, partial(database, args.settings))

    def command(name: str, help_text: str, func: Any) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = sub.add_parser(name, help=help_text)
        p.add_argument("ref", metavar="REF")
        p.set_defaults(func=bound(func))
        return p

    p = command("assign", "give a case to someone", cmd_assign)
    p.add_argument("person", metavar="PERSON", help="a Slack user ID or a name")
    p.add_argument("--as", dest="as_", required=True, metavar="NAME")

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
    p.add_argument("--as", dest="as_", required=True, metavar="NAME")

    p = command("ask", "draft a request for identity documents or a clarification", cmd_ask)
    p.add_argument("--kind", choices=ASK_KINDS, default="identity")
    p.add_argument("--need", action="append", metavar="TEXT", help="what is needed (repeat)")
    p.add_argument("--as", dest="as_", required=True, metavar="NAME")

    p = command("extend", "extend a case's deadline once, where the law allows", cmd_extend)
    p.add_argument("--reason", required=True, help="told to the requester")
    p.add_argument("--as", dest="as_", required=True, metavar="NAME")

    p = command("reject", "draft a refusal with its reasons (APPI Art. 36)", cmd_reject)
    p.add_argument("--reason", action="append", metavar="TEXT", help="a reason (repeat)")
    p.add_argument("--partial", action="store_true", help="only part of the request is refused")
    p.add_argument("--granted", action="append", metavar="TEXT", help="what is granted (repeat)")
    p.add_argument("--as", dest="as_", required=True, metavar="NAME")

    p = command("close", "close a case without a further answer", cmd_close)
    p.add_argument("--reason", required=True)
    p.add_argument("--as", dest="as_", required=True, metavar="NAME")

    p = sub.add_parser("examples", help="labelled examples: staff reclassifications, imports")
    examples = p.add_subparsers(dest="examples_command", required=True, parser_class=type(p))
    e = examples.add_parser("export", help="write them as a corpus folder (NNN.eml, labels.jsonl)")
    e.add_argument("folder", metavar="FOLDER")
    e.set_defaults(func=bound(cmd_examples_export))
    from bot import cli_learning

    cli_learning.add_examples_import(examples, database)
