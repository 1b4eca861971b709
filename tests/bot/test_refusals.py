"""Refusals staff read: a keyed ``Reason`` is said in the staff language in Slack and in English on
the command line and in the audit trail; every key the code names has its text in both
languages (a missing one would be a KeyError in the middle of a click)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.cases import _lines, _one_line
from bot.replies import Reason, ReplyError, say, verdict_reason
from bot.words import words
from handlers.replies import may_approve

ROOT = Path(__file__).resolve().parents[2]


def keys_named_in_code() -> set[str]:
    found: set[str] = set()
    for path in [*ROOT.joinpath("bot").rglob("*.py"), ROOT / "handlers" / "replies.py"]:
        text = path.read_text("utf-8")
        found |= set(re.findall(r"\bReason\(\s*\"(\w+)\"", text))
        for pair in re.findall(r"Reason\(\"(\w+)\" if [^)]*? else \"(\w+)\"\)", text):
            found |= set(pair)
        found |= set(re.findall(r"Verdict\(\s*False,[^)]*?\"[^\"]*\",\s*\"(\w+)\"", text, re.S))
    return found


def test_every_refusal_key_in_the_code_has_its_text() -> None:
    named = keys_named_in_code()
    assert {"not_approver", "four_eyes", "no_approvers", "no_later_date", "no_new_date"} <= named
    for language in ("ja", "en"):
        known = words(language).keys()
        assert sorted(k for k in named if f"refusal.{k}" not in known) == [], language


@pytest.mark.parametrize(
    "language, said",
    [
        ("ja", "承認できませんでした: PD-2026-000001 は終了です"),
        ("en", "Not approved: PD-2026-000001 is closed"),
    ],
)
def test_a_refusal_is_said_in_the_staff_language(language: str, said: str) -> None:
    w = words(language)
    error = ReplyError(Reason("case_status", ref="PD-2026-000001", status="closed"))
    assert w("app.not_approved", reason=error.said(w)) == said
    assert str(error) == "PD-2026-000001 is closed"  # the command line: English always


def test_a_nested_reason_and_a_verdict_are_said_in_one_language() -> None:
    nested = Reason("merged_already", ref="PD-2026-000002", into=Reason("another_case"))
    assert nested.text(words("ja")) == "PD-2026-000002 はすでに 別の案件 に統合されています"
    assert str(nested) == "PD-2026-000002 was merged into another case already"
    verdict = may_approve("U0MALLORY1", approvers=("U0APPROVE1",))
    reason = verdict_reason(verdict)
    assert isinstance(reason, Reason) and str(reason) == verdict.reason
    assert reason.text(words("ja")) == "U0MALLORY1 は承認者ではありません"


def test_a_refusal_without_a_key_stays_english() -> None:
    error = ReplyError("unknown jurisdiction 'x' (one of appi, gdpr, ccpa)")
    assert error.said(words("ja")) == str(error)


def test_say_gives_a_keyed_reason_in_the_language_and_a_plain_one_as_it_is() -> None:
    assert say(Reason("no_case", ref="PD-2026-000003"), w=words("ja")) == (
        "案件 PD-2026-000003 はありません"
    )
    assert say("the case has no policy", w=words("ja")) == "the case has no policy"


@pytest.mark.parametrize(
    "call, english, japanese",
    [
        (lambda: _one_line("  ", "close_why"), "say why the case is closed", "終了の理由を入力してください"),
        (
            lambda: _one_line("長" * 501, "extend_why"),
            "why the deadline is extended is longer than 500 characters",
            "延長の理由は 500 文字以内にしてください",
        ),
        (lambda: _lines(["", " "], "ask_item"), "give at least one thing to ask for", "依頼する事項を 1 つ以上入力してください"),
        (
            lambda: _lines(["x" * 501], "reason"),
            "each reason must be at most 500 characters",
            "理由はそれぞれ 500 文字以内にしてください",
        ),
    ],
)  # fmt: skip
def test_what_staff_typed_into_a_form_is_refused_in_their_language(
    call: object, english: str, japanese: str
) -> None:
    """A reason left empty or too long in a Slack form: the form says why in the staff language;
    the command line keeps the English it always said."""
    with pytest.raises(ReplyError) as refused:
        call()  # type: ignore[operator]
    assert str(refused.value) == english
    assert refused.value.said(words("ja")) == japanese
    assert refused.value.said(words("en")) == english
