"""The anchor index is an optimisation only: it must find exactly what scanning would find."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers import rules as R
from handlers.anchors import Scanner, anchors_of, requirements_of
from handlers.classify import _CUES, _SCANNER, _matches, prepare

FIXTURES = Path(__file__).parent.parent / "fixtures" / "classifier"


def _texts() -> list[str]:
    texts = []
    for name in ("cases.jsonl", "holdout.jsonl"):
        for line in (FIXTURES / name).read_text(encoding="utf-8").splitlines():
            case = json.loads(line)
            texts.append(prepare(case["subject"]))
            texts.append(prepare(case["text"]))
    return texts


def _scanned(text: str) -> list[tuple[int, tuple[int, int]]]:
    return [
        (index, m.span()) for index, rule in enumerate(R.RULES) for m in rule.pattern.finditer(text)
    ]


def _indexed(text: str) -> list[tuple[int, tuple[int, int]]]:
    position = {id(rule): index for index, rule in enumerate(R.RULES)}
    return [(position[id(rule)], m.span()) for rule, m in _matches(_SCANNER.scan(text))]


def test_every_rule_and_cue_has_anchors() -> None:
    unanchored = [_SCANNER.patterns[i].pattern for i in sorted(_SCANNER.unanchored)]
    assert unanchored == []


def test_cue_searches_agree_with_the_stdlib() -> None:
    for text in _texts():
        scan = _SCANNER.scan(text)
        for offset, cue in enumerate(_CUES, start=len(R.RULES)):
            expected = cue.search(text)
            found = scan.search(offset)
            assert (found and found.span()) == (expected and expected.span())
            for line_start, line in _lines(text):
                inside = cue.search(line)
                found = scan.search(offset, line_start, line_start + len(line))
                assert (found and found.start() - line_start) == (inside and inside.start())


def _lines(text: str) -> list[tuple[int, str]]:
    out, start = [], 0
    for line in text.split("\n"):
        out.append((start, line))
        start += len(line) + 1
    return out


def test_requirements_skip_texts_that_cannot_match() -> None:
    pattern = r"\b(?:do|is)\b.{0,80}\bplease\b"
    assert requirements_of(pattern) == (frozenset({"do", "is"}), frozenset({"please"}))
    scanner = Scanner([re.compile(pattern)])
    # "please" is required and absent: the pattern is not even tried.
    assert scanner.scan("what is this").touched() == []
    assert scanner.scan("is this ok, please").touched() == [0]


def test_a_two_character_japanese_word_is_required_as_a_longer_english_one_is() -> None:
    # "削除" says as much as "delete"; "is" would stand in nearly every English text.
    scanner = Scanner(
        [re.compile(r"(?:データ|情報).{0,15}(?:削除|消去)"), re.compile(r"^is\b.*do")]
    )
    assert scanner.scan("データの扱いについて").touched() == []
    assert scanner.scan("データを削除して").touched() == [0]
    assert scanner.scan("is it so").touched() == [1]  # "do" is too short to look for


def test_index_finds_what_scanning_finds_on_the_fixtures() -> None:
    for text in _texts():
        assert _indexed(text) == _scanned(text)


WORDS = [
    "削除", "して", "ください", "情報", "delete", " my ", "data", "e-mail", "email", "?",
    "。", "\n", "not ", "提供", "しないで", "stop", "sending", "開示", "请", "x", " ",
]  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=30))
def test_index_finds_what_scanning_finds_on_generated_text(words: list[str]) -> None:
    text = prepare("".join(words))
    assert _indexed(text) == _scanned(text)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (r"開示(?:を|の)?請求", ("開示の", "開示を", "開示請求")),
        (r"\b(?:delete|erase)\b", ("delete", "erase")),
        (r"e-?mail", ("e-", "email")),
        (r"(?:私の)?情報", ("情報", "私の")),
        (r"(?<=\d)社以上", ("社以上",)),
        # One character of a class, then what must follow it: "は" alone stands everywhere.
        (r"(?<!メール)(?:は|も)(?:削除|消去)$", ("は削除", "は消去", "も削除", "も消去")),
        (r"[はも]\d", ("は", "も")),
        (r".{0,10}x", None),
        (r"\d+社", None),
    ],
)
def test_anchors_of(pattern: str, expected: tuple[str, ...] | None) -> None:
    assert anchors_of(pattern) == expected
