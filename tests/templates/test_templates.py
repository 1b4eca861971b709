"""The mail requesters read: every reply in both languages, text and HTML, with the facts a
privacy officer checks before approving it; values stay data; operators' overrides win but
cannot escape the sandbox; a subject is always one line."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from templates import (
    OPTIONAL,
    REQUIRED,
    TEMPLATE_NAMES,
    BrokenTemplate,
    Company,
    InvalidValue,
    MissingValue,
    Rendered,
    TemplateError,
    Templates,
    UnknownTemplate,
    format_date,
    format_datetime,
    render,
)

REF = "PD-2026-000123"
COMPANY = Company(
    name_ja="でんき比較ナビ株式会社",
    name_en="Denki Hikaku Navi K.K.",
    desk_ja="個人情報お問い合わせ窓口",
    desk_en="Privacy Desk",
    email="privacy@denki-navi.example.jp",
    phone="03-1234-5678",
    postal_address="東京都千代田区丸の内1-2-3",
    web="https://denki-navi.example.jp/privacy",
)

# One realistic case, enough for every template; each takes the values it names.
CASE: dict[str, Any] = {
    "case_ref": REF,
    "requester_name": "山田 花子",
    "requests": ["disclosure", "stop_provision"],
    "received_on": datetime(2026, 11, 25, 15, 30, tzinfo=UTC),  # 26 Nov in Tokyo
    "answer_due": date(2026, 12, 9),
    "kind": "identity",
    "needed": ["運転免許証またはマイナンバーカード（表面のみ）の写し"],
    "reply_by": date(2026, 12, 23),
    "code": "482913",
    "expires_at": datetime(2026, 12, 9, 6, 30, tzinfo=UTC),  # 15:30 in Tokyo
    "method": "file",
    "items": [
        "会員登録情報（氏名、住所、電話番号、メールアドレス）",
        "お見積り履歴（2025年4月〜2026年10月）",
    ],
    "attachments": ["PD-2026-000123_開示データ.csv"],
    "corrections": ["ご住所：「東京都港区芝1-1-1」から「東京都港区芝2-2-2」へ変更"],
    "done_on": date(2026, 12, 1),
    "deleted": ["会員登録情報", "お見積り履歴"],
    "stopped": ["メールマガジンの配信", "お電話でのご案内"],
    "recipients": ["提携電力会社（さくら電気株式会社）"],
    "scope": "partial",
    "reasons": [
        "通話録音の開示は、応対した従業員の権利利益を害するおそれがあるため（法第33条第2項第1号）"
    ],
    "reason": "ご請求の対象となる記録が複数のシステムにまたがっており、確認に時間を要しているため",
    "new_due": date(2027, 1, 8),
    "answer_text": "当社は、お客様の同意なく提携先へ情報を提供しておりません。\n\n詳細は以下のとおりです。",
    "provider_name": "さくら電気株式会社",
    "asked_on": date(2026, 11, 26),
    "purposes": ["ご契約内容の確認およびご連絡のため", "サービス改善のための統計資料の作成のため"],
}

# What the reader must find in the text and the HTML body of each reply.
FACTS: dict[tuple[str, str], tuple[str, ...]] = {
    ("ack", "ja"): ("2026年11月26日（木）", "2026年12月9日（水）", "保有個人データの開示"),
    ("ack", "en"): ("Thursday, 26 November 2026", "Wednesday, 9 December 2026", "third parties"),
    ("identity_request", "ja"): ("運転免許証", "マイナンバー", "2026年12月23日（水）", "繰り下げ"),
    ("identity_request", "en"): ("運転免許証", "Wednesday, 23 December 2026", "moves back"),
    ("verification_code", "ja"): ("482913", "2026年12月9日（水）15:30まで"),
    ("verification_code", "en"): ("482913", "Wednesday, 9 December 2026, 15:30 Japan time (JST)"),
    ("disclosure_answer", "ja"): ("第33条", "電磁的記録", "お見積り履歴", "開示データ.csv"),
    ("disclosure_answer", "en"): ("electronic files", "お見積り履歴", "開示データ.csv"),
    ("purpose_notice", "ja"): ("第32条第2項", "ご契約内容の確認およびご連絡のため"),
    ("purpose_notice", "en"): ("Article 32(2)", "ご契約内容の確認およびご連絡のため"),
    ("correction_done", "ja"): ("第34条第3項", "2026年12月1日（火）", "東京都港区芝2-2-2"),
    ("correction_done", "en"): ("Tuesday, 1 December 2026", "東京都港区芝2-2-2"),
    ("deletion_done", "ja"): ("2026年12月1日（火）", "お見積り履歴", "削除いたしました"),
    ("deletion_done", "en"): ("Tuesday, 1 December 2026", "お見積り履歴", "deleted"),
    ("suspension_done", "ja"): ("2026年12月1日（火）", "メールマガジンの配信", "停止いたしました"),
    ("suspension_done", "en"): ("Tuesday, 1 December 2026", "メールマガジンの配信", "stopped"),
    ("third_party_stopped", "ja"): ("2026年12月1日（火）", "さくら電気株式会社", "各事業者様"),
    ("third_party_stopped", "en"): ("Tuesday, 1 December 2026", "さくら電気株式会社", "consent"),
    ("refusal", "ja"): ("第36条", "一部", "法第33条第2項第1号", "第三者への提供の停止"),
    ("refusal", "en"): ("part of it", "法第33条第2項第1号", "access to the personal data"),
    ("extension_notice", "ja"): ("2027年1月8日（金）", "複数のシステムにまたがって"),
    ("extension_notice", "en"): ("Friday, 8 January 2027", "複数のシステムにまたがって"),
    ("complaint_answer", "ja"): ("お詫び", "同意なく提携先へ情報を提供しておりません"),
    ("complaint_answer", "en"): ("sorry", "同意なく提携先へ情報を提供しておりません"),
    ("inquiry_answer", "ja"): ("お問い合わせ", "同意なく提携先へ情報を提供しておりません"),
    ("inquiry_answer", "en"): ("question", "同意なく提携先へ情報を提供しておりません"),
    ("rate_redirect", "ja"): ("個人情報の取扱いに関するお問い合わせ専用", "当社の担当窓口"),
    ("rate_redirect", "en"): ("about personal data only", "general customer contact"),
    ("provider_ack", "ja"): ("さくら電気株式会社", "山田 花子 様", "掲載", "根拠となる資料"),
    ("provider_ack", "en"): ("さくら電気株式会社", "Dear 山田 花子,", "that we\npublish"),
    ("unverified_close", "ja"): ("2026年11月26日（木）", "14日", "終了"),
    ("unverified_close", "en"): ("Thursday, 26 November 2026", "14 days", "closed"),
}

SUBJECT_MARK = {"ja": f"【{REF}】", "en": f"[{REF}]"}
SIGNATURE = {
    "ja": ("でんき比較ナビ株式会社", "個人情報お問い合わせ窓口", "03-1234-5678", "丸の内1-2-3"),
    "en": ("Denki Hikaku Navi K.K.", "Privacy Desk", "03-1234-5678", "丸の内1-2-3"),
}


def values_for(name: str, **changes: Any) -> dict[str, Any]:
    """The case's values that ``name`` takes, with ``changes`` on top."""
    wanted = (*REQUIRED[name], *OPTIONAL[name])
    return {key: CASE[key] for key in wanted if key in CASE} | changes


def reply(desk: Templates, name: str, lang: str, **changes: Any) -> Rendered:
    return desk.render(name, lang, **values_for(name, **changes))


@pytest.fixture(scope="module")
def desk() -> Templates:
    return Templates(COMPANY)


def test_the_facts_table_covers_every_template_in_both_languages() -> None:
    assert set(FACTS) == {(name, lang) for name in TEMPLATE_NAMES for lang in ("ja", "en")}


@pytest.mark.parametrize(("name", "lang"), sorted(FACTS))
def test_every_reply_renders_with_its_reference_facts_and_signature(
    desk: Templates, name: str, lang: str
) -> None:
    mail = reply(desk, name, lang)

    assert (mail.template, mail.language) == (name, lang)
    assert mail.subject.startswith(SUBJECT_MARK[lang])
    assert "\n" not in mail.subject and len(mail.subject) > len(SUBJECT_MARK[lang]) + 5
    assert mail.html is not None and mail.html.startswith("<!DOCTYPE html>")
    assert f'<html lang="{lang}">' in mail.html
    for fact in (*FACTS[name, lang], *SIGNATURE[lang], COMPANY.email):
        assert fact in mail.body, f"{fact!r} missing from the text of {name}.{lang}"
        assert fact in mail.html, f"{fact!r} missing from the HTML of {name}.{lang}"
    signature = "\n".join(mail.body.rstrip().splitlines()[-8:])  # the signature closes the mail
    assert SIGNATURE[lang][0] in signature and COMPANY.email in signature
    assert "{{" not in mail.body and "{%" not in mail.body  # nothing left unrendered


def test_the_reply_is_written_to_the_person_or_to_the_customer_when_nameless(
    desk: Templates,
) -> None:
    named = reply(desk, "ack", "ja")
    nameless = reply(desk, "ack", "ja", requester_name="")
    assert named.body.startswith("山田 花子 様\n")
    assert nameless.body.startswith("お客様\n")  # not "お客様 様"
    assert reply(desk, "ack", "en", requester_name="").body.startswith("Dear Customer,\n")


def test_a_provider_without_a_named_contact_is_addressed_to_whoever_handles_it(
    desk: Templates,
) -> None:
    mail = desk.render("provider_ack", "ja", case_ref=REF, provider_name="さくら電気株式会社")
    assert mail.body.startswith("さくら電気株式会社\nご担当者様\n")
    assert "平素より大変お世話になっております" in mail.body


def test_identity_and_clarification_requests_ask_for_different_things(desk: Templates) -> None:
    identity = reply(desk, "identity_request", "ja")
    clarify = reply(
        desk, "identity_request", "ja", kind="clarification", needed=["対象となるサービス名"]
    )
    assert "ご本人確認書類" in identity.subject and "マイナンバー" in identity.body
    assert "確認のお願い" in clarify.subject and "マイナンバー" not in clarify.body
    assert "・対象となるサービス名" in clarify.body
    for mail in (identity, clarify):  # the clock waits either way, told as a privacy officer would
        assert "ご返信が当窓口に届いてから" in mail.body and "期間の進行" not in mail.body


def test_a_full_refusal_says_so_and_a_partial_one_lists_what_was_done(desk: Templates) -> None:
    full = reply(desk, "refusal", "en", scope="full")
    partial = reply(desk, "refusal", "en", granted=["We stopped passing your data on."])
    assert full.subject.endswith("we are unable to comply")
    assert "unable to comply with it." in full.body
    assert partial.subject.endswith("we can comply only in part")
    assert "- We stopped passing your data on." in partial.body


@pytest.mark.parametrize(
    ("method", "lang", "said"),
    [
        ("email", "ja", "ご指定いただいた方法（電子メール（本文への記載））"),
        ("post", "ja", "2026年12月2日（水）に、お申し出の際にご指定いただいたご住所宛てに郵送"),
        ("file", "ja", "ご指定いただいた方法（電磁的記録の提供）"),
        ("email", "en", "by email, in the text of the message"),
        ("post", "en", "by post on Wednesday, 2 December 2026"),
        ("file", "en", "as electronic files"),
    ],
)
def test_a_disclosure_says_how_the_data_reaches_the_requester(
    desk: Templates, method: str, lang: str, said: str
) -> None:
    values = values_for("disclosure_answer", method=method, posted_on=date(2026, 12, 2))
    assert said in desk.render("disclosure_answer", lang, **values).body


def test_a_disclosure_with_nothing_held_says_so(desk: Templates) -> None:
    mail = reply(desk, "disclosure_answer", "ja", items=[])
    assert "保有している個人データはございませんでした" in mail.body
    assert "添付" not in mail.body


def test_a_marketing_opt_out_warns_of_mail_already_on_its_way(desk: Templates) -> None:
    quiet = reply(desk, "suspension_done", "ja")
    marketing = reply(desk, "suspension_done", "ja", marketing=True)
    assert "行き違い" not in quiet.body and "行き違い" in marketing.body


def test_data_kept_after_a_deletion_is_named(desk: Templates) -> None:
    mail = reply(desk, "deletion_done", "en", retained=["Contract records (law)"])
    assert "We must keep the following information" in mail.body
    assert "- Contract records (law)" in mail.body


@pytest.mark.parametrize(
    ("value", "ja", "en"),
    [
        (date(2026, 12, 9), "2026年12月9日（水）", "Wednesday, 9 December 2026"),
        (date(2027, 1, 1), "2027年1月1日（金）", "Friday, 1 January 2027"),
        # 23:30 UTC is already the next morning in Tokyo
        (
            datetime(2026, 12, 8, 23, 30, tzinfo=UTC),
            "2026年12月9日（水）",
            "Wednesday, 9 December 2026",
        ),
        (
            datetime(2026, 12, 9, 10, 0, tzinfo=timezone(timedelta(hours=-5))),
            "2026年12月10日（木）",
            "Thursday, 10 December 2026",
        ),
    ],
)
def test_dates_are_written_per_language_in_tokyo(value: date, ja: str, en: str) -> None:
    assert format_date(value, "ja") == ja
    assert format_date(value, "en") == en


def test_times_are_written_in_tokyo() -> None:
    moment = datetime(2026, 12, 9, 14, 5, tzinfo=UTC)
    assert format_datetime(moment, "ja") == "2026年12月9日（水）23:05"
    assert format_datetime(moment, "en") == "Wednesday, 9 December 2026, 23:05 Japan time (JST)"


@pytest.mark.parametrize(
    ("name", "value"), [(name, value) for name in TEMPLATE_NAMES for value in REQUIRED[name]]
)
def test_a_missing_value_is_named(desk: Templates, name: str, value: str) -> None:
    values = values_for(name)
    del values[value]
    with pytest.raises(MissingValue, match=f"{name}: missing value '{value}'") as caught:
        desk.render(name, "ja", **values)
    assert (caught.value.template, caught.value.value) == (name, value)


@pytest.mark.parametrize("empty", [None, "", []])
def test_an_empty_value_counts_as_missing(desk: Templates, empty: object) -> None:
    with pytest.raises(MissingValue, match="'reasons'"):
        reply(desk, "refusal", "ja", reasons=empty)


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"scope": "most"}, "scope"),
        ({"requests": ["disclosure", "refund"]}, "requests"),
        ({"reasons": "one reason, not a list"}, "reasons"),
        ({"answer_due": datetime(2026, 12, 9, 12, 0)}, "answer_due"),  # naive
        ({"answer_due": "2026-12-09"}, "answer_due"),
        ({"answer_dew": date(2026, 12, 9)}, "answer_dew"),  # a typo is not ignored
    ],
)
def test_a_wrong_value_is_refused_by_name(
    desk: Templates, changes: dict[str, Any], named: str
) -> None:
    name = "refusal" if "scope" in changes or "reasons" in changes else "ack"
    with pytest.raises(InvalidValue, match=f"'{named}'") as caught:
        reply(desk, name, "en", **changes)
    assert caught.value.value == named


@pytest.mark.parametrize("name", ["nope", "_layout", "../mail/ack", "ack.ja"])
def test_an_unknown_template_is_refused(desk: Templates, name: str) -> None:
    with pytest.raises(UnknownTemplate, match="no mail template"):
        desk.render(name, "ja", case_ref=REF)


def test_company_is_not_a_value_a_caller_can_replace(desk: Templates) -> None:
    with pytest.raises(InvalidValue, match="company"):
        desk.render("rate_redirect", "ja", case_ref=REF, company="Evil Corp")


@pytest.mark.parametrize(
    ("asked", "got"),
    [("ja", "ja"), ("en", "en"), ("en-GB", "en"), ("EN", "en"), ("fr", "ja"), ("", "ja")],
)
def test_a_language_without_templates_falls_back_to_japanese(
    desk: Templates, asked: str, got: str
) -> None:
    mail = desk.render("rate_redirect", asked, case_ref=REF)
    assert mail.language == got
    assert mail.subject.startswith(SUBJECT_MARK[got])


def test_requester_text_is_data_not_template_code(desk: Templates) -> None:
    mail = reply(
        desk,
        "inquiry_answer",
        "en",
        requester_name="{{ 7*7 }}",
        their_subject="{% for x in range(3) %}x{% endfor %}",
        answer_text="{{ company.email }} {{ cycler.__init__.__globals__ }}",
    )
    for text in (mail.subject, mail.body, mail.html or ""):
        assert "49" not in text and "xxx" not in text
    assert "Dear {{ 7*7 }}," in mail.body
    assert "(Re: {% for x in range(3) %}x{% endfor %})" in mail.subject
    assert "{{ company.email }} {{ cycler.__init__.__globals__ }}" in mail.body


def test_html_escapes_what_requesters_and_staff_wrote(desk: Templates) -> None:
    mail = reply(
        desk,
        "complaint_answer",
        "ja",
        requester_name='<img src=x onerror="alert(1)">',
        answer_text="<script>alert('x')</script>\n二行目 & <b>太字</b>",
    )
    assert mail.html is not None
    assert "<script" not in mail.html and "<img" not in mail.html and "<b>" not in mail.html
    assert (
        "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;<br>\n二行目 &amp; &lt;b&gt;" in mail.html
    )
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt; 様" in mail.html
    assert "<script>alert('x')</script>" in mail.body  # the text body is not HTML: kept as written


def test_the_company_is_escaped_in_html_too() -> None:
    company = Company("A&B株式会社", "A&B <K.K.>", "窓口", "Desk", "privacy@ab.example")
    mail = Templates(company).render("rate_redirect", "en", case_ref=REF)
    assert mail.html is not None and "A&amp;B &lt;K.K.&gt;" in mail.html
    assert "A&B <K.K.>" in mail.body


@pytest.mark.parametrize(
    "dirty",
    [
        "Re: hello\r\nBcc: victim@example.com",
        "Re: hello\nBcc: victim@example.com",
        "Re: hello\rBcc: victim@example.com",
        "Re: hello\u2028Bcc: victim@example.com",
        "Re: hello\x85Bcc: victim@example.com",
        "Re: hello\x00\x1b\x0bBcc: victim@example.com",
    ],
)
def test_the_subject_is_one_line_whatever_the_values_hold(desk: Templates, dirty: str) -> None:
    for lang in ("ja", "en"):
        mail = reply(
            desk, "complaint_answer", lang, their_subject=dirty, case_ref=f"{REF}\r\nX-Evil: 1"
        )
        assert mail.subject.splitlines() == [mail.subject]
        assert all(c.isprintable() for c in mail.subject), repr(mail.subject)
        assert "hello Bcc: victim@example.com" in mail.subject
        assert f"{REF} X-Evil: 1" in mail.subject


def test_the_existing_intake_call_still_works_with_a_placeholder_company() -> None:
    mail = render("rate_redirect", "ja", case_ref=REF, requester_name="")
    assert mail.subject == f"【{REF}】お問い合わせの窓口についてのご案内"
    assert "当社の担当窓口" in mail.body and "〔会社名未設定〕" in mail.body
    assert mail.html is not None and "当社の担当窓口" in mail.html


def test_a_signature_override_replaces_the_built_block() -> None:
    company = Company(
        "株式会社テスト",
        "Test K.K.",
        "窓口",
        "Desk",
        "privacy@test.example",
        signature_ja="株式会社テスト\nプライバシー担当 <privacy@test.example>",
    )
    mail = Templates(company).render("rate_redirect", "ja", case_ref=REF)
    assert mail.body.endswith("株式会社テスト\nプライバシー担当 <privacy@test.example>\n")
    assert "メール：" not in mail.body
    assert mail.html is not None
    assert "株式会社テスト<br>\nプライバシー担当 &lt;privacy@test.example&gt;" in mail.html
    english = Templates(company).render("rate_redirect", "en", case_ref=REF)
    assert "Email: privacy@test.example" in english.body  # no English override: the built one


def write(folder: Path, name: str, text: str) -> Path:
    (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_an_operators_template_wins_over_the_packaged_one(tmp_path: Path) -> None:
    write(
        tmp_path,
        "rate_redirect.en.txt.j2",
        "{% set subject %}[{{ case_ref }}] About plans{% endset %}"
        "Please ask your provider. {{ company.name_en }}\n",
    )
    desk = Templates(COMPANY, override_dir=tmp_path)
    mail = desk.render("rate_redirect", "en", case_ref=REF)
    assert mail.subject == f"[{REF}] About plans"
    assert mail.body == "Please ask your provider. Denki Hikaku Navi K.K.\n"
    assert mail.html is not None and "general customer contact" in mail.html  # HTML: packaged
    assert "当社の担当窓口" in desk.render("rate_redirect", "ja", case_ref=REF).body


def test_an_operators_layout_changes_every_mail_of_that_language(tmp_path: Path) -> None:
    write(
        tmp_path,
        "_layout.en.txt.j2",
        "Hello,\n{% block body %}{% endblock %}\n-- {{ company.desk_en }}\n",
    )
    desk = Templates(COMPANY, override_dir=tmp_path)
    for name in ("ack", "unverified_close"):
        body = reply(desk, name, "en").body
        assert body.startswith("Hello,\n") and body.endswith("-- Privacy Desk\n")


@pytest.mark.parametrize(
    ("override", "why"),
    [
        ("{% set subject %}x{% endset %}{{ ''.__class__.__mro__ }}", "refused by the sandbox"),
        (
            "{% set subject %}x{% endset %}{{ cycler.__init__.__globals__ }}",
            "refused by the sandbox",
        ),
        (
            "{% set subject %}x{% endset %}{{ ().__class__.__base__.__subclasses__() }}",
            "refused by the sandbox",
        ),
        ("{% set subject %}x{% endset %}{{ company.__class__ }}", "refused by the sandbox"),
        ("{% set subject %}x{% endset %}{{ requests.append('x') }}", "refused by the sandbox"),
        ("{% set subject %}x{% endset %}{% for %}", "syntax error in ack.ja.txt.j2 line 1"),
        ("{% set subject %}x{% endset %}{{ secret_key }}", "'secret_key' is undefined"),
        ("{% include '/etc/passwd' %}", "no template"),
        ("{% extends '../../__init__.py' %}", "no template"),
        ("No subject set here.", "sets no subject"),
    ],
)
def test_a_broken_or_malicious_override_is_a_template_error(
    tmp_path: Path, override: str, why: str
) -> None:
    desk = Templates(COMPANY, override_dir=write(tmp_path, "ack.ja.txt.j2", override))
    with pytest.raises(BrokenTemplate, match=why) as caught:
        reply(desk, "ack", "ja")
    assert isinstance(caught.value, TemplateError)
    assert (caught.value.template, caught.value.language) == ("ack", "ja")


def test_the_caller_s_lists_are_left_as_they_were(tmp_path: Path) -> None:
    write(tmp_path, "ack.ja.txt.j2", "{% set subject %}x{% endset %}{{ requests.append('x') }}")
    requests = ["disclosure"]
    with pytest.raises(BrokenTemplate):
        reply(Templates(COMPANY, override_dir=tmp_path), "ack", "ja", requests=requests)
    assert requests == ["disclosure"]


def test_check_finds_a_broken_override_before_any_mail_needs_it(tmp_path: Path) -> None:
    Templates(COMPANY).check()  # the packaged set compiles
    desk = Templates(COMPANY, override_dir=write(tmp_path, "refusal.en.html.j2", "<p>{% if %}</p>"))
    with pytest.raises(BrokenTemplate, match=r"refusal\.en"):
        desk.check()


def test_an_override_folder_that_is_not_there_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BrokenTemplate, match="not a folder"):
        Templates(COMPANY, override_dir=tmp_path / "missing")
