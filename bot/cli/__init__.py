"""The ``privacy-desk`` command line: one console script, one subcommand per job.

Exit status: 0 done; 1 done, but some messages could not be read or a quality bar was missed;
2 bad arguments, settings or input (a one-line message on stderr; ``privacy-desk`` alone prints
the usage and the list of commands there); 130 stopped by Ctrl-C (``interrupted``, no traceback;
what was committed stays, and ``ingest`` and ``fetch`` say how far they got).

Each family of commands is a module of this package with ``add_parsers(sub)``; every command is
``cmd(args, ctx) -> int`` (``bot.cli.context.Context``). The parser imports no database or Slack
library: the commands import what they use when they run, so ``--help`` answers at once.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from bot.cli import (
    cases,
    check,
    db,
    learning,
    mail,
    replies,
    report,
    retention,
    search,
    templates,
)
from bot.cli.context import Context, Parser, Version
from bot.cli.output import INTERRUPTED
from bot.errors import UsageError
from storage.errors import StorageError

__all__ = ["Context", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="privacy-desk", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action=Version, help="print the installed version and exit")
    sub = parser.add_subparsers(
        dest="command", required=True, parser_class=Parser, metavar="COMMAND"
    )
    mail.add_parsers(sub)
    cases.add_listing_parsers(sub)
    search.add_parsers(sub)
    replies.add_parsers(sub)
    templates.add_parsers(sub)
    examples = cases.add_parsers(sub)
    learning.add_examples_import(examples)
    report.add_parsers(sub)
    retention.add_parsers(sub)
    learning.add_parsers(sub)
    check.add_parsers(sub)
    db.add_parsers(sub)
    return parser


def _not_an_interrupt(record: logging.LogRecord) -> bool:
    """Ctrl-C is the operator's, not an error: a library that logs the KeyboardInterrupt it was
    in (SQLAlchemy's pool, returning a connection) must not print its traceback."""
    return not (record.exc_info and isinstance(record.exc_info[1], KeyboardInterrupt))


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command, read and check every setting (``bot.settings``), apply the
    process-wide ones (``bot.wiring.apply_process_state``), run the command."""
    if logging.lastResort is not None:  # where a command's unconfigured warnings go
        logging.lastResort.addFilter(_not_an_interrupt)
    try:
        parser = build_parser()
        if not (sys.argv[1:] if argv is None else argv):
            parser.print_help(sys.stderr)
            return 2
        args = parser.parse_args(argv)
        from bot import settings, wiring  # after the parser: `--help` needs neither

        read = settings.read(command=args.command)
        wiring.apply_process_state(read)
        code: int = args.func(args, Context(settings=read, out=sys.stdout))
        return code
    except (UsageError, StorageError) as exc:
        sys.stderr.write(f"privacy-desk: {exc}\n")
        return 2
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return INTERRUPTED
    except Exception as exc:
        said = _database_problem(exc)
        if said is None:
            raise
        sys.stderr.write(f"privacy-desk: the database failed: {said}\n")
        return 2  # as intake's own storage errors


def _database_problem(exc: Exception) -> str | None:
    """One line for an error the database gave (locked by another program for longer than the
    busy timeout, a full disk, a server gone), or None for any other error. The driver's first
    line only: what follows it (PostgreSQL's DETAIL) may quote a row's values."""
    errors = sys.modules.get("sqlalchemy.exc")  # loaded if a database was opened at all
    if errors is None or not isinstance(exc, errors.DBAPIError):
        return None
    first = str(exc.orig).strip().splitlines()[:1] if exc.orig is not None else []
    return first[0] if first else type(exc).__name__
