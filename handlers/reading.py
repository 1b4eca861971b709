"""Kanji for Japanese written without them (kana only, old phones' half-width katakana, romaji),
so the rules' phrases and the model's features meet such mail as they meet the usual spelling."""

from __future__ import annotations

import re
from collections.abc import Iterable

import ahocorasick

from handlers import rules as R

_KANA_FOLDS = dict(R.KANA_FOLDS)
# "おかけして" (troubling someone) is not "お消して": けして after か or っ is another word.
# The lookbehind sits after the first character so the search keeps its fast first-char scan.
_KANA = re.compile(
    "|".join(
        kana[0] + ("(?<![かっ]け)" if kana.startswith("け") else "") + kana[1:]
        for kana in sorted(_KANA_FOLDS, key=len, reverse=True)
    )
)
_ROMAJI = re.compile(r"\b(?:" + "|".join(sorted(R.ROMAJI, key=len, reverse=True)) + r")\b")
_PARTICLE = re.compile(r"\b(?:" + "|".join(R.ROMAJI_PARTICLES) + r")\b")
_KANJI = re.compile(r"[\u3400-\u9fff]")
_KATAKANA = re.compile(r"[\u30a1-\u30f6]")
_KATA_TO_HIRA = {c: c - 0x60 for c in range(0x30A1, 0x30F7)}
_JA = "\u3040-\u30ff\u3400-\u9fff"
# Begins with the space itself (the lookbehind after it), so the search skips to each space.
_SPACE_IN_JA = re.compile(f" (?<=[{_JA}] ) *(?=[{_JA}])")


def _automaton(words: Iterable[str]) -> ahocorasick.Automaton:
    automaton = ahocorasick.Automaton()
    for word in words:
        automaton.add_word(word, word)
    automaton.make_automaton()
    return automaton


# Most mail holds none of these words: one pass of an automaton over the text says so, where the
# patterns' alternations would be tried at every position (a third of ``prepare``'s time).
_KANA_WORDS = _automaton(_KANA_FOLDS)
_ROMAJI_WORDS = _automaton(R.ROMAJI)


def _holds_any(words: ahocorasick.Automaton, text: str) -> bool:
    return any(True for _ in words.iter(text))


def read_kana_and_romaji(norm: str) -> str:
    """Kanji for the words a person wrote without them: in kana (katakana too where a text has
    no kanji at all: old phones' half-width mail) or in romaji (its particles too where the text
    is romaji Japanese); Japanese needs no spaces, so ``じょうほうの かいじを`` meets the rules."""
    if _KATAKANA.search(norm) and not _KANJI.search(norm):
        norm = norm.translate(_KATA_TO_HIRA)
    if _holds_any(_KANA_WORDS, norm):
        norm = _KANA.sub(lambda m: _KANA_FOLDS[m.group(0)], norm)
    if _holds_any(_ROMAJI_WORDS, norm) and _ROMAJI.search(norm):
        romaji_text = len(R.ROMAJI_TEXT.findall(norm)) >= 2
        norm = _ROMAJI.sub(lambda m: R.ROMAJI[m.group(0)], norm)
        if romaji_text:
            norm = _PARTICLE.sub(lambda m: R.ROMAJI_PARTICLES[m.group(0)], norm)
    return _SPACE_IN_JA.sub("", norm)
