"""The texts staff read, in their language (``PD_STAFF_LANGUAGE``: ``ja``, the default, or
``en``): one TOML file per language in this folder, so a translation is one file.

``words(language)`` gives a ``Words``; ``w("report.title", month=...)`` is the text of that key
with its ``{placeholders}`` filled. Both files hold the same keys with the same placeholders (a
test checks), so a text missing in one language is found before it is shown. Requesters never
read these: their mail follows their own language (``templates/``).

``width`` and ``pad`` measure text as a terminal or a fixed-width Slack block shows it: Japanese
is twice as wide as Latin (East Asian Wide and Fullwidth characters).
"""

from __future__ import annotations

import string
import tomllib
import unicodedata
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from functools import cache
from importlib.resources import files
from typing import Any, Final

from handlers.clock import TOKYO

LANGUAGES: Final = ("ja", "en")
DEFAULT: Final = "ja"


class Words:
    """The staff texts of one language."""

    def __init__(self, language: str, texts: Mapping[str, str]) -> None:
        self.language = language
        self._texts = dict(texts)

    def __call__(self, key: str, **values: object) -> str:
        return self._texts[key].format(**values)

    def day(self, moment: datetime | date) -> str:
        """A day as staff read it, with its weekday: ``2026-12-03（木）`` or
        ``2026-12-03 (Thu)``; a moment is shown as its day in Tokyo."""
        if isinstance(moment, datetime):
            moment = moment.astimezone(TOKYO).date()
        weekday = self._texts["date.weekdays"].split()[moment.weekday()]
        return self("date.day", date=moment.isoformat(), weekday=weekday)

    def __contains__(self, key: object) -> bool:
        return key in self._texts

    def keys(self) -> frozenset[str]:
        return frozenset(self._texts)

    def placeholders(self, key: str) -> frozenset[str]:
        return frozenset(
            name for _, name, _, _ in string.Formatter().parse(self._texts[key]) if name
        )


def _flat(table: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    for key, value in table.items():
        if isinstance(value, Mapping):
            yield from _flat(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", str(value)


@cache
def words(language: str) -> Words:
    """The texts of ``language`` (one of ``LANGUAGES``; anything else is a ``ValueError``)."""
    if language not in LANGUAGES:
        raise ValueError(f"staff language must be one of {', '.join(LANGUAGES)}, not {language!r}")
    data = tomllib.loads(files(__package__).joinpath(f"{language}.toml").read_text("utf-8"))
    return Words(language, dict(_flat(data)))


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


def pad(text: str, columns: int, *, right: bool = False) -> str:
    """``text`` aligned in ``columns`` display columns (never cut), left unless ``right``."""
    fill = " " * max(columns - width(text), 0)
    return fill + text if right else text + fill
