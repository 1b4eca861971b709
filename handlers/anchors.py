"""Find the literal strings a regular expression's matches must start with, and use them.

The classifier runs a few hundred patterns over each message. Instead of scanning the text once
per pattern, it finds every anchor of every pattern in one Aho-Corasick pass and tries a pattern
only where one of its anchors stands. That is exact, not a heuristic: a pattern can only match
where one of its anchors starts. Patterns whose start cannot be reduced to literals (a leading
``\\d``, ``.``, a large character class) get ``None`` and are scanned the ordinary way.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator, Sequence
from typing import Any

import ahocorasick

try:  # The stdlib's own regex parser; private, so its absence only costs speed.
    from re import _constants as _C  # type: ignore[attr-defined]
    from re import _parser as _P  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - a Python without re._parser
    _P = _C = None

_MAX_CLASS = 16  # a character class of at most this many literal characters becomes anchors
_SHORT = 4  # an anchor shorter than this is worth extending through what follows
_MAX_SET = 32  # ...unless that would make more than this many anchors
_MAX_DEPTH = 4
# Required words shorter than this are not looked for: they would hit everywhere, and checking
# them costs more than the match attempts they save (measured). Two characters of Japanese
# ("削除", "訂正") say as much as a short English word, and stand far less often.
_SHORT_WORD = 3
_SHORT_WORD_CJK = 2


def _long_enough(words: frozenset[str]) -> bool:
    return all(len(w) >= (_SHORT_WORD if w.isascii() else _SHORT_WORD_CJK) for w in words)


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
            # "(?:は|も)(?:削除|消去)" starts "は削除", "は消去", "も削除" or "も消去", not merely
            # "は" or "も" (which stand everywhere in Japanese).
            if depth < _MAX_DEPTH:
                more = _prefixes(rest, depth + 1)
                if more and "" not in more and len(chars) * len(more) <= _MAX_SET:
                    return {c + m for c in chars for m in more}
            return chars
        return None
    return {prefix} if prefix else None


def requirements_of(pattern: str) -> tuple[frozenset[str], ...]:
    """Sets of literals of which a text must hold at least one each for ``pattern`` to match.

    Read off the pattern's top-level sequence: every element that must match (a literal run, a
    group, a repeated part with a minimum of one) gives the set of literals it can start with.
    """
    if _P is None:
        return ()
    try:
        parsed = list(_P.parse(pattern))
    except Exception:
        return ()
    needed: list[frozenset[str]] = []
    run = ""  # consecutive literal characters make one required word
    for op, arg in parsed:
        if op is _C.LITERAL:
            run += chr(arg)
            continue
        if run:
            needed.append(frozenset({run}))
            run = ""
        if op in (_C.AT, _C.ASSERT, _C.ASSERT_NOT):
            continue
        if op in (_C.MAX_REPEAT, _C.MIN_REPEAT) and arg[0] == 0:
            continue
        found = _prefixes([(op, arg)])
        if found and "" not in found:
            needed.append(frozenset(found))
    if run:
        needed.append(frozenset({run}))
    return tuple(needed)


class Scanner:
    """Find the matches of many patterns in a text with one Aho-Corasick pass over their anchors.

    A pattern is tried only where one of its anchors starts, and only when the text holds its
    requirements; the answers are those ``finditer`` and ``search`` would give.
    """

    def __init__(self, patterns: Sequence[re.Pattern[str]]) -> None:
        self.patterns = tuple(patterns)
        self.anchors = tuple(anchors_of(p.pattern) for p in self.patterns)
        self.requirements = tuple(requirements_of(p.pattern) for p in self.patterns)
        # Required words long enough (``_long_enough``) are looked for in the automaton's pass,
        # without the spaces around them: " you " and "you " hit wherever "you" does, and the
        # weaker requirement still holds wherever the pattern can match.
        self._required = tuple(
            tuple(
                core
                for core in (frozenset(w.strip(" ") or w for w in n) for n in needed)
                if _long_enough(core)
            )
            for needed in self.requirements
        )
        self.unanchored = frozenset(i for i, a in enumerate(self.anchors) if a is None)
        # The automaton knows anchors (where a pattern may start) and required words (whether
        # it can match at all); one pass over a text finds both.
        by_word: dict[str, list[int]] = {}
        for index, anchors in enumerate(self.anchors):
            for anchor in anchors or ():
                by_word.setdefault(anchor, []).append(index)
        for required in self._required:
            for needed in required:
                for word in needed:
                    by_word.setdefault(word, [])
        # The automaton's value for a word is its number: grouping a text's hits by an int costs
        # less than by the word (most of a text's hundreds of hits are a few common words).
        self._words = tuple(by_word)
        self._lengths = tuple(len(word) for word in self._words)
        self._patterns_of = tuple(tuple(indexes) for indexes in by_word.values())
        self._automaton = ahocorasick.Automaton()
        for number, word in enumerate(self._words):
            self._automaton.add_word(word, number)
        self._automaton.make_automaton()

    def scan(self, text: str) -> Scan:
        ends: dict[int, list[int]] = {}  # word number -> where its hits end
        if text:
            for end, number in self._automaton.iter(text):
                if number in ends:
                    ends[number].append(end)
                else:
                    ends[number] = [end]
        words = self._words
        present = {words[number] for number in ends}
        starts: dict[int, list[int]] = {}
        merged: set[int] = set()  # patterns more than one anchor of which hit: sorted in ``Scan``
        for number, hits in ends.items():
            indexes = self._patterns_of[number]
            if not indexes:
                continue
            shift = self._lengths[number] - 1
            positions = [end - shift for end in hits]
            for index in indexes:
                if index in starts:
                    starts[index] = starts[index] + positions
                    merged.add(index)
                else:
                    starts[index] = positions
        return Scan(self, text, starts, present, merged)


class Scan:
    """One text as seen by a ``Scanner``: where each pattern may start."""

    def __init__(
        self,
        scanner: Scanner,
        text: str,
        starts: dict[int, list[int]],
        present: set[str],
        merged: set[int],
    ) -> None:
        self._scanner = scanner
        self.text = text
        self._starts: dict[int, list[int]] = {}
        required = scanner._required
        for index, positions in starts.items():
            # A plain loop: this runs for every candidate pattern of every text.
            satisfied = True
            for needed in required[index]:
                if needed.isdisjoint(present):
                    satisfied = False
                    break
            if satisfied:
                # One anchor's starts come in order; several anchors' are merged.
                self._starts[index] = sorted(set(positions)) if index in merged else positions

    def touched(self) -> list[int]:
        """Indexes of the patterns that may match, in order."""
        return sorted(self._starts.keys() | self._scanner.unanchored)

    def finditer(self, index: int) -> Iterator[re.Match[str]]:
        """Non-overlapping matches of pattern ``index``, as ``finditer`` gives them."""
        pattern = self._scanner.patterns[index]
        if index in self._scanner.unanchored:
            yield from pattern.finditer(self.text)
            return
        last_end = -1
        for pos in self._starts.get(index, ()):
            if pos < last_end:
                continue
            found = pattern.match(self.text, pos)
            if found:
                last_end = found.end()
                yield found

    def search(self, index: int, start: int = 0, end: int | None = None) -> re.Match[str] | None:
        """The leftmost match of pattern ``index`` lying within ``text[start:end]``."""
        pattern = self._scanner.patterns[index]
        stop = len(self.text) if end is None else end
        if index in self._scanner.unanchored:
            return pattern.search(self.text, start, stop)
        positions = self._starts.get(index, ())
        for pos in positions[bisect.bisect_left(positions, start) :]:
            if pos >= stop:
                break
            found = pattern.match(self.text, pos, stop)
            if found:
                return found
        return None
