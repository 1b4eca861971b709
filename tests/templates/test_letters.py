"""What a Japanese privacy officer checks in the letters before approving them: each section the
APPI asks for appears in both languages, text and HTML, exactly when its value is given; no
letter claims a file is attached unless it lists the attached files; an overdue acknowledgement
apologises instead of promising the past; the packaged letters hold nothing of one company's
business; a draft with several bad values hears of all of them at once."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from templates import (
    OPTIONAL,
    REQUIRED,
    TEMPLATE_NAMES,
    Company,
    InvalidValue,
    MissingValue,
    Rendered,
    Templates,
    ValueProblems,
    check_values,
    stale_promises,
)

REF = "PD-2026-000321"
COMPANY = Company("株式会社テスト商事", "Test Shoji K.K.", "個人情報窓口", "Privacy Desk",
                  "privacy@test-shoji.example")  # fmt: skip
BASE: dict[str, Any] = {
    "case_ref": REF,
    "method": "email",
    "items": ["会員情報（氏名、メールアドレス）"],
    "requests": ["deletion", "stop_use"],
    "received_on": date(2026, 11, 20),
    "answer_due": date(2026, 12, 4),
    "deleted": ["会員情報"],
    "done_on": date(2026, 12, 1),
    "purposes": ["ご注文の商品をお届けするため"],
}


def letter(name: str, lang: str, **changes: Any) -> Rendered:
    wanted = (*REQUIRED[name], *OPTIONAL[name])
    values = {k: v for k, v in BASE.items() if k in wanted} | changes
    return Templates(COMPANY).render(name, lang, **values)


def both(mail: Rendered) -> tuple[str, str]:
    assert mail.html is not None
    return mail.body, mail.html


SECTIONS = {
    # (language, value given) -> what the letter must then say, in its text and its HTML
    ("ja", "third_party_records"): (
        "第三者提供記録（法第33条第5項）",
        "2026年5月1日 提携先A社へ提供",
    ),
    ("en", "third_party_records"): ("Records of provision to and from third parties", "A社"),
    ("ja", "requested_method"): (
        "法第33条第1項ただし書",
        "同条第3項",
        "電磁的記録の提供",
        "ファイル形式",
    ),
    ("en", "requested_method"): ("proviso of Article 33(1)", "Article 33(3)", "ファイル形式"),
    ("ja", "fee"): ("本件開示の手数料は、1,000円です（法第38条）",),
    ("en", "fee"): ("The fee for this disclosure is 1,000 yen (Article 38)",),
}
GIVEN: dict[str, dict[str, Any]] = {
    "third_party_records": {"third_party_records": ["2026年5月1日 提携先A社へ提供"]},
    "requested_method": {
        "requested_method": "file",
        "method": "post",
        "method_reason": "ご指定のファイル形式では記録を出力できないため",
    },
    "fee": {"fee": 1000},
}


@pytest.mark.parametrize(("lang", "value"), sorted(SECTIONS))
def test_each_legal_section_of_a_disclosure_appears_when_its_value_is_given(
    lang: str, value: str
) -> None:
    plain = both(letter("disclosure_answer", lang))
    given = both(letter("disclosure_answer", lang, **GIVEN[value]))
    for said in SECTIONS[lang, value]:
        for text, without in zip(given, plain, strict=True):
            assert said in text, f"{said!r} missing from the {lang} letter with {value}"
            assert said not in without, f"{said!r} in the {lang} letter without {value}"


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_asked_for_third_party_records_that_do_not_exist_are_said_not_to(lang: str) -> None:
    none = "記録はございませんでした" if lang == "ja" else "We have no records of providing"
    for text in both(letter("disclosure_answer", lang, third_party_records=[])):
        assert none in text


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_the_notice_of_purposes_of_use_lists_them_with_its_article(lang: str) -> None:
    article = "第32条第2項" if lang == "ja" else "Article 32(2)"
    fee = "1,500円" if lang == "ja" else "1,500 yen"
    for text in both(letter("purpose_notice", lang, fee=1500)):
        assert article in text and "ご注文の商品をお届けするため" in text and fee in text
    assert fee not in letter("purpose_notice", lang).body


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_deletion_and_stop_of_use_go_in_one_letter(lang: str) -> None:
    alone = letter("deletion_done", lang)
    mail = letter("deletion_done", lang, stopped=["メールマガジンの配信"])
    assert "メールマガジンの配信" in mail.body and "メールマガジンの配信" not in alone.body
    if lang == "ja":
        assert mail.subject == f"【{REF}】保有個人データの削除及び利用停止の完了のお知らせ"
        assert alone.subject == f"【{REF}】保有個人データの削除完了のお知らせ"
    else:
        assert mail.subject.endswith("deleted and its use stopped")


ATTACHMENT_CLAIMS = ("添付した", "添付しております", "attached to this email")


@pytest.mark.parametrize("method", ["email", "file", "post"])
@pytest.mark.parametrize("lang", ["ja", "en"])
def test_a_letter_claims_attached_files_only_with_them_and_names_each(
    lang: str, method: str
) -> None:
    """The wording about attachments is inside {% if attachments %} and lists them by name."""
    names = ["開示データ_2026.csv", "通話記録.pdf"]
    with_files = both(letter("disclosure_answer", lang, method=method, attachments=names))
    for text in with_files:
        assert any(claim in text for claim in ATTACHMENT_CLAIMS)
        assert all(name in text for name in names)
    for name in TEMPLATE_NAMES:  # no letter says a file is attached when none is
        wanted = (*REQUIRED[name], *OPTIONAL[name])
        values = {k: v for k, v in CASE_OF_EVERY_LETTER.items() if k in wanted}
        if "method" in values:
            values["method"] = method
        for text in both(Templates(COMPANY).render(name, lang, **values)):
            assert not any(claim in text for claim in ATTACHMENT_CLAIMS), (name, lang)


CASE_OF_EVERY_LETTER: dict[str, Any] = {
    **BASE,
    "kind": "identity",
    "needed": ["本人確認書類の写し"],
    "reply_by": date(2026, 12, 20),
    "code": "123456",
    "expires_at": datetime(2026, 12, 9, 6, 30, tzinfo=UTC),
    "corrections": ["住所"],
    "stopped": ["配信"],
    "recipients": ["A社"],
    "scope": "full",
    "reasons": ["理由"],
    "reason": "理由",
    "new_due": date(2027, 1, 8),
    "answer_text": "回答",
    "provider_name": "A社",
    "asked_on": date(2026, 11, 26),
    "third_party_records": ["記録"],
}


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_an_overdue_acknowledgement_apologises_and_promises_no_past_date(lang: str) -> None:
    due = date(2026, 11, 18)
    dateless = letter("ack", lang, answer_due=due, late=True)
    dated = letter("ack", lang, answer_due=due, late=True, answer_by=date(2026, 12, 11))
    sorry, past, by = (
        ("お詫び", "2026年11月18日（水）（経過）", "2026年12月11日（金）までにご回答いたします")
        if lang == "ja"
        else ("We are sorry", "Wednesday, 18 November 2026 (passed)", "We will answer by Friday")
    )
    for text in (*both(dateless), *both(dated)):
        assert sorry in text and past in text
        assert (
            "回答期限までにご回答いたします" if lang == "ja" else "answer by the deadline"
        ) not in text
    assert all(by in text for text in both(dated))
    assert all(by not in text for text in both(dateless))
    soon = "できる限り速やかに" if lang == "ja" else "as soon as we can"
    assert soon in dateless.body and soon not in dated.body


def test_promised_dates_that_passed_are_found_and_a_late_deadline_is_a_fact() -> None:
    now = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)  # 5 Dec, noon in Tokyo
    ack = {"answer_due": datetime(2026, 12, 4, 14, 59, tzinfo=UTC), "answer_by": date(2026, 12, 5)}
    assert stale_promises("ack", ack, now) == {"answer_due": ack["answer_due"]}
    assert stale_promises("ack", {**ack, "late": True}, now) == {}  # today is still to come
    assert stale_promises("ack", {**ack, "late": True, "answer_by": date(2026, 12, 4)}, now) == {
        "answer_by": date(2026, 12, 4)
    }
    assert stale_promises("extension_notice", {"new_due": date(2026, 12, 1)}, now)
    assert stale_promises("deletion_done", {"done_on": date(2026, 12, 1)}, now) == {}


# The words of the first user's business (a comparison site for electricity, gas and internet
# plans): a packaged letter that says them is not a letter for every company.
BUSINESS_WORDS = (
    "電気", "でんき", "ガス", "通信", "インターネット", "光回線", "電力", "比較", "料金", "プラン",
    "当サイト", "electric", "gas ", "telecom", "internet", "broadband", "comparison", "tariff",
    "rates", "plans", "our site",
)  # fmt: skip


def test_the_packaged_letters_hold_nothing_of_one_company_s_business() -> None:
    folder = Path(__import__("templates").__file__).parent / "mail"
    found = [
        f"{path.name}: {word}"
        for path in sorted(folder.glob("*.j2"))
        for word in BUSINESS_WORDS
        if word.lower() in path.read_text(encoding="utf-8").lower()
    ]
    assert found == []


def test_three_bad_values_are_reported_at_once_each_named_with_its_bad_value() -> None:
    with pytest.raises(ValueProblems) as caught:
        check_values(
            "disclosure_answer",
            {"case_ref": REF, "method": "fax", "fee": -500},  # and no items
        )
    problems = caught.value.problems
    assert [(type(p), p.value) for p in problems] == [
        (MissingValue, "items"),
        (InvalidValue, "method"),
        (InvalidValue, "fee"),
    ]
    assert str(caught.value).splitlines() == [
        "disclosure_answer: 3 values are missing or wrong:",
        "  missing value 'items'",
        "  value 'method' must be one of email, post, file, not 'fax'",
        "  value 'fee' must be a whole number above zero, not -500",
    ]
    assert "this" not in str(caught.value)  # never "not this str": the value itself


def test_names_a_template_does_not_take_are_reported_with_the_rest() -> None:
    with pytest.raises(ValueProblems) as caught:
        check_values("purpose_notice", {"case_ref": REF, "purpose": ["x"], "fee": "1000"})
    assert [p.value for p in caught.value.problems] == ["purpose", "purposes", "fee"]
    assert "not '1000'" in str(caught.value)


def test_a_long_bad_value_is_shown_cut_to_one_short_line() -> None:
    with pytest.raises(InvalidValue) as caught:
        check_values("refusal", {"case_ref": REF, "scope": "full", "requests": ["deletion"],
                                 "reasons": "あ" * 500 + "\nX-Evil: 1"})  # fmt: skip
    message = str(caught.value)
    assert "\n" not in message and len(message) < 120 and message.endswith("…")
