"""The ``privacy-desk`` command line: one console script, one subcommand per job.

Exit status: 0 done; 1 done, but some messages could not be read or a quality bar was missed;
2 bad arguments, settings or input (a one-line message on stderr).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from bot.intake import Intake
    from bot.settings import Settings

from bot import wiring
from bot.errors import UsageError
from bot.wiring import database
from bot.wiring import install_model as _install_model
from handlers.classify import Classification, classify
from handlers.evaluate import CorpusError, Labelled, load_labels, score
from mail import sources
from mail.errors import ParseError
from mail.parse import ParsedMessage, parse_message
from mail.sources import Source
from storage.errors import StorageError


def iter_sources(paths: Sequence[str]) -> Iterator[Source]:
    try:
        yield from sources.iter_sources(paths)
    except sources.SourceError as exc:
        raise UsageError(str(exc)) from None


def _result_line(name: str, msg: ParsedMessage, result: Classification) -> dict[str, object]:
    return {
        "file": name,
        "message_id": msg.message_id,
        "language": msg.language,
        **result.as_dict(),
        "machine": list(msg.machine_signals),
        "defects": list(msg.defects),
    }


def _classify_with_desk_model(settings: Settings) -> None:
    """``classify`` and ``eval`` use the desk's active model when there is a desk database (a
    SQLite file that exists, or a server); without one, the packaged model."""
    sqlite = settings.database.sqlite_file
    if sqlite is not None and not sqlite.is_file():
        return
    with database(settings) as engine:
        _install_model(engine)


def cmd_classify(args: argparse.Namespace, out: TextIO) -> int:
    _classify_with_desk_model(args.settings)
    failures = 0
    rows: list[tuple[str, str, str, str]] = []
    for source in iter_sources(args.paths):
        try:
            msg = parse_message(source.raw)
        except ParseError as exc:
            failures += 1
            if args.json:
                out.write(json.dumps({"file": source.name, "error": str(exc)}) + "\n")
            else:
                rows.append((source.name, "-", f"ERROR: {exc}", ""))
            continue
        result = classify(msg)
        if args.json:
            line = _result_line(source.name, msg, result)
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
            continue
        intents = ", ".join(f"{i} {result.confidence[i]:.2f}" for i in result.intents) or "(none)"
        rows.append((source.name, msg.language, intents, "TRIAGE" if result.needs_triage else ""))
        if args.explain:
            for intent in result.intents:
                rows.append(("", "", f"  {intent}: " + "; ".join(result.reasons[intent]), ""))
            for reason in result.triage_reasons:
                rows.append(("", "", f"  triage: {reason}", ""))
    if not args.json:
        _table(("message", "lang", "intents", "triage"), rows, out)
    return 1 if failures else 0


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]], out: TextIO) -> None:
    widths = [max([len(header[i])] + [len(r[i]) for r in rows]) for i in range(len(header) - 1)]
    for row in (header, *rows):
        cells = [c.ljust(w) for c, w in zip(row[:-1], widths, strict=True)] + [row[-1]]
        out.write("  ".join(cells).rstrip() + "\n")


def cmd_eval(args: argparse.Namespace, out: TextIO) -> int:
    folder = Path(args.corpus)
    if not folder.is_dir():
        raise UsageError(f"{folder}: not a folder")
    _classify_with_desk_model(args.settings)
    try:
        gold = load_labels(folder)
    except CorpusError as exc:
        raise UsageError(str(exc)) from None
    kept: list[Labelled] = []
    predicted: list[frozenset[str]] = []
    languages: list[str] = []
    triage: list[bool] = []
    errors: list[str] = []
    mistakes: list[str] = []
    for item in gold:
        path = folder / item.file
        try:
            msg = parse_message(path.read_bytes())
        except (OSError, ParseError) as exc:
            errors.append(f"{item.file}: {exc}")
            continue
        result = classify(msg)
        kept.append(item)
        predicted.append(frozenset(result.intents))
        languages.append(msg.language)
        triage.append(result.needs_triage)
        if frozenset(result.intents) != item.intents:
            mistakes.append(
                f"{item.file}: expected {sorted(item.intents)} got {list(result.intents)}"
            )
    report = score(kept, predicted, languages, triage)
    if args.json:
        out.write(json.dumps({**report.as_dict(), "errors": errors}, ensure_ascii=False) + "\n")
    else:
        rows = [
            (s.intent, str(s.support), f"{s.precision:.3f}", f"{s.recall:.3f}", f"{s.f1:.3f}")
            for s in report.per_intent
        ]
        _table(("intent", "support", "precision", "recall", "f1"), rows, out)
        out.write(
            f"\nmessages {report.messages}  macro-F1 {report.macro_f1:.3f}  "
            f"exact-set accuracy {report.exact_set_accuracy:.3f}  "
            f"rights recall {report.rights_recall:.3f} "
            f"(messages with a missed rights request: {report.rights_messages_missed})\n"
            f"machine-sent mail treated as a request: {report.machine_as_request}  "
            f"language accuracy {report.language_accuracy:.3f}  "
            f"flagged for triage: {report.triaged}\n"
        )
        if args.show_errors:
            for line in mistakes:
                out.write(f"  {line}\n")
        for line in errors:
            out.write(f"unreadable: {line}\n")
    failed = bool(errors)
    if args.min_macro_f1 is not None and report.macro_f1 < args.min_macro_f1:
        sys.stderr.write(f"macro-F1 {report.macro_f1:.3f} is below {args.min_macro_f1}\n")
        failed = True
    if args.min_rights_recall is not None and report.rights_recall < args.min_rights_recall:
        sys.stderr.write(
            f"rights recall {report.rights_recall:.3f} is below {args.min_rights_recall}\n"
        )
        failed = True
    return 1 if failed else 0


def cmd_db_upgrade(args: argparse.Namespace, out: TextIO) -> int:
    from storage.db import describe, make_engine, upgrade

    engine = make_engine(args.settings.database.url, create=True)
    try:
        before, after = upgrade(engine)
    finally:
        engine.dispose()
    where = describe(engine.url)
    if before == after:
        out.write(f"{where}: schema already at {after}\n")
    else:
        out.write(f"{where}: schema upgraded from {before or 'nothing'} to {after}\n")
    return 0


def cmd_ingest(args: argparse.Namespace, out: TextIO) -> int:
    from bot.intake import Intake
    from bot.replies import ReplySettings

    _check_paths(args.paths)  # before the database is touched: nothing half-written
    replies = ReplySettings.of(args.settings.replies)
    with database(args.settings, create=True) as engine:
        _install_model(engine)  # before the intake workers start: they get the same one
        return _ingest(args, Intake(engine, replies=replies), out)


def _ingest(args: argparse.Namespace, intake: Intake, out: TextIO) -> int:
    from dataclasses import replace

    from bot.intake import read_all

    counts: dict[str, int] = {}
    historic = bool(getattr(args, "historic", False))
    listed, raws = itertools.tee(iter_sources(args.paths))
    timeout = args.settings.intake.classify_timeout
    reads = read_all((s.raw for s in raws), workers=args.workers, timeout=timeout)
    if historic:  # the operator says so: everything taken here is historic
        reads = (replace(r, historic=True) for r in reads)
    results = intake.process_many(reads, batch=args.batch)
    for source, result in zip(listed, results, strict=True):
        counts[result.action] = counts.get(result.action, 0) + 1
        if args.quiet:
            continue
        due = result.answer_due.astimezone(TOKYO).strftime("%Y-%m-%d") if result.answer_due else ""
        out.write(
            f"{result.ref or '-':<16} {result.action:<11} {', '.join(result.intents) or '-':<34} "
            f"{('due ' + due) if due else '':<14} {source.name}\n"
        )
    total = sum(counts.values())
    summary = ", ".join(f"{n} {action}" for action, n in sorted(counts.items()))
    out.write(f"{total} messages: {summary or 'none'}\n")
    taken = total - counts.get("duplicate", 0)
    if historic and taken:
        intake.historic_taken(taken, backlog_days=0, source="ingest")
        out.write(f"taken in as historic: {taken} (one summary in Slack, no acknowledgements)\n")
    # Quarantined messages are kept, but the operator should know some could not be read.
    return 1 if counts.get("quarantined") else 0


def _check_paths(paths: Sequence[str]) -> None:
    try:
        sources.check(paths)
    except sources.SourceError as exc:
        raise UsageError(str(exc)) from None


TOKYO = ZoneInfo("Asia/Tokyo")


def _mask(address: str) -> str:
    """``m***@example.jp``: enough for staff to recognise, not enough to copy."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}" if domain else (address[:1] + "***" if address else "")


def _left(due: datetime | None, now: datetime) -> str:
    if due is None:
        return ""
    seconds = (due - now).total_seconds()
    days = abs(seconds) / 86400
    return f"{days:.1f}d left" if seconds >= 0 else f"{days:.1f}d OVERDUE"


def _case_summary(case: Any, now: datetime) -> dict[str, Any]:
    return {
        "ref": case.ref,
        "status": case.status,
        "kind": case.kind,
        "intents": list(case.intents),
        "language": case.language,
        "requester": _mask(case.requester),
        "received_at": case.received_at.isoformat(),
        "answer_due": case.answer_due.isoformat() if case.answer_due else None,
        "overdue": bool(case.answer_due and case.answer_due < now),
        "needs_triage": case.needs_triage,
        "triage_due": case.triage_due.isoformat() if case.triage_due else None,
        "flags": list(case.flags),
    }


def cmd_cases(args: argparse.Namespace, out: TextIO) -> int:
    from sqlmodel import Session

    from storage import repo

    now = datetime.now(UTC)
    with database(args.settings) as engine, Session(engine) as session:
        cases = repo.list_cases(
            session, status=args.status, overdue_at=now if args.overdue else None
        )
        rows = [_case_summary(c, now) for c in cases]
    if args.json:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        return 0
    table = [
        (
            r["ref"],
            r["status"],
            r["kind"],
            ", ".join(r["intents"]) or "-",
            r["language"],
            r["requester"],
            _tokyo_day(r["answer_due"]),
            _left(datetime.fromisoformat(r["answer_due"]) if r["answer_due"] else None, now),
            f"TRIAGE by {_tokyo_day(r['triage_due'])}" if r["needs_triage"] else "",
        )
        for r in rows
    ]
    _table(
        ("case", "status", "kind", "intents", "lang", "requester", "due", "left", "triage"),
        table,
        out,
    )
    out.write(f"{len(rows)} case{'' if len(rows) == 1 else 's'}\n")
    return 0


def _tokyo_day(value: str | None) -> str:
    return _tokyo(value, "%Y-%m-%d", "")


def cmd_case(args: argparse.Namespace, out: TextIO) -> int:
    from sqlmodel import Session

    from storage import repo

    now = datetime.now(UTC)
    with database(args.settings) as engine, Session(engine) as session:
        found = repo.case_file(session, args.ref)
        if found is None:
            raise UsageError(f"no case {args.ref.upper()}")
        record = _case_summary(found.case, now)
        record["requester"] = found.case.requester
        record["requester_name"] = found.case.requester_name
        record["addresses"] = found.addresses
        record["ack_due"] = found.case.ack_due.isoformat() if found.case.ack_due else None
        record["messages"] = [
            {
                "received_at": m.received_at.isoformat(),
                "direction": m.direction,
                "disposition": m.disposition,
                "message_id": m.message_id,
                "subject": m.subject,
                "language": m.language,
                "intents": list(m.intents),
                "classification": m.classification,
                "defects": list(m.defects),
                "size": m.size,
            }
            for m in found.messages
        ]
        record["audit"] = [
            {"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "detail": e.detail}
            for e in found.events
        ]
    if args.json:
        out.write(json.dumps(record, ensure_ascii=False, indent=2) + "\n")
        return 0
    out.write(f"{record['ref']}  {record['status']}  {record['kind']}\n")
    out.write(f"  intents     {', '.join(record['intents']) or '-'}\n")
    out.write(f"  requester   {record['requester_name']} <{record['requester']}>\n")
    out.write(f"  language    {record['language']}\n")
    out.write(f"  received    {_tokyo_time(record['received_at'])}\n")
    out.write(f"  ack due     {_tokyo_time(record['ack_due'])}\n")
    answer_due = datetime.fromisoformat(record["answer_due"]) if record["answer_due"] else None
    out.write(f"  answer due  {_tokyo_time(record['answer_due'])}  {_left(answer_due, now)}\n")
    if record["needs_triage"]:
        triage_due = datetime.fromisoformat(record["triage_due"]) if record["triage_due"] else None
        out.write(
            f"  TRIAGE      nobody has decided what it asks for: decide by "
            f"{_tokyo_time(record['triage_due'])}  {_left(triage_due, now)}\n"
            f"              (privacy-desk reclassify {record['ref']} INTENT... | --not-a-request)\n"
        )
    if record["flags"]:
        out.write(f"  flags       {', '.join(record['flags'])}\n")
    out.write("  messages\n")
    for m in record["messages"]:
        out.write(
            f"    {_tokyo_time(m['received_at'])}  {m['direction']:<3} {m['disposition']:<8} "
            f"{', '.join(m['intents']) or '-'}  {m['subject']}\n"
        )
        for intent, reasons in m["classification"].get("reasons", {}).items():
            out.write(f"      {intent}: {'; '.join(reasons)}\n")
        for reason in m["classification"].get("triage_reasons", []):
            out.write(f"      triage: {reason}\n")
    out.write("  audit trail\n")
    for e in record["audit"]:
        what = e["action"]
        if what == "mail written":  # a file: outbox: say where it went, not that it was sent
            what = f"mail written to {e['detail'].get('file', '?')} (not sent)"
        out.write(f"    {_tokyo_time(e['at'])}  {e['actor']:<8} {what}\n")
    return 0


def _tokyo_time(value: str | None) -> str:
    return _tokyo(value, "%Y-%m-%d %H:%M JST", "-")


def _tokyo(value: str | None, layout: str, missing: str) -> str:
    """An ISO timestamp as Tokyo local time (deadlines are days in Asia/Tokyo)."""
    if not value:
        return missing
    return datetime.fromisoformat(value).astimezone(TOKYO).strftime(layout)


def cmd_fetch(args: argparse.Namespace, out: TextIO) -> int:
    from mail.errors import MailError

    config = args.settings.mailbox.config
    if isinstance(config, Path):  # a Maildir the MTA delivers into: read like `ingest`
        args.paths, args.quiet = [str(config)], True
        return cmd_ingest(args, out)
    with database(args.settings, create=True) as engine:
        _install_model(engine)
        watcher, sink = wiring.mail_watcher(
            engine, args.settings, workers=args.workers, batch=args.batch
        )
        try:
            result = watcher.run_once()
        except MailError as exc:
            raise UsageError(str(exc)) from None
        finally:
            sink.close()
    summary = ", ".join(f"{n} {a}" for a, n in sorted(result.actions.items()))
    out.write(f"{config.key}: {result.fetched} messages: {summary or 'none new'}\n")
    return 1 if result.actions.get("quarantined") else 0


def cmd_serve(args: argparse.Namespace, out: TextIO) -> int:
    from bot.service import serve

    return serve(args.settings, args.workers, args.batch, out)


# One process writes to the database while the others parse and classify the next messages.
_DEFAULT_WORKERS = max(0, min(4, (os.cpu_count() or 1) - 1))


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="privacy-desk", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("classify", help="say what each message asks for")
    p.add_argument("paths", nargs="+", metavar="PATH", help=".eml file, folder of them, or mbox")
    p.add_argument("--json", action="store_true", help="one JSON object per message")
    p.add_argument("--explain", action="store_true", help="show the reasons in the table")
    p.set_defaults(func=cmd_classify)

    p = sub.add_parser("eval", help="score classification against a labelled corpus")
    p.add_argument("corpus", metavar="CORPUS_DIR")
    p.add_argument("--json", action="store_true")
    p.add_argument("--show-errors", action="store_true", help="list misclassified messages")
    p.add_argument("--min-macro-f1", type=float, default=None, metavar="F")
    p.add_argument("--min-rights-recall", type=float, default=None, metavar="R")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("ingest", help="take .eml files, folders, mbox files or Maildirs into cases")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--quiet", action="store_true", help="print only the summary")
    p.add_argument(
        "--workers",
        type=int,
        default=_DEFAULT_WORKERS,
        help="other processes that parse and classify (default: one per core but one; 0: none)",
    )
    p.add_argument(
        "--batch",
        type=int,
        default=50,
        help="messages per transaction (each under its own savepoint; default 50)",
    )
    p.add_argument(
        "--historic",
        action="store_true",
        help="everything taken is historic: cases with their (past) deadlines, but no "
        "acknowledgements, no Slack message per case or reminders; one summary instead",
    )
    p.set_defaults(func=cmd_ingest)

    for name, func, text in (
        ("fetch", cmd_fetch, "one pass over the mailbox of PD_MAILBOX, then exit"),
        ("serve", cmd_serve, "watch the mailbox of PD_MAILBOX (IMAP IDLE) until stopped"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument(
            "--workers",
            type=int,
            default=_DEFAULT_WORKERS,
            help="other processes that parse and classify (default: one per core but one; 0: none)",
        )
        p.add_argument(
            "--batch", type=int, default=500, help="messages per fetch and transaction (500)"
        )
        p.set_defaults(func=func)

    p = sub.add_parser("cases", help="list cases with their deadlines")
    p.add_argument("--status", default=None)
    p.add_argument("--overdue", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_cases)

    p = sub.add_parser("case", help="one case's whole file")
    p.add_argument("ref", metavar="REF")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_case)

    from bot import cli_cases, cli_replies, cli_report, cli_retention

    cli_replies.add_parsers(sub, database)
    cli_cases.add_parsers(sub, database)
    cli_report.add_parsers(sub, database)
    cli_retention.add_parsers(sub, database)

    from bot import cli_learning

    cli_learning.add_parsers(sub, database)

    from bot import cli_check

    cli_check.add_parsers(sub)

    p = sub.add_parser("db", help="database maintenance")
    db = p.add_subparsers(dest="db_command", required=True, parser_class=_Parser)
    p = db.add_parser("upgrade", help="create or upgrade the schema (the step for PostgreSQL)")
    p.set_defaults(func=cmd_db_upgrade)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command, read and check every setting (``bot.settings``), apply the
    process-wide ones (the keys of raw mail), run the command."""
    from bot import settings

    try:
        args = build_parser().parse_args(argv)
        args.settings = settings.read(command=args.command)
        wiring.apply_process_state(args.settings)
        code: int = args.func(args, sys.stdout)
        return code
    except (UsageError, StorageError) as exc:
        sys.stderr.write(f"privacy-desk: {exc}\n")
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
