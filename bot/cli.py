"""The ``privacy-desk`` command line: one console script, one subcommand per job.

Exit status: 0 done; 1 done, but some messages could not be read or a quality bar was missed;
2 bad arguments, settings or input (a one-line message on stderr).
"""

from __future__ import annotations

import argparse
import json
import mailbox
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from handlers.classify import Classification, classify
from handlers.evaluate import CorpusError, Labelled, load_labels, score
from mail.errors import ParseError
from mail.parse import ParsedMessage, parse_message


class UsageError(Exception):
    """Bad arguments or input: reported in one line, exit status 2."""


@dataclass(frozen=True)
class Source:
    """One message to read: its name as the user will recognise it, and its bytes."""

    name: str
    raw: bytes


def _is_mbox(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(5) == b"From "


def iter_sources(paths: Sequence[str]) -> Iterator[Source]:
    """Messages named by PATHs: ``.eml`` files, folders of them, or mbox files."""
    for given in paths:
        path = Path(given)
        if path.is_dir():
            for child in sorted(path.iterdir()):
                if child.is_file() and child.suffix.lower() == ".eml":
                    yield Source(str(child), child.read_bytes())
        elif path.is_file():
            if path.suffix.lower() != ".eml" and _is_mbox(path):
                box = mailbox.mbox(path, create=False)
                try:
                    for n, key in enumerate(box.iterkeys(), start=1):
                        yield Source(f"{given}#{n}", box.get_bytes(key))
                finally:
                    box.close()
            else:
                yield Source(given, path.read_bytes())
        else:
            raise UsageError(f"{given}: no such file or folder")


def _result_line(name: str, msg: ParsedMessage, result: Classification) -> dict[str, object]:
    return {
        "file": name,
        "message_id": msg.message_id,
        "language": msg.language,
        **result.as_dict(),
        "machine": list(msg.machine_signals),
        "defects": list(msg.defects),
    }


def cmd_classify(args: argparse.Namespace, out: TextIO) -> int:
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        code: int = args.func(args, sys.stdout)
        return code
    except UsageError as exc:
        sys.stderr.write(f"privacy-desk: {exc}\n")
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
