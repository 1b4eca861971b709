"""Find the literal strings a regular expression's matches must start with.

The classifier runs a few hundred patterns over each message. Instead of scanning the text once
per pattern, it finds every anchor of every pattern in one Aho-Corasick pass and tries a pattern
only where one of its anchors stands. That is exact, not a heuristic: a pattern can only match
where one of its anchors starts. Patterns whose start cannot be reduced to literals (a leading
``\\d``, ``.``, a large character class) get ``None`` and are scanned the ordinary way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

try:  # The stdlib's own regex parser; private, so its absence only costs speed.
    from re import _constants as _C  # type: ignore[attr-defined]
    from re import _parser as _P  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - a Python without re._parser
    _P = _C = None

_MAX_CLASS = 16  # a character class of at most this many literal characters becomes anchors
_SHORT = 4  # an anchor shorter than this is worth extending through what follows
_MAX_SET = 32  # ...unless that would make more than this many anchors
_MAX_DEPTH = 4


def anchors_of(pattern: str) -> tuple[str, ...] | None:
    """The literal prefixes every match of ``pattern`` starts with, or None if unknown."""
    if _P is None:
        return None
    try:
        parsed = _P.parse(pattern)
    except Exception:  # any parser trouble: fall back to scanning
        return None
    found = _prefixes(list(parsed))
    if not found or "" in found:
        return None
    return tuple(sorted(found))


def _prefixes(items: Sequence[tuple[Any, Any]], depth: int = 0) -> set[str] | None:
    prefix = ""
    for index, (op, arg) in enumerate(items):
        if op is _C.LITERAL:
            prefix += chr(arg)
            continue
        if op in (_C.AT, _C.ASSERT, _C.ASSERT_NOT):  # zero-width: does not move the start
            if prefix:
                return {prefix}
            continue
        if prefix:
            # Longer anchors hit less often: "e" of "e-?mail" becomes "e-mail" and "email".
            if len(prefix) < _SHORT and depth < _MAX_DEPTH:
                more = _prefixes(items[index:], depth + 1)
                if more and "" not in more and len(more) <= _MAX_SET:
                    return {prefix + m for m in more}
            return {prefix}
        rest = list(items[index + 1 :])
        if op is _C.SUBPATTERN:
            return _prefixes(list(arg[3]) + rest, depth)
        if op is _C.BRANCH:
            union: set[str] = set()
            for branch in arg[1]:
                sub = _prefixes(list(branch) + rest, depth)
                if sub is None:
                    return None
                union |= sub
            return union
        if op in (_C.MAX_REPEAT, _C.MIN_REPEAT):
            low, _high, body = arg
            first = _prefixes(list(body), depth)
            if first is None:
                return None
            if low >= 1:
                return first
            after = _prefixes(rest, depth)
            return None if after is None else first | after
        if op is _C.IN:
            chars = {chr(a) for o, a in arg if o is _C.LITERAL}
            if len(chars) != len(arg) or len(chars) > _MAX_CLASS:
                return None
            return chars
        return None
    return {prefix} if prefix else None


class Gated:
    """A pattern searched only in texts that hold one of its anchors (same answers, less time)."""

    def __init__(self, pattern: str) -> None:
        self.pattern = re.compile(pattern)
        self.anchors = anchors_of(pattern)

    def search(self, text: str) -> re.Match[str] | None:
        if self.anchors is not None and not any(a in text for a in self.anchors):
            return None
        return self.pattern.search(text)
