"""What every command gets besides its arguments: the settings, where to write, the database."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn, TextIO, TypeAlias

from bot import wiring
from bot.errors import UsageError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from bot.settings import Settings

Opener = Callable[..., AbstractContextManager["Engine"]]
# What ``add_parsers`` adds to: argparse's subparsers action (generic only for type checkers).
Subcommands: TypeAlias = "argparse._SubParsersAction[Parser]"
Command: TypeAlias = "Callable[[argparse.Namespace, Context], int]"


class Parser(argparse.ArgumentParser):
    """A parser whose mistakes are the one-line usage error of every command (exit 2)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


class Version(argparse.Action):
    """``--version``: the installed version, looked up only when asked (not at every start)."""

    def __init__(self, option_strings: list[str], dest: str, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> NoReturn:
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("privacy-desk")
        except PackageNotFoundError:  # run from a source tree that was never installed
            found = "unknown (not installed)"
        sys.stdout.write(f"{parser.prog} {found}\n")  # on stdout, as argparse's own version
        parser.exit()


@dataclass(frozen=True)
class Context:
    """One command's surroundings; every command is ``cmd(args, ctx) -> int``."""

    settings: Settings
    out: TextIO
    opener: Opener = wiring.database  # (settings, *, create) -> the engine, closed after use

    def database(self, *, create: bool = False) -> AbstractContextManager[Engine]:
        """The desk's database; a SQLite file that is not there is made only with ``create``."""
        return self.opener(self.settings, create=create)
