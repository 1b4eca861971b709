"""Full-text search on SQLite and PostgreSQL: mail taken in by intake is found by a two-character
Japanese surname and by words of its body (Japanese and English) and of its quoted history; a
requester address only whole; a message linked to another case is found under that case; FTS
syntax in a query is text to find; ranking puts subjects and names above bodies."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from bot.cases import CaseDesk
from bot.intake import Intake
from bot.replies import Replies, ReplySettings
from storage import search, views

APPROVER = "U0APPROVE1"
SETTINGS = {"PD_FROM_ADDRESS": "privacy@example-hikaku.co.jp", "PD_APPROVERS": APPROVER}
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


class Desk:
    def __init__(self, engine: Engine, make_mail: Callable[..., bytes]) -> None:
        self.engine, self.make_mail = engine, make_mail
        self.intake = Intake(engine, replies=ReplySettings.from_env(SETTINGS))

    def mail(self, body: str, sender: str, *, subject: str = "お問い合わせ", hours: int = 0) -> str:
        raw = self.make_mail(body, sender=sender, subject=subject, date=T0 + timedelta(hours=hours))
        result = self.intake.process(raw)
        assert result.ref is not None, result
        return result.ref

    def find(self, text: str) -> list[str]:
        with Session(self.engine) as session:
            return [c.ref for c in views.search(session, text, limit=20).cases]

    def page(self, text: str) -> views.Page:
        with Session(self.engine) as session:
            return views.search(session, text, limit=20)


@pytest.fixture
def desk(engine: Engine, make_mail: Callable[..., bytes]) -> Desk:
    return Desk(engine, make_mail)


def test_a_two_character_surname_and_words_of_the_body_are_found(desk: Desk) -> None:
    tanaka = desk.mail(
        "お世話になっております。田中と申します。\n会員登録の削除をお願いします。\n\n"
        "> 以前の問い合わせ：ポイント残高について",
        "Yamada Hanako <hanako@example.jp>",
        subject="退会の手続き",
    )
    english = desk.mail(
        "Hello,\nPlease erase my loyalty account and stop the newsletter.\nBest, John",
        "John Smith <john@example.com>",
        subject="Request",
    )
    assert desk.find("田中") == [tanaka]  # two characters: below FTS5 trigrams' reach
    assert desk.find("削除") == [tanaka]
    assert desk.find("会員登録の削除") == [tanaka]
    assert desk.find("ポイント残高") == [tanaka]  # the quoted history is searched too
    assert desk.find("Loyalty ACCOUNT") == [english]  # case folded
    assert desk.find("newsletter") == [english]
    assert desk.find("ＮＥＷＳＬＥＴＴＥＲ") == [english]  # full-width: NFKC
    assert desk.find("john smith") == [english]  # the requester's name
    assert desk.find("退会") == [tanaka]  # the subject
    assert desk.find("田中 太郎") == []  # a phrase, not any of its words
    assert desk.find("存在しない") == []
    page = desk.page("田中")
    assert page.total == 1 and page.matched[page.cases[0].id or 0] == ("body",)


def test_one_cjk_character_is_found_and_one_latin_letter_refused(desk: Desk) -> None:
    hayashi = desk.mail("林です。データを消してください。", "Hayashi <h@example.jp>")
    assert desk.find("林") == [hayashi]
    for query in ("a", "%", "'", " ", ""):
        with pytest.raises(search.QueryError):
            desk.find(query)


def test_an_address_matches_only_whole_in_the_requester(desk: Desk) -> None:
    ref = desk.mail("個人情報を削除してください。", "Hanako <Hanako.Sato@Example.JP>")
    assert desk.find("hanako.sato@example.jp") == [ref]
    assert desk.find("HANAKO.SATO@EXAMPLE.JP") == [ref]
    page = desk.page("hanako.sato@example.jp")
    assert list(page.matched.values()) == [("requester",)]
    for part in ("hanako.sato@example", "hanako.sato", "sato@example.jp", "example.jp"):
        assert desk.find(part) == [], part
    # written in a body, an address is text like any other
    other = desk.mail("連絡先は ichiro@example.net です。", "Ichiro <i@example.jp>")
    assert desk.find("ichiro@example") == [other]


def test_fts_syntax_in_a_query_is_text_to_find(desk: Desk) -> None:
    ref = desk.mail(
        'He wrote "urgent" * NEAR(a b) and 100% sure, it\'s -x OR y; 50_50 a\\b',
        "Odd <odd@example.jp>",
    )
    for query in ('"urgent"', "* NEAR(", "NEAR(a b)", "100%", "it's", "-x OR y", "50_50", "a\\b"):
        assert desk.find(query) == [ref], query
    for query in ("OR 1=1 --", "100%%", "' OR ''='", "urgent*", "%%", "__", '""'):
        assert desk.find(query) == [], query


def test_a_message_linked_to_another_case_is_found_under_it(desk: Desk) -> None:
    first = desk.mail("個人情報の開示を請求します。", "Hanako <hanako@example.jp>")
    apart = desk.mail("追伸：口座番号も削除してください。", "Hanako <hanako@other.example>")
    assert desk.find("口座番号") == [apart]
    engine = desk.engine
    CaseDesk(engine, Replies(engine, ReplySettings.from_env(SETTINGS))).link(
        first, [apart], actor=APPROVER
    )
    assert desk.find("口座番号") == [first]


def test_subjects_and_names_rank_above_bodies_then_more_hits_then_newest(desk: Desk) -> None:
    older_body = desk.mail("解約について。", "A <a@example.jp>", hours=0)
    newer_body = desk.mail("解約について。", "B <b@example.jp>", hours=1)
    subject = desk.mail("よろしくお願いします。", "C <c@example.jp>", subject="解約", hours=-5)
    twice = desk.mail("解約について。\n\n> 解約の件", "D <d@example.jp>", hours=-9)
    assert desk.find("解約") == [subject, twice, newer_body, older_body]
    page = desk.page("解約")
    assert page.total == 4 and page.matched[page.cases[1].id or 0] == ("body", "quoted")


def test_a_long_text_is_found_across_its_chunks(desk: Desk) -> None:
    filler = "あいうえお" * 900  # 4,500 characters: three chunks
    ref = desk.mail(f"{filler}末尾の佐々木です。{filler}最後の言葉", "Long <long@example.jp>")
    assert desk.find("末尾の佐々木") == [ref]
    assert desk.find("最後の言葉") == [ref]
    with Session(desk.engine) as session:
        case = views.search(session, "最後の言葉", limit=1).cases[0]
        assert case.id is not None and search.indexed(session, case.id) >= 4
