"""Turn a message's subject and newest text into the learned model's features, with numpy alone.

The same function serves training and intake, so what the model learned is what it reads. Text
is folded the way people's spellings vary: NFKC (full-width ``ＰＤＦ`` is ``pdf``, half-width
``ｻｸｼﾞｮ`` is ``サクジョ``), lower case, katakana as hiragana (``サクジョ`` and ``さくじょ`` meet),
runs of white space as one space. The features are character n-grams (``NGRAMS``) of the subject
and of the text, each kind in a space of its own, plus ASCII word unigrams and bigrams of the
text. Japanese text is also read by a morphological analyser (SudachiPy, small dictionary; see
``morphemes``): each word's normalised form (``消し``/``消して``/``消す`` meet, ``下さい`` is
``下さる``) alone and beside its neighbour, and the character n-grams of the text's reading in
hiragana, so kanji, kana-only, katakana and half-width spellings of one word meet (``削除`` and
``ｻｸｼﾞｮ`` are both ``さくじょ``). Each feature is a stable 64-bit hash (FNV-1a over code points, CRC-32 for words, then a
mixing step), the same on every machine and Python run: a model's vocabulary is a sorted array of these hashes.

Everything is vectorised: a message costs a handful of numpy passes over its characters, linear
in its length; subject and text are cut to ``MAX_SUBJECT``/``MAX_TEXT`` characters first.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
import numpy.typing as npt

NGRAMS = (1, 2, 3, 4)
MAX_SUBJECT = 500
MAX_TEXT = 20_000

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)

# Katakana ァ..ヶ (U+30A1..U+30F6) to hiragana ぁ..ゖ: one table for str.translate.
_KATA_TO_HIRA = {code: code - 0x60 for code in range(0x30A1, 0x30F7)}
_SPACE = re.compile(r"\s+")
# Words are cut at 24 characters, so hashing them costs at most 24 passes whatever the text.
_WORD = re.compile(r"[a-z0-9][a-z0-9'’]{0,23}")

Hashes = npt.NDArray[np.uint64]

# Feature kinds: each gets its own seed, so "del" in a subject and "del" in a text differ.
TEXT, SUBJECT, WORD, BIGRAM, LEMMA, LEMMA_PAIR, READING = 1, 2, 3, 4, 5, 6, 7

# Morphology reads at most this many characters of a text (the request is rarely later, and the
# analyser costs more per character than everything else here), in pieces of at most
# ``MORPH_PIECE`` characters: Sudachi refuses an input over 49,149 bytes, and a character is at
# most 4 bytes in UTF-8.
MORPH_MAX = 6_000
MORPH_PIECE = 10_000
# Whether ``extract`` reads Japanese morphology (the model's features; a switch for measuring).
MORPHOLOGY = True
_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff66-\uff9f]")
_SKIPPED_POS = frozenset({"補助記号", "空白", "記号"})


def normalise(text: str) -> str:
    """NFKC, lower case, katakana as hiragana, white space as single spaces."""
    folded = unicodedata.normalize("NFKC", text).lower().translate(_KATA_TO_HIRA)
    return _SPACE.sub(" ", folded).strip()


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
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)


def char_ngrams(text: str, kind: int = TEXT) -> tuple[Hashes, npt.NDArray[np.int32]]:
    """The hash of every character n-gram of ``text`` (already normalised) and, for each, its
    length n; the n-gram of hash ``h[k]`` starts at ``k - offset(n)`` (see ``ngram_at``)."""
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
            return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int32)
        # One mixing pass over every order at once (fewer, larger numpy calls).
        mixed = _mix(np.concatenate(hashes))
    orders = np.array(NGRAMS[: len(hashes)], dtype=np.int32)
    return mixed, np.repeat(orders, [len(h) for h in hashes])


def word_hashes(text: str) -> tuple[Hashes, list[str]]:
    """Hashes of the ASCII words of ``text`` (normalised), then of each pair of neighbours;
    and the words."""
    words = _WORD.findall(text)
    if not words:
        return np.zeros(0, dtype=np.uint64), []
    unigrams = _string_hashes(words, WORD)
    with np.errstate(over="ignore"):
        bigrams = _mix((unigrams[:-1] * _FNV_PRIME) ^ (unigrams[1:] + _seed(BIGRAM, 0)))
    return np.concatenate((unigrams, bigrams)), words


def _string_hashes(strings: list[str], kind: int) -> Hashes:
    """Stable hashes of whole strings of one kind: CRC-32 of the UTF-8 and the length in the
    high bits, then mixed (stable and quick)."""
    raw = np.fromiter(
        ((len(w) << 32) | zlib.crc32(w.encode()) for w in strings),
        dtype=np.uint64,
        count=len(strings),
    )
    with np.errstate(over="ignore"):
        return _mix(raw ^ _seed(kind, 0))


_tokenizer: object | None = None


def _tokenize(text: str) -> tuple[list[str], str]:
    """The normalised form of each Japanese word of ``text`` and the text's reading in hiragana
    (a space where something else than a Japanese word stood), with one analyser per process,
    loaded when first needed (the small dictionary: about 40 MB more per process)."""
    global _tokenizer
    if _tokenizer is None:
        from sudachipy import Dictionary, SplitMode

        _tokenizer = Dictionary(dict="small").tokenizer(
            mode=SplitMode.C, fields={"pos", "normalized_form", "reading_form"}
        )
    tokenizer: Any = _tokenizer
    lemmas: list[str] = []
    reading: list[str] = []
    for start in range(0, len(text), MORPH_PIECE):
        for m in tokenizer.tokenize(text[start : start + MORPH_PIECE]):
            if m.part_of_speech()[0] in _SKIPPED_POS or not _JAPANESE.search(m.surface()):
                if reading and reading[-1] != " ":
                    reading.append(" ")
                continue
            lemmas.append(m.normalized_form().lower())
            reading.append(m.reading_form().translate(_KATA_TO_HIRA))
    return lemmas, "".join(reading).strip()


@dataclass(frozen=True)
class Morphemes:
    """What the analyser read in a text: lemmas (normalised forms) and the reading."""

    lemmas: list[str]
    reading: str  # the Japanese words' readings in hiragana, a space for anything else
    reading_lengths: npt.NDArray[np.int32]


NO_MORPHEMES = Morphemes([], "", np.zeros(0, dtype=np.int32))


def morphemes(text: str) -> tuple[Hashes, Morphemes]:
    """The morphological features of ``text`` (NFKC-folded, case and kana kept): each
    lemma, each pair of neighbouring lemmas, and the character n-grams of the reading. Text
    with no Japanese character costs nothing."""
    cut = text[:MORPH_MAX]
    if not MORPHOLOGY or not _JAPANESE.search(cut):
        return np.zeros(0, dtype=np.uint64), NO_MORPHEMES
    lemmas, reading = _tokenize(cut)
    if not lemmas:
        return np.zeros(0, dtype=np.uint64), NO_MORPHEMES
    pairs = [f"{a} {b}" for a, b in pairwise(lemmas)]
    r_hash, r_len = char_ngrams(reading, READING)
    hashes = np.concatenate(
        (_string_hashes(lemmas, LEMMA), _string_hashes(pairs, LEMMA_PAIR), r_hash)
    )
    return hashes, Morphemes(lemmas, reading, r_len)


@dataclass(frozen=True)
class Extracted:
    """A message's features: every occurrence's hash, and how to name it back (for reasons)."""

    hashes: Hashes
    subject: str  # normalised, cut
    text: str  # normalised, cut
    n_subject: int  # the first n_subject hashes are the subject's
    n_text: int  # then n_text of the text's character n-grams, then the words
    subject_lengths: npt.NDArray[np.int32]
    text_lengths: npt.NDArray[np.int32]
    words: list[str]
    morphemes: Morphemes = NO_MORPHEMES  # after the words' hashes: lemmas, pairs, reading

    def names_of(self, features: Hashes) -> list[str]:
        """What the features hashed ``features`` are (each one's first occurrence), as staff
        can read them."""
        mask = np.zeros(len(self.hashes), dtype=bool)
        for feature in features:
            mask |= self.hashes == feature
        positions = np.flatnonzero(mask)
        values, first = np.unique(self.hashes[positions], return_index=True)
        where = dict(zip(values.tolist(), positions[first].tolist(), strict=True))
        return [self.name(where[f]) for f in features.tolist() if f in where]

    def name(self, index: int) -> str:
        """What the feature at ``index`` of ``hashes`` is, as staff can read it."""
        if index < self.n_subject:
            return "subject: " + _ngram_at(self.subject, self.subject_lengths, index)
        index -= self.n_subject
        if index < self.n_text:
            return _ngram_at(self.text, self.text_lengths, index)
        index -= self.n_text
        if index < len(self.words):
            return self.words[index]
        index -= len(self.words)
        if index < max(len(self.words) - 1, 0):
            return f"{self.words[index]} {self.words[index + 1]}"
        index -= max(len(self.words) - 1, 0)
        lemmas = self.morphemes.lemmas
        if index < len(lemmas):
            return f"word: {lemmas[index]}"
        index -= len(lemmas)
        if index < len(lemmas) - 1:
            return f"words: {lemmas[index]} {lemmas[index + 1]}"
        index -= len(lemmas) - 1
        return "reading: " + _ngram_at(
            self.morphemes.reading, self.morphemes.reading_lengths, index
        )


def _ngram_at(text: str, lengths: npt.NDArray[np.int32], index: int) -> str:
    n = int(lengths[index])
    start = index - int(np.count_nonzero(lengths[:index] != n))
    return text[start : start + n]


def extract(subject: str, text: str) -> Extracted:
    """The features of one message: linear in its length, whatever the text holds."""
    subj = normalise(subject[: MAX_SUBJECT * 2])[:MAX_SUBJECT]
    body = normalise(text[: MAX_TEXT * 2])[:MAX_TEXT]
    s_hash, s_len = char_ngrams(subj, SUBJECT)
    t_hash, t_len = char_ngrams(body, TEXT)
    w_hash, words = word_hashes(body)
    m_hash, morphs = morphemes(unicodedata.normalize("NFKC", text[: MORPH_MAX * 2]))
    return Extracted(
        hashes=np.concatenate((s_hash, t_hash, w_hash, m_hash)),
        subject=subj,
        text=body,
        n_subject=len(s_hash),
        n_text=len(t_hash),
        subject_lengths=s_len,
        text_lengths=t_len,
        words=words,
        morphemes=morphs,
    )
