"""What the commands print with: tables aligned by display width, Tokyo dates, masked addresses,
and the progress of long work.

Japanese is twice as wide as Latin on a terminal (East Asian Wide and Fullwidth characters), so
columns are padded by display width, not by the number of characters.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, TextIO

from bot.words import pad as pad  # measured as the staff texts are
from bot.words import width as width
from handlers.clock import TOKYO  # deadlines are days in Asia/Tokyo


def table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]], out: TextIO) -> None:
    """Columns two spaces apart; the last one is not padded. Each cell is measured once (ASCII
    by its length), as ``cases --limit 0`` prints 100,000 rows."""
    measured = [[_cell_width(c) for c in row[:-1]] for row in (header, *rows)]
    widths = [max(m[i] for m in measured) for i in range(len(header) - 1)]
    for row, sizes in zip((header, *rows), measured, strict=True):
        cells = [c + " " * (w - n) for c, n, w in zip(row, sizes, widths, strict=False)]
        out.write("  ".join([*cells, row[-1]]).rstrip() + "\n")


def _cell_width(text: str) -> int:
    return len(text) if text.isascii() else width(text)


def mask(address: str) -> str:
    """``m***@example.jp``: enough for staff to recognise, not enough to copy."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}" if domain else (address[:1] + "***" if address else "")


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def left(due: datetime | None, now: datetime) -> str:
    """How long until ``due``, in days, or how long it is overdue."""
    if due is None:
        return ""
    seconds = (due - now).total_seconds()
    days = abs(seconds) / 86400
    return f"{days:.1f}d left" if seconds >= 0 else f"{days:.1f}d OVERDUE"


def tokyo_day(value: str | datetime | None, missing: str = "") -> str:
    """A timestamp (ISO text or aware datetime) as its Tokyo day, ``YYYY-MM-DD``."""
    return _tokyo(value, "%Y-%m-%d", missing)


def tokyo_time(value: str | datetime | None, missing: str = "-") -> str:
    """A timestamp (ISO text or aware datetime) as Tokyo local time to the minute."""
    return _tokyo(value, "%Y-%m-%d %H:%M JST", missing)


def _tokyo(value: str | datetime | None, layout: str, missing: str) -> str:
    if not value:
        return missing
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(TOKYO).strftime(layout)


INTERRUPTED = 130  # the exit status of a command stopped by Ctrl-C (128 + SIGINT), as shells say


class Progress:
    """Long work counted as it is done. On a terminal, a bar on stderr with the count, the rate
    and the time left (tqdm, imported only then); off a terminal, nothing at all: what the
    command prints on stdout is unchanged either way. ``interrupted()`` is what Ctrl-C says."""

    def __init__(self, total: int | None, *, unit: str = "msg", stream: TextIO | None = None):
        self.done = 0
        self.total = total
        self._stream = sys.stderr if stream is None else stream
        self._bar: Any = None
        if _is_terminal(self._stream):
            import threading

            from tqdm import tqdm

            tqdm.set_lock(threading.RLock())  # not its default, a multiprocessing lock
            # A terminal that tells no size (a bare pseudo-terminal) is taken as 80 by 24: tqdm
            # would draw nothing on a terminal of no rows.
            sized = _columns(self._stream) > 0
            self._bar = tqdm(
                total=total,
                unit=unit,
                file=self._stream,
                leave=False,
                dynamic_ncols=sized,
                ncols=None if sized else 80,
                nrows=None if sized else 24,
            )

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(n)

    def update(self, done: int, total: int | None = None) -> None:
        """``done`` of ``total`` so far (a total learnt as the work goes)."""
        if total is not None and total != self.total:
            self.total = total
            if self._bar is not None:
                self._bar.reset(total=total)
                self._bar.update(self.done)
        self.advance(done - self.done)

    def step(self, done: int, what: str) -> None:
        """Work counted in steps: ``done`` of them are behind, ``what`` is under way."""
        if self._bar is not None:
            self._bar.set_description_str(what, refresh=False)
        self.update(done)
        if self._bar is not None:
            self._bar.refresh()

    def write(self, out: TextIO, text: str) -> None:
        """``text`` on ``out``; on the terminal of the bar, above it."""
        if self._bar is None or not _is_terminal(out):
            out.write(text)
            return
        self._bar.clear()
        out.write(text)
        out.flush()
        self._bar.refresh()

    def interrupted(self, what: str = "message") -> str:
        """``interrupted after N of M; run again to continue`` (``after N messages`` when the
        total is not known; ``what`` names the things counted)."""
        done = f"{self.done} of {self.total}" if self.total is not None else plural(self.done, what)
        return f"interrupted after {done}; run again to continue"

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except ValueError:  # closed
        return False


def _columns(stream: TextIO) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError):
        return 0
