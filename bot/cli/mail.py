"""The mail commands of ``privacy-desk``: ``classify`` and ``eval`` (what messages ask for),
``ingest`` (files into cases), ``fetch`` (one pass over the mailbox) and ``serve``."""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bot.cli.context import Context, Subcommands
from bot.cli.output import INTERRUPTED, Progress, table
from bot.errors import UsageError
from handlers.clock import TOKYO

if TYPE_CHECKING:
    from bot.intake import Intake, IntakeResult
    from handlers.classify import Classification
    from mail.parse import ParsedMessage
    from mail.sources import Source


def iter_sources(paths: Sequence[str]) -> Iterator[Source]:
    from mail import sources

    try:
        yield from sources.iter_sources(paths)
    except sources.SourceError as exc:
        raise UsageError(str(exc)) from None


def _check_paths(paths: Sequence[str]) -> None:
    from mail import sources

    try:
        sources.check(paths)
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


def _classify_with_desk_model(ctx: Context) -> None:
    """``classify`` and ``eval`` use the desk's active model when there is a desk database (a
    SQLite file that exists, or a server); without one, the packaged model."""
    from bot import wiring

    sqlite = ctx.settings.database.sqlite_file
    if sqlite is not None and not sqlite.is_file():
        return
    with ctx.database() as engine:
        wiring.install_model(engine)


def cmd_classify(args: argparse.Namespace, ctx: Context) -> int:
    from handlers.classify import classify
    from mail.errors import ParseError
    from mail.parse import parse_message

    out = ctx.out
    _classify_with_desk_model(ctx)
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
        table(("message", "lang", "intents", "triage"), rows, out)
    return 1 if failures else 0


def cmd_eval(args: argparse.Namespace, ctx: Context) -> int:
    from handlers.classify import classify
    from handlers.evaluate import CorpusError, Labelled, load_labels, score
    from mail.errors import ParseError
    from mail.parse import parse_message

    out = ctx.out
    folder = Path(args.corpus)
    if not folder.is_dir():
        raise UsageError(f"{folder}: not a folder")
    _classify_with_desk_model(ctx)
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
        table(("intent", "support", "precision", "recall", "f1"), rows, out)
        out.write(
            f"\nmessages {report.messages}  macro-F1 {report.macro_f1:.3f}  "
            f"exact-set accuracy {report.exact_set_accuracy:.3f}  "
            f"rights recall {report.rights_recall:.3f} "
            f"(messages with a missed rights request: {report.rights_messages_missed}); "
            f"counting those sent to a person {report.rights_covered:.3f}\n"
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


def cmd_ingest(args: argparse.Namespace, ctx: Context) -> int:
    from bot import wiring
    from bot.intake import Intake

    _check_paths(args.paths)  # before the database is touched: nothing half-written
    replies = wiring.reply_settings(ctx.settings)
    with ctx.database(create=True) as engine:
        wiring.install_model(engine)  # before the intake workers start: they get the same one
        return _ingest(args, ctx, Intake(engine, replies=replies))


def _ingest(args: argparse.Namespace, ctx: Context, intake: Intake) -> int:
    from dataclasses import replace

    from bot.intake import read_all
    from mail import sources

    out = ctx.out
    counts: dict[str, int] = {}
    historic = bool(getattr(args, "historic", False))
    listed, raws = itertools.tee(iter_sources(args.paths))
    timeout = ctx.settings.intake.classify_timeout
    reads = read_all((s.raw for s in raws), workers=args.workers, timeout=timeout)
    if historic:  # the operator says so: everything taken here is historic
        reads = (replace(r, historic=True) for r in reads)
    results = intake.process_many(reads, batch=args.batch)
    # A result comes once its batch is committed: Ctrl-C loses only the batch being written,
    # and a second run takes the rest (what is stored already is a duplicate).
    with Progress(sources.count(args.paths)) as progress:
        try:
            for source, result in zip(listed, results, strict=True):
                counts[result.action] = counts.get(result.action, 0) + 1
                progress.advance()
                if args.quiet:
                    continue
                progress.write(out, _row(result, source.name))
        except KeyboardInterrupt:
            progress.close()
            _close(results, reads)  # the reading processes stop before the line is printed
            _historic_taken(intake, counts, historic, None)
            sys.stderr.write(progress.interrupted() + "\n")
            return INTERRUPTED
    total = sum(counts.values())
    summary = ", ".join(f"{n} {action}" for action, n in sorted(counts.items()))
    out.write(f"{total} messages: {summary or 'none'}\n")
    _historic_taken(intake, counts, historic, out)
    # Quarantined messages are kept, but the operator should know some could not be read.
    return 1 if counts.get("quarantined") else 0


def _row(result: IntakeResult, name: str) -> str:
    due = result.answer_due.astimezone(TOKYO).strftime("%Y-%m-%d") if result.answer_due else ""
    return (
        f"{result.ref or '-':<16} {result.action:<11} {', '.join(result.intents) or '-':<34} "
        f"{('due ' + due) if due else '':<14} {name}\n"
    )


def _historic_taken(
    intake: Intake, counts: dict[str, int], historic: bool, out: TextIO | None
) -> None:
    """One summary in Slack of the historic mail taken (of an interrupted run too: a second run
    finds it all stored and would tell nobody)."""
    taken = sum(counts.values()) - counts.get("duplicate", 0)
    if historic and taken:
        intake.historic_taken(taken, backlog_days=0, source="ingest")
        if out is not None:
            out.write(
                f"taken in as historic: {taken} (one summary in Slack, no acknowledgements)\n"
            )


def _close(*iterators: Iterator[object]) -> None:
    """End generators left half-way (their ``finally`` runs now, not when collected)."""
    for it in iterators:
        close = getattr(it, "close", None)
        if close is not None:
            close()


def cmd_fetch(args: argparse.Namespace, ctx: Context) -> int:
    from bot import wiring
    from mail.errors import MailError

    config = ctx.settings.mailbox.config
    assert config is not None  # read for `fetch`: the settings require PD_MAILBOX
    if isinstance(config, Path):  # a Maildir the MTA delivers into: read like `ingest`
        args.paths, args.quiet = [str(config)], True
        return cmd_ingest(args, ctx)
    with ctx.database(create=True) as engine:
        wiring.install_model(engine)
        watcher, sink = wiring.mail_watcher(
            engine, ctx.settings, workers=args.workers, batch=args.batch
        )
        # Each batch is committed and marked before the next is fetched: Ctrl-C loses only
        # the batch being taken in, and the next pass starts where this one stopped.
        with Progress(None) as progress:
            try:
                result = watcher.run_once(on_progress=progress.update)
            except MailError as exc:
                raise UsageError(str(exc)) from None
            except KeyboardInterrupt:
                progress.close()
                sink.close()  # the reading processes stop before the line is printed
                sys.stderr.write(progress.interrupted() + "\n")
                return INTERRUPTED
            finally:
                sink.close()
    summary = ", ".join(f"{n} {a}" for a, n in sorted(result.actions.items()))
    ctx.out.write(f"{config.key}: {result.fetched} messages: {summary or 'none new'}\n")
    return 1 if result.actions.get("quarantined") else 0


def cmd_serve(args: argparse.Namespace, ctx: Context) -> int:
    from bot.service import serve

    return serve(ctx.settings, args.workers, args.batch, ctx.out)


# One process writes to the database while the others parse and classify the next messages.
_DEFAULT_WORKERS = max(0, min(4, (os.cpu_count() or 1) - 1))


def _workers_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--workers",
        type=int,
        default=_DEFAULT_WORKERS,
        help="other processes that parse and classify (default: one per core but one; 0: none)",
    )


def add_parsers(sub: Subcommands) -> None:
    p = sub.add_parser("classify", help="say what each message asks for")
    p.add_argument("paths", nargs="+", metavar="PATH", help=".eml file, folder of them, or mbox")
    p.add_argument("--json", action="store_true", help="one JSON object per message")
    p.add_argument("--explain", action="store_true", help="show the reasons in the table")
    p.set_defaults(func=cmd_classify)

    p = sub.add_parser("eval", help="score classification against a labelled corpus")
    p.add_argument("corpus", metavar="CORPUS_DIR", help="a folder of .eml files with labels.jsonl")
    p.add_argument("--json", action="store_true", help="the scores as one JSON object")
    p.add_argument("--show-errors", action="store_true", help="list misclassified messages")
    p.add_argument(
        "--min-macro-f1",
        type=float,
        default=None,
        metavar="F",
        help="exit 1 when macro-F1 is below F (a quality bar for CI)",
    )
    p.add_argument(
        "--min-rights-recall",
        type=float,
        default=None,
        metavar="R",
        help="exit 1 when the recall of rights requests is below R",
    )
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("ingest", help="take .eml files, folders, mbox files or Maildirs into cases")
    p.add_argument("paths", nargs="+", metavar="PATH", help=".eml file, folder, mbox or Maildir")
    p.add_argument("--quiet", action="store_true", help="print only the summary")
    _workers_option(p)
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
        _workers_option(p)
        p.add_argument(
            "--batch", type=int, default=500, help="messages per fetch and transaction (500)"
        )
        p.set_defaults(func=func)
