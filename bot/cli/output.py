"""What the commands print with: tables aligned by display width, Tokyo dates, masked addresses.

Japanese is twice as wide as Latin on a terminal (East Asian Wide and Fullwidth characters), so
columns are padded by display width, not by the number of characters.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import datetime
from typing import TextIO

from handlers.clock import TOKYO  # deadlines are days in Asia/Tokyo


def width(text: str) -> int:
    """The columns ``text`` takes on a terminal."""
    return sum(
        0
        if unicodedata.combining(ch)
        else 2
        if unicodedata.east_asian_width(ch) in ("W", "F")
        else 1
        for ch in text
    )


def pad(text: str, columns: int) -> str:
    """``text`` left-aligned in ``columns`` display columns (never cut)."""
    return text + " " * max(columns - width(text), 0)


def table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]], out: TextIO) -> None:
    """Columns two spaces apart; the last one is not padded."""
    widths = [max(width(r[i]) for r in (header, *rows)) for i in range(len(header) - 1)]
    for row in (header, *rows):
        cells = [pad(c, w) for c, w in zip(row[:-1], widths, strict=True)] + [row[-1]]
        out.write("  ".join(cells).rstrip() + "\n")


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
