"""Full-text search on SQLite and PostgreSQL: mail taken in by intake is found by a two-character
Japanese surname and by words of its body (Japanese and English) and of its quoted history; a
requester address only whole; a message linked to another case is found under that case; FTS
syntax in a query is text to find; ranking puts subjects and names above bodies; a word found
in more cases than are ranked ranks the newest and says its total is a floor; a reference is
found whole or in part; the whole-address lookup has its index."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text
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


@pytest.mark.parametrize("probe", [2, 101])  # PostgreSQL's first look: less than a cap, or more
def test_a_word_in_more_cases_than_ranked_ranks_the_newest_and_says_at_least(
    desk: Desk, probe: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search, "PG_PROBE", probe)
    refs = [
        desk.mail(f"解約について。口座番号{n}", f"R{n} <r{n}@example.jp>", hours=n)
        for n in range(6)
    ]
    thin = [desk.mail("口座番号の件", f"S{n} <s{n}@example.jp>", hours=10 + n) for n in range(2)]
    by_id = {}
    with Session(desk.engine) as session:
        for ref in refs + thin:
            case = views.search(session, ref, limit=1).cases[0]
            by_id[case.id] = case.ref
        for word, newest in (("解約", refs[::-1]), ("口座番号", (refs + thin)[::-1])):
            every = search.find(session, word, limit=20)
            assert [by_id[h.case_id] for h in every.hits] == newest and not every.capped
            assert every.total == len(newest)
            # three candidates: the three newest, newest first among equals, a floor for a total
            some = search.find(session, word, limit=20, candidates=3)
            assert [by_id[h.case_id] for h in some.hits] == newest[:3], word
            assert some.capped and some.total == 3
            page = search.find(session, word, limit=2, candidates=3)
            assert len(page.hits) == 2 and page.total == 3 and page.capped
        # fewer matches than candidates: exact, as before
        exact = search.find(session, "口座番号の件", limit=20, candidates=3)
        assert [by_id[h.case_id] for h in exact.hits] == thin[::-1] and not exact.capped
    # a subject among the candidates still ranks above the bodies
    subject = desk.mail("よろしく", "T <t@example.jp>", subject="解約のお願い", hours=-50)
    with Session(desk.engine) as session:
        ranked = [c.ref for c in views.search(session, "解約", limit=3).cases]
    assert ranked == [subject, *refs[::-1][:2]]


def test_a_reference_is_found_whole_or_in_part(desk: Desk) -> None:
    first = desk.mail("データを消してください。", "A <a@example.jp>")
    second = desk.mail("データを消してください。", "B <b@example.jp>", hours=1)
    assert desk.find(first) == [first] and desk.find(first.lower()) == [first]
    page = desk.page(second)
    assert list(page.matched.values()) == [("reference",)]
    number = second.rsplit("-", 1)[1]  # e.g. 000002
    assert second in desk.find(number) and first not in desk.find(number)
    assert desk.find(first.split("-")[1]) == [second, first]  # the year: newest first
    assert desk.find("PD-20") == [second, first]


def test_the_whole_address_lookup_has_an_index(engine: Engine) -> None:
    # migration 0019: search compares lower(requester), which this index holds
    catalog = {
        "sqlite": "SELECT sql FROM sqlite_master WHERE name = :n",
        "postgresql": "SELECT indexdef FROM pg_indexes WHERE indexname = :n",
    }[engine.dialect.name]
    with engine.connect() as conn:
        made = conn.execute(text(catalog), {"n": "ix_case_requester_lower"}).scalar_one()
    assert "lower(requester" in made.replace("(requester)::text", "requester")
