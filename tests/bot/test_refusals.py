"""Refusals staff read: a keyed ``Reason`` is said in the staff language in Slack and in English on
the command line and in the audit trail; every key the code names has its text in both
languages (a missing one would be a KeyError in the middle of a click)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from support import english

from bot.cases import CaseDesk, _lines, _one_line
from bot.intake import Intake
from bot.replies import Reason, Replies, ReplyError, ReplySettings, say, verdict_reason
from bot.words import words
from handlers.replies import may_approve
from storage import repo

ROOT = Path(__file__).resolve().parents[2]


def keys_named_in_code() -> set[str]:
    found: set[str] = set()
    for path in [*ROOT.joinpath("bot").rglob("*.py"), ROOT / "handlers" / "replies.py"]:
        text = path.read_text("utf-8")
        found |= set(re.findall(r"\b(?:Reason|Detailed)\(\s*\"(\w+)\"", text))
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


# ---- refusals that came from an error's English text (issue 15) ------------------------------

APPROVER = "U0APPROVE1"
DESK = {"PD_FROM_ADDRESS": "privacy@example-hikaku.co.jp", "PD_APPROVERS": APPROVER}
RECEIVED = datetime(2026, 3, 3, 0, 5, tzinfo=UTC)


def told(error: ReplyError | Reason | str) -> tuple[str, str]:
    """(Japanese, English) of a refusal, as Slack says it with PD_STAFF_LANGUAGE=ja and en; the
    Japanese must hold no English word."""
    reason = error.reason if isinstance(error, ReplyError) else error
    ja, en = say(reason, w=words("ja")), say(reason, w=words("en"))
    assert not english(ja), f"English in {ja!r}: {english(ja)}"
    return ja, en


def _desk(engine: Engine, at: datetime = RECEIVED, **env: str) -> CaseDesk:
    replies = Replies(engine, ReplySettings.from_env({**DESK, **env}), clock=lambda: at)
    return CaseDesk(engine, replies, clock=lambda: at)


def test_an_intent_or_law_outside_the_forms_options_is_refused_in_japanese(
    engine: Engine, deletion_case: tuple[Any, str]
) -> None:
    _intake, ref = deletion_case
    desk = _desk(engine)
    with pytest.raises(ReplyError) as intents:
        desk.reclassify(ref, ["teleport"], actor=APPROVER)
    assert str(intents.value) == "unknown intents: teleport"  # the command line as before
    ja, en = told(intents.value)
    assert ja == "次の請求の種類はありません: `teleport`"
    assert en == "unknown intents: `teleport`"
    with pytest.raises(ReplyError) as law:
        desk.reclassify(ref, [], actor=APPROVER, jurisdiction="mars")
    assert str(law.value) == "unknown jurisdiction 'mars' (one of appi, gdpr, ccpa)"
    ja, _en = told(law.value)
    assert ja == (
        "`mars` という法令はありません"
        "（個人情報保護法（日本）、GDPR（EU）、CCPA（カリフォルニア州） のいずれか）"
    )


def test_the_sla_policies_refusals_are_said_in_japanese(
    engine: Engine, deletion_case: tuple[Any, str]
) -> None:
    """An extension the law (APPI) does not offer, and one asked for after the deadline (GDPR):
    the Extend button's refusal names the law and the request in the staff language."""
    _intake, ref = deletion_case
    none = _desk(engine).why_not_extend(ref)
    assert none is not None
    assert str(none) == f"{ref}: no extension is allowed for appi/deletion"
    ja, en = told(none)
    assert ja == f"{ref}: 個人情報保護法（日本） では 削除 の回答期限を延長できません"
    assert en == f"{ref}: APPI (Japan) allows no extension for deletion"
    _desk(engine).reclassify(ref, [], actor=APPROVER, jurisdiction="gdpr")
    late = _desk(engine, RECEIVED + timedelta(days=60))
    with pytest.raises(ReplyError) as refused:
        late.extend(ref, reason="調査に時間を要するため", actor=APPROVER)
    assert "an extension must be granted before the deadline" in str(refused.value)
    ja, _en = told(refused.value)
    assert ja == f"{ref}: 延長は回答期限の前に行う必要があります（削除 の期限はすでに過ぎています）"


def test_template_values_refused_are_named_in_japanese(
    engine: Engine, deletion_case: tuple[Any, str]
) -> None:
    _intake, ref = deletion_case
    replies = Replies(engine, ReplySettings.from_env(DESK), clock=lambda: RECEIVED)
    with pytest.raises(ReplyError) as refused:
        replies.draft(ref, "deletion_done", {"deleted": [], "done_on": "昨日"}, editor=APPROVER)
    english_text = str(refused.value)  # the command line names each value and its bad value
    assert "deletion_done: 2 values are missing or wrong" in english_text
    assert "'昨日'" in english_text
    ja, _en = told(refused.value)
    assert ja == "テンプレート `deletion_done` の値に不足または誤りがあります: `deleted`, `done_on`"


def test_a_stale_draft_whose_template_breaks_when_rendered_anew_is_refused_in_japanese(
    engine: Engine, make_mail: Callable[..., bytes], tmp_path: Path
) -> None:
    """The operator's acknowledgement breaks in its 'late' branch: the approval of a draft whose
    date has passed cannot render it anew, and the approver reads why in Japanese."""
    packaged = ROOT / "templates" / "mail" / "ack.ja.txt.j2"
    text = packaged.read_text("utf-8").replace(
        "{% block body %}", "{% block body %}{% if late %}{{ no_such_value }}{% endif %}", 1
    )
    (tmp_path / "ack.ja.txt.j2").write_text(text, "utf-8")
    env = {**DESK, "PD_TEMPLATES_DIR": str(tmp_path)}
    settings = ReplySettings.from_env(env)
    intake = Intake(engine, clock=lambda: RECEIVED, replies=settings)
    opened = intake.process(make_mail("私の個人情報をすべて削除してください。"))
    assert opened.ref
    with Session(engine) as session:
        case = repo.case_by_ref(session, opened.ref)
        assert case is not None
        [ack] = [d for d in repo.drafts(session, case_id=case.id) if d.template == "ack"]
    later = Replies(engine, settings, clock=lambda: RECEIVED + timedelta(days=40))
    with pytest.raises(ReplyError) as refused:
        later.approve(ack.id or 0, approver=APPROVER)
    assert "no_such_value" in str(refused.value)  # the command line says what broke
    ja, _en = told(refused.value)
    assert ja.startswith(f"下書き {ack.id} は過ぎた日付（")
    assert "書き直せませんでした: テンプレート `ack` から文面を作れませんでした" in ja


def test_a_reply_that_cannot_be_addressed_is_refused_in_japanese(
    engine: Engine, deletion_case: tuple[Any, str]
) -> None:
    _intake, ref = deletion_case
    replies = Replies(engine, ReplySettings.from_env(DESK), clock=lambda: RECEIVED)
    replies.mark_verified(ref, actor=APPROVER, how="電話で確認")
    values = {"deleted": ["会員登録情報"], "done_on": date(2026, 3, 3)}
    draft = replies.draft(ref, "deletion_done", values, editor=APPROVER)
    with Session(engine) as session:  # an address the mail headers cannot carry
        case = repo.case_by_ref(session, ref)
        assert case is not None
        case.requester = "hanako@example.jp\r\nBcc: all@example.jp"
        session.add(case)
        session.commit()
    with pytest.raises(ReplyError) as refused:
        replies.approve(draft.id or 0, approver=APPROVER)
    assert str(refused.value).startswith(f"{ref}: the reply cannot be addressed: ")
    ja, _en = told(refused.value)
    assert ja == f"{ref}: 請求者のアドレスに返信を宛てられません"


def test_every_key_the_sla_clock_names_has_its_text() -> None:
    named = set(re.findall(r'key="(\w+)"', (ROOT / "handlers" / "sla.py").read_text("utf-8")))
    assert {"sla_no_extension", "sla_too_late", "sla_no_policy"} <= named
    for language in ("ja", "en"):
        known = words(language).keys()
        assert sorted(k for k in named if f"refusal.{k}" not in known) == [], language
