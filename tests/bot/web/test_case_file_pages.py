"""The case-file pages over real HTTP: a signed link becomes a session cookie, staff read the whole
case and its attachments, everyone and everything else gets the same 403; headers, escaping,
audit and logs. Staff are who the Slack double says; time moves by the injected clock."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from case_file_desk import (  # the desk these tests talk to
    ALICE,
    APPROVER,
    ATTACHMENTS,
    BYSTANDER,
    FOLLOW_UP,
    HOSTILE_NAME,
    HTML,
    NOTE,
    PNG,
    REQUEST,
    SVG,
    WebDesk,
    serving,
)
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from support import english

from bot.web.links import COOKIE
from bot.web.pages import forbidden_page
from bot.words import words
from storage import search
from storage.models import AuditEvent


@pytest.fixture
def desk(engine: Engine, slack: Any) -> Iterator[WebDesk]:
    with serving(engine, slack) as served:
        yield served


FORBIDDEN = forbidden_page(words("ja"))  # the desk's staff language by default

PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def audit(desk: WebDesk, action: str) -> list[AuditEvent]:
    with Session(desk.engine) as session:
        return list(
            session.exec(
                select(AuditEvent).where(AuditEvent.action == action).order_by(col(AuditEvent.id))
            )
        )


def assert_page_headers(answer: object) -> None:
    headers = answer.headers  # type: ignore[attr-defined]
    assert headers["Cache-Control"] == "no-store"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Security-Policy"] == PAGE_CSP


def test_a_link_becomes_a_cookie_and_the_page_shows_the_whole_case(desk: WebDesk) -> None:
    token = desk.token(ALICE)
    first = desk.get(f"/cases/{desk.ref}?t={token}")
    assert first.status == 303
    assert first.headers["Location"] == f"http://127.0.0.1:{desk.port}/cases/{desk.ref}"
    assert_page_headers(first)
    [set_cookie] = first.headers.get_all("Set-Cookie")
    attributes = {part.strip().split("=")[0].lower() for part in set_cookie.split(";")}
    assert {"httponly", "path", "max-age", "samesite"} <= attributes
    assert "SameSite=Strict" in set_cookie and "Path=/cases" in set_cookie
    assert "secure" not in attributes  # PD_PUBLIC_URL is http:// here
    assert token not in set_cookie

    page = desk.get(f"/cases/{desk.ref}", cookie=first.cookie())
    assert page.status == 200 and page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert_page_headers(page)
    html = page.text
    assert desk.ref in html
    assert REQUEST in html and FOLLOW_UP in html  # every word of both mails
    assert html.index(REQUEST) < html.index(FOLLOW_UP)  # in order
    assert "<details>" in html and "以前のメール" in html  # quoted history, folded
    assert html.index("以前のメール") > html.index("<details>")
    for n, (name, *_rest) in enumerate(ATTACHMENTS, start=1):
        assert f'href="/cases/{desk.ref}/attachments/{n}"' in html
        if "<" not in name:
            assert name in html
    assert "削除完了" in html and "ご依頼のとおり削除いたしました。" in html  # the draft
    assert NOTE in html
    flagged = re.findall(r'<span class="flag">([^<]+)</span>', html)
    # as `case` flags them (svg, html, type mismatch), named in the staff language
    assert {"SVG", "ウェブページ", "ウェブページ、種類と中身が不一致"} <= set(flagged)
    assert "<script" not in html and "http://" not in html.replace(  # nothing from elsewhere
        "http://www.w3.org", ""
    )
    opened = audit(desk, "case file opened")
    assert [(e.actor, e.case_id is not None) for e in opened] == [(ALICE, True)]


def test_everything_from_mail_is_escaped(desk: WebDesk) -> None:
    html = desk.get(f"/cases/{desk.ref}", cookie=desk.session()).text
    assert HOSTILE_NAME not in html
    assert "&lt;img src=x onerror=alert(1)&gt;.txt" in html


def test_every_refusal_is_the_same_403(desk: WebDesk) -> None:
    token = desk.token(ALICE)
    user, expiry, mac = token.split(".")
    flipped = mac[:-2] + ("A" if mac[-2] != "A" else "B") + mac[-1]
    attempts = {
        "no token, no cookie": desk.get(f"/cases/{desk.ref}"),
        "unsigned": desk.get(f"/cases/{desk.ref}?t={user}.{expiry}"),
        "altered signature": desk.get(f"/cases/{desk.ref}?t={user}.{expiry}.{flipped}"),
        "altered expiry": desk.get(f"/cases/{desk.ref}?t={user}.{int(expiry) + 3600}.{mac}"),
        "another user in it": desk.get(f"/cases/{desk.ref}?t={APPROVER}.{expiry}.{mac}"),
        "another case's token": desk.get(f"/cases/{desk.other_ref}?t={token}"),
        "a bystander's own token": desk.get(f"/cases/{desk.ref}?t={desk.token(BYSTANDER)}"),
        "a token as cookie": desk.get(f"/cases/{desk.ref}", cookie=token),
        "a forged cookie": desk.get(f"/cases/{desk.ref}", cookie=f"{ALICE}.{expiry}.{flipped}"),
        "search without a cookie": desk.get("/cases?q=%E7%94%B0%E4%B8%AD"),
        "attachment without a cookie": desk.get(f"/cases/{desk.ref}/attachments/1"),
        "not a reference": desk.get(f"/cases/PD-1?t={token}"),
    }
    desk.clock.advance(minutes=15)
    attempts["expired token"] = desk.get(f"/cases/{desk.ref}?t={token}")
    for what, answer in attempts.items():
        assert answer.status == 403, what
        assert answer.text == FORBIDDEN, what  # the same body, whatever was wrong
        assert answer.cookie() is None, what
        assert_page_headers(answer)
    # the bystander's refusal is audited (no case); the others name nobody to audit
    assert [(e.actor, e.case_id) for e in audit(desk, "not staff")] == [(BYSTANDER, None)]
    assert audit(desk, "case file opened") == []


def test_a_link_used_in_time_still_works_and_an_approver_outside_the_channel_is_staff(
    desk: WebDesk,
) -> None:
    token = desk.token(APPROVER)
    desk.clock.advance(minutes=14, seconds=59)
    answer = desk.get(f"/cases/{desk.ref}?t={token}")
    assert answer.status == 303
    assert desk.get(f"/cases/{desk.ref}", cookie=answer.cookie()).status == 200


def test_the_session_ends_and_so_does_staff_membership(desk: WebDesk) -> None:
    cookie = desk.session(ALICE)
    assert desk.get(f"/cases/{desk.other_ref}", cookie=cookie).status == 200  # any case: staff
    desk.slack.remove_member(desk.slack.channel, ALICE)
    removed = desk.get(f"/cases/{desk.ref}", cookie=cookie)  # the very next request
    assert removed.status == 403 and removed.text == FORBIDDEN
    assert desk.get(f"/cases/{desk.ref}/attachments/1", cookie=cookie).status == 403
    assert desk.get(f"/cases/{desk.ref}?t={desk.token(ALICE)}").status == 403  # no new session
    desk.slack.join(desk.slack.channel, ALICE)
    assert desk.get(f"/cases/{desk.ref}", cookie=cookie).status == 200
    desk.clock.advance(hours=8)
    expired = desk.get(f"/cases/{desk.ref}", cookie=cookie)
    assert expired.status == 403 and expired.text == FORBIDDEN
    assert [e.actor for e in audit(desk, "not staff")] == [ALICE, ALICE, ALICE]


def test_attachments_are_downloads_and_only_raster_images_show_inline(desk: WebDesk) -> None:
    cookie = desk.session()
    for n, (name, _main, _sub, data) in enumerate(ATTACHMENTS, start=1):
        answer = desk.get(f"/cases/{desk.ref}/attachments/{n}", cookie=cookie)
        assert answer.status == 200 and answer.body == data
        assert answer.headers["Content-Type"] == "application/octet-stream"
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in answer.headers["Content-Security-Policy"]
        assert answer.headers["Cache-Control"] == "no-store"
        disposition = answer.headers["Content-Disposition"]
        assert disposition.startswith("attachment;")
        assert f"filename*=UTF-8''{quote(name, safe='')}" in disposition
    assert (
        "filename*=UTF-8''%E9%81%8B%E8%BB%A2%E5%85%8D%E8%A8%B1%E8%A8%BC.png"
        in (
            desk.get(f"/cases/{desk.ref}/attachments/1", cookie=cookie).headers[
                "Content-Disposition"
            ]
        )
    )
    image = desk.get(f"/cases/{desk.ref}/images/1", cookie=cookie)
    assert image.status == 200 and image.body == PNG
    assert image.headers["Content-Type"] == "image/png"
    assert "sandbox" in image.headers["Content-Security-Policy"]
    # a PDF, an SVG, a web page, text, and a "photo.png" whose bytes are a web page
    for n, data in ((2, None), (3, SVG), (4, HTML), (5, None), (6, HTML)):
        refused = desk.get(f"/cases/{desk.ref}/images/{n}", cookie=cookie)
        assert refused.status == 404, n
        if data is not None:
            assert data not in refused.body
    html = desk.get(f"/cases/{desk.ref}", cookie=cookie).text
    assert re.findall(r'<img [^>]*src="([^"]+)"', html) == [f"/cases/{desk.ref}/images/1"]
    assert desk.get(f"/cases/{desk.ref}/attachments/99", cookie=cookie).status == 404
    downloads = audit(desk, "attachment downloaded")
    assert [e.detail["n"] for e in downloads] == [1, 2, 3, 4, 5, 6, 1]
    assert {e.actor for e in downloads} == {ALICE}
    assert all(len(e.detail["sha256"]) == 64 and "name" not in e.detail for e in downloads)
    assert [e.detail["n"] for e in audit(desk, "attachment viewed")] == [1]


def test_search_finds_cases_for_staff_and_is_audited(desk: WebDesk) -> None:
    cookie = desk.session()
    answer = desk.get(f"/cases?q={quote('個人情報削除')}", cookie=cookie)
    assert answer.status == 200
    assert_page_headers(answer)
    assert f'href="/cases/{desk.ref}"' in answer.text and desk.other_ref not in answer.text
    empty = desk.get("/cases", cookie=cookie)
    assert empty.status == 200 and desk.ref not in empty.text
    [searched] = audit(desk, "case file searched")
    assert searched.actor == ALICE and searched.case_id is None
    assert searched.detail["found"] == [desk.ref]
    assert "個人情報" not in str(searched.detail)  # what was typed is not kept


def test_a_search_matching_more_than_it_ranks_says_at_least(
    desk: WebDesk, monkeypatch: pytest.MonkeyPatch
) -> None:
    cookie = desk.session()
    assert (
        "「個人情報削除」: 1 件"
        in desk.get(f"/cases?q={quote('個人情報削除')}", cookie=cookie).text
    )
    monkeypatch.setattr(search, "CANDIDATES", 1)
    answer = desk.get(f"/cases?q={quote(desk.ref[:7])}", cookie=cookie)  # PD-2026: both cases
    assert re.search(r"「PD-\d{4}」: (\d) 件以上（新しいものから）<", answer.text)


def test_the_style_sheet_is_the_only_thing_a_page_loads(desk: WebDesk) -> None:
    html = desk.get(f"/cases/{desk.ref}", cookie=desk.session()).text
    loaded = re.findall(r'(?:src|href)="([^"#]+)"', html)
    assert "/cases/desk.css" in loaded
    assert all(url.startswith("/cases") for url in loaded)
    style = desk.get("/cases/desk.css")
    assert style.status == 200 and style.headers["Content-Type"].startswith("text/css")
    assert desk.ref not in style.text


def test_no_token_reaches_the_log(desk: WebDesk, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    token = desk.token(ALICE)
    cookie = desk.session()
    desk.get(f"/cases/{desk.ref}?t={token}")
    desk.get(f"/cases/{desk.ref}?t={token}x")
    desk.get(f"/cases/{desk.ref}", cookie=cookie)
    desk.get(f"/cases/{desk.ref}/attachments/1", cookie=cookie)
    desk.get(f"/cases?q={quote('田中')}", cookie=cookie)
    desk.clock.advance(minutes=20)
    desk.get(f"/cases/{desk.ref}?t={token}")
    logged = caplog.text
    assert desk.ref in logged  # the references are there
    for secret in (token, token.split(".")[2], cookie, cookie.split(".")[2], "田中", "運転免許証"):
        assert secret not in logged
    assert COOKIE not in logged


def test_when_slack_cannot_say_who_is_staff_nobody_is_let_in_by_the_channel(desk: WebDesk) -> None:
    cookie = desk.session(ALICE)
    desk.slack.set_scopes(desk.slack.manifest_scopes() - {"channels:read"})
    unsure = desk.get(f"/cases/{desk.ref}", cookie=cookie)
    assert unsure.status == 503 and desk.ref not in unsure.text and "田中" not in unsure.text
    assert_page_headers(unsure)
    approver = desk.get(f"/cases/{desk.ref}?t={desk.token(APPROVER)}")  # listed by ID
    assert approver.status == 303
    assert desk.get(f"/cases/{desk.ref}", cookie=approver.cookie()).status == 200


def test_opening_the_page_records_each_waiting_draft_as_read(desk: WebDesk) -> None:
    """The page shows a waiting draft whole: that this person read that revision is what lets
    them approve a draft too long for Slack's review modal (``DRAFT_READ``)."""
    from bot.slack.blocks import DRAFT_READ
    from storage.models import Case, Draft

    first = desk.get(f"/cases/{desk.ref}?t={desk.token(ALICE)}")
    assert desk.get(f"/cases/{desk.ref}", cookie=first.cookie()).status == 200
    with Session(desk.engine) as session:
        case = session.exec(select(Case).where(Case.ref == desk.ref)).one()
        drafts = session.exec(select(Draft).where(Draft.case_id == case.id))
        waiting = [d for d in drafts if d.status == "draft"]
    assert waiting
    read = audit(desk, DRAFT_READ)
    assert {(e.actor, e.detail["draft"], e.detail["revision"]) for e in read} == {
        (ALICE, d.id, d.revision) for d in waiting
    }
    assert audit(desk, "draft read") == read  # the action the review modal looks for


def _labels(html: str) -> list[str]:
    """The page's own words: headings, fact names, table heads, the search button."""
    return re.findall(r"<(?:h2|dt|th|button)[^>]*>([^<]+)<", html)


@pytest.mark.parametrize(
    ("language", "labels", "said"),
    [
        ("ja", {"状態", "請求内容", "回答期限", "監査証跡", "メモ", "検索"}, ("<dd>削除</dd>", "案件の受付")),
        ("en", {"Status", "Intents", "Answer due", "Audit trail", "Notes", "Search"}, ("<dd>deletion</dd>", "case opened")),
    ],
)  # fmt: skip
def test_the_page_speaks_the_staff_language(
    engine: Engine, slack: Any, language: str, labels: set[str], said: tuple[str, ...]
) -> None:
    """PD_STAFF_LANGUAGE=ja (the default) or en: the page's labels, statuses, intents and the
    audit trail's actions in that language alone, and ``<html lang>`` says which."""
    with serving(engine, slack, language=language) as desk:
        html = desk.get(f"/cases/{desk.ref}", cookie=desk.session()).text
    assert f'<html lang="{language}">' in html
    shown = _labels(html)
    assert labels <= set(shown), shown
    if language == "ja":
        assert [label for label in shown if english(label)] == []
    else:
        assert not re.search(r"[ぁ-んァ-ヶ一-龠]", "".join(shown)), shown
    for text in said:  # an intent, an audit action
        assert text in html, text
