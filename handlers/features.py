"""Turn a message's subject and newest text into the learned model's features, with numpy alone.

The same function serves training and intake, so what the model learned is what it reads. Text
is folded the way people's spellings vary: NFKC (full-width ``ＰＤＦ`` is ``pdf``, half-width
``ｻｸｼﾞｮ`` is ``サクジョ``), lower case, katakana as hiragana (``サクジョ`` and ``さくじょ`` meet),
runs of white space as one space. The features are character n-grams (``NGRAMS``) of the subject
and of the text, each kind in a space of its own, plus ASCII word unigrams and bigrams of the
text. Each feature is a stable 64-bit hash (FNV-1a over code points, CRC-32 for words, then a
mixing step), the same on every machine and Python run: a model's vocabulary is a sorted array of these hashes.

Everything is vectorised: a message costs a handful of numpy passes over its characters, linear
in its length; subject and text are cut to ``MAX_SUBJECT``/``MAX_TEXT`` characters first.
"""

from __future__ import annotations

import functools
import re
import unicodedata
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

NGRAMS = (1, 2, 3, 4)
MAX_SUBJECT = 500
MAX_TEXT = 20_000

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)

# Katakana ァ..ヶ (U+30A1..U+30F6) to hiragana ぁ..ゖ, shifted as code points with numpy (ten times
# quicker than ``str.translate`` with a table over a page of Japanese).
_KATAKANA_FIRST, _KATAKANA_LAST, _KATA_TO_HIRA = 0x30A1, 0x30F6, 0x60
# Words are cut at 24 characters, so hashing them costs at most 24 passes whatever the text.
_WORD = re.compile(r"[a-z0-9][a-z0-9'’]{0,23}")

Hashes = npt.NDArray[np.uint64]

# Feature kinds: each gets its own seed, so "del" in a subject and "del" in a text differ.
TEXT, SUBJECT, WORD, BIGRAM = 1, 2, 3, 4


_KATA_TO_HIRA_TABLE = {c: c - _KATA_TO_HIRA for c in range(_KATAKANA_FIRST, _KATAKANA_LAST + 1)}
_TRANSLATE_UP_TO = 200  # characters: below this, a subject say, ``str.translate`` is quicker


@functools.lru_cache(maxsize=4)
def folded(text: str) -> str:
    """NFKC and lower case: what the rules (``handlers.classify.prepare``) and the model
    (``normalise``) both read first; kept for the last few texts, as both read the same one."""
    return unicodedata.normalize("NFKC", text).lower()


def normalise(text: str) -> str:
    """NFKC, lower case, katakana as hiragana, white space as single spaces."""
    folded_text = folded(text)
    if folded_text.isascii():
        return " ".join(folded_text.split())
    if len(folded_text) < _TRANSLATE_UP_TO:
        return " ".join(folded_text.translate(_KATA_TO_HIRA_TABLE).split())
    codes = np.frombuffer(folded_text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    kana = (codes >= _KATAKANA_FIRST) & (codes <= _KATAKANA_LAST)
    if kana.any():
        codes = np.where(kana, codes - _KATA_TO_HIRA, codes)
        folded_text = codes.astype(np.uint32).tobytes().decode("utf-32-le", "surrogatepass")
    # str.split's white space is the same as re's \s (str.isspace), and it is quicker.
    return " ".join(folded_text.split())


def _mix(h: Hashes) -> Hashes:
    # splitmix64's finaliser: FNV's low bits are weak, this spreads every input bit.
    h = h ^ (h >> np.uint64(30))
    h = h * _MIX1
    h = h ^ (h >> np.uint64(27))
    h = h * _MIX2
    return h ^ (h >> np.uint64(31))


def _seed(kind: int, n: int) -> np.uint64:
    return np.uint64((int(_FNV_OFFSET) ^ (kind * 0x9E3779B97F4A7C15 + n)) & 0xFFFFFFFFFFFFFFFF)


def _codes(text: str) -> Hashes:
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(
        np.uint64
    )


def _ngrams(text: str, kind: int) -> tuple[Hashes, tuple[int, ...]]:
    """The hash of every character n-gram of ``text`` (already normalised), order by order, and
    how many there are of each order."""
    codes = _codes(text)
    hashes: list[Hashes] = []
    with np.errstate(over="ignore"):
        for n in NGRAMS:
            if len(codes) < n:
                break
            h = (codes[: len(codes) - n + 1] ^ _seed(kind, n)) * _FNV_PRIME
            for k in range(1, n):
                h = (h ^ codes[k : len(codes) - n + 1 + k]) * _FNV_PRIME
            hashes.append(h)
        if not hashes:
            return np.zeros(0, dtype=np.uint64), ()
        # One mixing pass over every order at once (fewer, larger numpy calls).
        return _mix(np.concatenate(hashes)), tuple(len(h) for h in hashes)


def char_ngrams(text: str, kind: int = TEXT) -> tuple[Hashes, npt.NDArray[np.int32]]:
    """The hash of every character n-gram of ``text`` (already normalised) and, for each, its
    length n; the n-gram of hash ``h[k]`` starts at ``k`` less the n-grams of lower orders."""
    hashes, counts = _ngrams(text, kind)
    return hashes, np.repeat(np.array(NGRAMS[: len(counts)], dtype=np.int32), counts)


def word_hashes(text: str) -> tuple[Hashes, list[str]]:
    """Hashes of the ASCII words of ``text`` (normalised), then of each pair of neighbours;
    and the words."""
    words = _WORD.findall(text)
    if not words:
        return np.zeros(0, dtype=np.uint64), []
    # CRC-32 of the word and its length in the high bits, then mixed: stable and quick.
    raw = np.fromiter(
        ((len(w) << 32) | zlib.crc32(w.encode()) for w in words), dtype=np.uint64, count=len(words)
    )
    with np.errstate(over="ignore"):
        unigrams = _mix(raw ^ _seed(WORD, 0))
        bigrams = _mix((unigrams[:-1] * _FNV_PRIME) ^ (unigrams[1:] + _seed(BIGRAM, 0)))
    return np.concatenate((unigrams, bigrams)), words


@dataclass(frozen=True)
class Extracted:
    """A message's features: every occurrence's hash, and how to name it back (for reasons)."""

    hashes: Hashes
    subject: str  # normalised, cut
    text: str  # normalised, cut
    n_subject: int  # the first n_subject hashes are the subject's
    n_text: int  # then n_text of the text's character n-grams, then the words
    subject_orders: tuple[int, ...]  # how many of the subject's n-grams are of each order
    text_orders: tuple[int, ...]  # and of the text's
    words: list[str]

    def names_of(self, features: Hashes) -> list[str]:
        """What the features hashed ``features`` are (each one's first occurrence), as staff
        can read them."""
        if not len(features) or not len(self.hashes):
            return []
        # A handful of features against every occurrence: one comparison of each pair.
        equal = features[:, np.newaxis] == self.hashes[np.newaxis, :]
        first = equal.argmax(axis=1)
        found = equal[np.arange(len(features)), first]
        return [
            self.name(int(i)) for i, ok in zip(first.tolist(), found.tolist(), strict=True) if ok
        ]

    def name(self, index: int) -> str:
        """What the feature at ``index`` of ``hashes`` is, as staff can read it."""
        if index < self.n_subject:
            return "subject: " + _ngram_at(self.subject, self.subject_orders, index)
        index -= self.n_subject
        if index < self.n_text:
            return _ngram_at(self.text, self.text_orders, index)
        index -= self.n_text
        if index < len(self.words):
            return self.words[index]
        index -= len(self.words)
        return f"{self.words[index]} {self.words[index + 1]}"


def _ngram_at(text: str, orders: tuple[int, ...], index: int) -> str:
    # The n-grams come order by order, each order's in the text's order.
    for n, count in zip(NGRAMS, orders, strict=False):
        if index < count:
            return text[index : index + n]
        index -= count
    raise IndexError(index)


# A reply's subject is the subject of the mail it answers, and what that mail asked does not count
# (LABELS.md): the model sees only that the message is a reply ("Re: erasure" over a thank-you is
# no deletion request). A forward's subject stays: the desk may read the mail it forwards.
_REPLY_SUBJECT = re.compile(r"^\s*(?:re|aw|sv|返信)\s*(?:\[\d+\])?\s*:")
REPLY_MARK = "re:"


# What stands in the text for a phrase the rules read as refused or withdrawn (``extract``).
MASK = " 〓 "
MASKED_MAX = 20  # phrases masked in one message, at most


def mask(text: str, phrases: Sequence[str]) -> str:
    """``text`` (normalised) with each of ``phrases`` (as the rules read them) replaced by
    ``MASK``: one regular-expression pass, whatever the number of occurrences."""
    folded = sorted({normalise(p) for p in phrases[:MASKED_MAX]} - {""}, key=len, reverse=True)
    if not folded:
        return text
    return re.sub("|".join(map(re.escape, folded)), MASK, text)


def extract(subject: str, text: str, masked: Sequence[str] = ()) -> Extracted:
    """The features of one message: linear in its length, whatever the text holds. ``masked``:
    phrases the rules read as refused or withdrawn ("I do not want my account *deleted*",
    "削除は不要です"), which the model reads as ``MASK`` rather than as the request they name."""
    subj = normalise(subject[: MAX_SUBJECT * 2])[:MAX_SUBJECT]
    if _REPLY_SUBJECT.match(subj):
        subj = REPLY_MARK
    body = normalise(text[: MAX_TEXT * 2])[:MAX_TEXT]
    if masked:
        body = " ".join(mask(body, masked).split())
    s_hash, s_orders = _ngrams(subj, SUBJECT)
    t_hash, t_orders = _ngrams(body, TEXT)
    w_hash, words = word_hashes(body)
    return Extracted(
        hashes=np.concatenate((s_hash, t_hash, w_hash)),
        subject=subj,
        text=body,
        n_subject=len(s_hash),
        n_text=len(t_hash),
        subject_orders=s_orders,
        text_orders=t_orders,
        words=words,
    )
