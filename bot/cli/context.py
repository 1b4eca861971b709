"""What every command gets besides its arguments: the settings, where to write, the database."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from bot import wiring

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from bot.settings import Settings

Opener = Callable[..., AbstractContextManager["Engine"]]


@dataclass(frozen=True)
class Context:
    """One command's surroundings; every command is ``cmd(args, ctx) -> int``."""

    settings: Settings
    out: TextIO
    opener: Opener = wiring.database  # (settings, *, create) -> the engine, closed after use

    def database(self, *, create: bool = False) -> AbstractContextManager[Engine]:
        """The desk's database; a SQLite file that is not there is made only with ``create``."""
        return self.opener(self.settings, create=create)
