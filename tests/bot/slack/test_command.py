"""``/privacy``: staff ask the desk about its cases and only they see the answer — open,
overdue, mine, one case, search — bounded, escaped, masked, and refused when Slack did not sign
the request. Requests are signed as Slack signs them and dispatched to a bolt app with the
desk's command registered; the Web API is the double."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine, create_engine
from sqlmodel import Session
from support import add_case as support_add_case
from support import settle

from bot.slack import home
from bot.slack.poster import CasePoster
from bot.slack.staff import Staff
from bot.words import Words, words
from storage import repo, search

SECRET = "signing-secret-of-the-test"
NOW = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)  # 12:00 in Tokyo
ALICE, BOB, CAROL = "U0ALICE001", "U0BOB00001", "U0CAROL001"
HOSTILE = "<!channel> 至急 <https://evil.example/login|https://bank.example> & co"
EN = words("en")  # the tests read the English texts; one test reads the Japanese default
USAGE = EN("home.usage", command=home.COMMAND)
CASE_USAGE = EN("home.case_usage", command=home.COMMAND)
SEARCH_USAGE = EN("home.search_usage", command=home.COMMAND)


def double() -> Any:
    return sys.modules["slack_double"]  # loaded by the slack fixture


def add_case(session: Session, requester: str, **given: Any) -> str:
    """A case with its first message (received three days before NOW unless given)."""
    return support_add_case(session, requester, **{"received": NOW - timedelta(days=3), **given})


class Desk:
    """Five cases, the first four posted in the channel, and the app with /privacy (English
    unless ``w`` says otherwise)."""

    def __init__(self, engine: Engine, slack: Any, *, w: Words = EN, **options: Any) -> None:
        self.engine, self.slack = engine, slack
        for user in (ALICE, BOB, CAROL):
            slack.add_user(user, name=user.lower())
        with Session(engine) as session:
            self.overdue = add_case(
                session, "alice.requester@example.jp", due=NOW - timedelta(days=2), assignee=ALICE
            )
            self.soon = add_case(
                session, "Hostile.Sender@Evil.example", due=NOW + timedelta(days=1), subject=HOSTILE
            )
            self.later = add_case(
                session,
                "bob.requester@example.jp",
                due=NOW + timedelta(days=10),
                assignee=BOB,
                intents=("disclosure", "stop_use"),
            )
            self.answered = add_case(
                session,
                "done@example.jp",
                due=NOW - timedelta(days=5),
                status="answered",
                assignee=ALICE,
            )
            session.commit()
            soon = repo.case_by_ref(session, self.soon)
            assert soon is not None and soon.id is not None
            self.draft = repo.add_draft(
                session,
                soon.id,
                template="deletion_done",
                language="ja",
                subject="【削除完了】",
                body="削除しました。",
            )
            session.commit()
        self.client = AsyncWebClient(
            token=slack.bot_token, base_url=slack.base_url, retry_handlers=[]
        )
        asyncio.run(CasePoster(engine, self.client, slack.channel, clock=lambda: NOW).run_once())
        with Session(engine) as session:  # opened after the channel was filled: not posted
            self.paused = add_case(
                session, "paused@example.jp", due=None, status="awaiting_verification"
            )
            session.commit()
        self.app = AsyncApp(signing_secret=SECRET, client=self.client)
        staff = Staff(self.client, channel=slack.channel)
        home.register(self.app, engine, staff=staff, w=w, clock=lambda: NOW, **options)

    async def ask(
        self, text: str, user: str = ALICE, *, secret: str = SECRET, timestamp: int | None = None
    ) -> tuple[int, dict[str, Any]]:
        """Type ``/privacy text``: the HTTP status and the JSON answered in the ack."""
        request = double().slash_command(
            text,
            secret,
            user_id=user,
            trigger_id=self.slack.new_trigger_id(user),
            response_url=self.slack.response_url,
            timestamp=timestamp,
        )
        return await self.send(request)

    async def send(self, request: Any) -> tuple[int, dict[str, Any]]:
        response = await self.app.async_dispatch(
            AsyncBoltRequest(body=request.body, headers=request.multi_headers())
        )
        await settle()
        body = json.loads(response.body) if response.body.startswith("{") else {}
        return int(response.status), body

    async def answer(self, text: str, user: str = ALICE) -> str:
        status, body = await self.ask(text, user)
        assert status == 200 and body["response_type"] == "ephemeral"
        return str(body["text"])


def refs_in(text: str) -> list[str]:
    return re.findall(r"PD-\d{4}-\d{6}", text)


@pytest.fixture
def desk(engine: Engine, slack: Any) -> Desk:
    return Desk(engine, slack)


async def test_open_lists_open_cases_soonest_deadline_first(desk: Desk) -> None:
    text = await desk.answer("open")
    # the paused case (no deadline) last; the answered one not at all
    assert refs_in(text) == [desk.overdue, desk.soon, desk.later, desk.paused]
    assert text.startswith("*Open cases* (4)")
    line = next(x for x in text.splitlines() if desk.later in x)
    assert "disclosure, stop use" in line and "in_progress" in line
    assert "2026-03-20 12:00 JST (10d 0h left)" in line and f"<@{BOB}>" in line
    assert "b***@example.jp" in line and "bob.requester" not in text  # masked
    paused = next(x for x in text.splitlines() if desk.paused in x)
    assert "no deadline (clock paused)" in paused and "awaiting_verification" in paused
    assert "1 draft waiting" in next(x for x in text.splitlines() if desk.soon in x)


async def test_overdue_lists_only_open_cases_past_their_deadline(desk: Desk) -> None:
    text = await desk.answer("overdue")
    assert refs_in(text) == [desk.overdue]  # the answered case was late too, but is done
    assert "OVERDUE by 2d 0h" in text


async def test_mine_lists_the_open_cases_assigned_to_the_caller(desk: Desk) -> None:
    assert refs_in(await desk.answer("mine", ALICE)) == [desk.overdue]
    assert refs_in(await desk.answer("MINE", BOB)) == [desk.later]
    nothing = await desk.answer("mine", CAROL)
    assert refs_in(nothing) == [] and "No open cases are assigned to you." in nothing


async def test_case_shows_one_case_with_its_thread(desk: Desk) -> None:
    text = await desk.answer(f"case {desk.soon.lower()}")  # references are read in any case
    assert text.startswith(f"*{desk.soon}* · in_progress")
    assert "*Intents:* deletion" in text
    assert "*Due:* 2026-03-11 12:00 JST (1d 0h left)" in text
    assert "*Assignee:* nobody" in text and "*Requester:* H***@Evil.example" in text
    assert f"draft {desk.draft} (deletion_done, revision 1)" in text
    assert "intake · case opened" in text
    [parent] = [m for m in desk.slack.messages() if desk.soon in m["text"]]
    link = f"https://privacy-desk-double.slack.com/archives/{desk.slack.channel}/p"
    link += parent["ts"].replace(".", "")
    assert f"*Thread:* <{link}|open the thread> in <#{desk.slack.channel}>" in text
    # the subject is mail text: escaped, so nobody is pinged and no link is hidden
    assert "&lt;!channel&gt;" in text and "<!channel>" not in text and "evil.example/login|" in text
    assert "<https://evil" not in text


async def test_case_says_where_the_thread_is_when_slack_has_no_link(desk: Desk) -> None:
    desk.slack.fail("chat.getPermalink", error="message_not_found")
    text = await desk.answer(f"case {desk.overdue}")
    assert f"*Thread:* in <#{desk.slack.channel}>" in text
    assert "*Thread:* not posted in Slack yet" in await desk.answer(f"case {desk.paused}")
    paused = await desk.answer(f"case {desk.paused}")
    assert "*Due:* no deadline (clock paused)" in paused and "*Waiting for approval:* no draft" in (
        paused
    )


async def test_a_malformed_or_unknown_reference_is_said_plainly(desk: Desk) -> None:
    assert await desk.answer("case") == CASE_USAGE
    bad = await desk.answer("case PD-26-1 <!here>")
    assert bad == f"`PD-26-1 &lt;!here&gt;` is not a case reference. {CASE_USAGE}"
    assert await desk.answer("case PD-2026-999999") == "No case PD-2026-999999."


async def test_search_finds_by_reference_address_or_subject_ignoring_case(desk: Desk) -> None:
    assert refs_in(await desk.answer(f"search {desk.later[-4:]}")) == [desk.later]
    assert refs_in(await desk.answer("search HOSTILE.sender@evil.EXAMPLE")) == [desk.soon]
    # an address matches only as a whole: a masked one cannot be guessed a character at a time
    assert "No case matches." in await desk.answer("search HOSTILE.sender@evil")
    assert "No case matches." in await desk.answer("search alice.requester@example.j")
    assert "No case matches." in await desk.answer("search bob.requester")
    # Slack may send an address as a mailto link
    linked = "search <mailto:bob.requester@example.jp|bob.requester@example.jp>"
    assert refs_in(await desk.answer(linked)) == [desk.later]
    found = await desk.answer("search 至急")  # in the subject only
    assert refs_in(found) == [desk.soon]
    assert "“&lt;!channel&gt; 至急 &lt;https://evil.example/login|" in found
    assert "<!channel>" not in found
    assert set(refs_in(await desk.answer("search 削除のお願い"))) == {
        desk.overdue,
        desk.later,
        desk.answered,  # search covers closed cases too
        desk.paused,
    }
    assert "No case matches." in await desk.answer("search 50%")  # a wildcard is a character
    assert await desk.answer("search %") == (
        f"search for at least two characters (one only for a CJK character). {SEARCH_USAGE}"
    )
    assert await desk.answer("search   ") == SEARCH_USAGE


async def test_search_finds_words_of_the_mail_text_and_the_requester_name(desk: Desk) -> None:
    with Session(desk.engine) as session:
        tanaka = add_case(
            session,
            "t.yamada@example.jp",
            due=None,
            subject="お問い合わせ",
            body="田中と申します。会員情報の削除を希望します。",
            name="山田 花子",
        )
        english = add_case(
            session,
            "someone@example.com",
            due=None,
            subject="Question",
            body="Please erase my loyalty account.",
        )
        session.commit()
    found = await desk.answer("search 田中")  # a surname of two characters, in the body
    assert refs_in(found) == [tanaka] and "t***@example.jp" in found and "yamada@" not in found
    assert refs_in(await desk.answer("search 会員情報の削除")) == [tanaka]
    assert refs_in(await desk.answer("search LOYALTY account")) == [english]
    assert refs_in(await desk.answer("search 山田")) == [tanaka]  # the requester's name
    assert "No case matches." in await desk.answer("search t.yamada")  # an address only whole
    assert refs_in(await desk.answer("search t.yamada@example.jp")) == [tanaka]


async def test_a_search_matching_more_than_it_ranks_says_at_least(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search, "CANDIDATES", 2)  # four cases have this subject
    found = await desk.answer("search 削除のお願い")
    assert "(at least 2)" in found and len(refs_in(found)) == 2


async def test_help_empty_and_unknown_subcommands_show_the_usage(desk: Desk) -> None:
    assert await desk.answer("") == USAGE
    assert await desk.answer("help") == USAGE
    unknown = await desk.answer("<!channel> please")
    assert unknown == f"Unknown subcommand `&lt;!channel&gt;`.\n{USAGE}"


@pytest.fixture
def japanese_desk(engine: Engine, slack: Any) -> Desk:
    return Desk(engine, slack, w=words("ja"))


async def test_the_command_answers_in_japanese_by_default(japanese_desk: Desk) -> None:
    """Under the default staff language (ja) /privacy speaks Japanese; English with ``en``."""
    desk = japanese_desk
    usage = await desk.answer("help")
    assert usage.startswith("*/privacy* — 案件を表示します（あなたにだけ表示されます）:")
    assert "• `/privacy overdue` — 回答期限を過ぎた対応中の案件" in usage
    assert "the desk's cases" not in usage and usage != USAGE
    unknown = await desk.answer("what")
    assert unknown.startswith("`what` というサブコマンドはありません。\n")
    text = await desk.answer("open")
    assert text.startswith("*対応中の案件*（4 件）")
    paused = next(x for x in text.splitlines() if desk.paused in x)
    assert "回答期限なし（一時停止中）" in paused and "本人確認待ち" in paused
    line = next(x for x in text.splitlines() if desk.later in x)
    assert "開示, 利用停止等" in line and "回答期限 2026-03-20 12:00 JST" in line
    assert "下書き 1 件が承認待ち" in next(x for x in text.splitlines() if desk.soon in x)
    case = await desk.answer(f"case {desk.soon}")
    assert case.startswith(f"*{desk.soon}* · 対応中")
    assert "*請求の種類:* 削除" in case and "*担当者:* 未設定" in case
    assert f"下書き {desk.draft}（deletion_done、第 1 版）" in case
    assert "スレッドを開く>" in case
    assert "*最近の履歴:*" in case and "intake · 案件の受付" in case  # the trail's actions named
    assert await desk.answer("case PD-2026-999999") == "案件 PD-2026-999999 はありません。"
    assert await desk.answer("mine", CAROL) == (
        "*あなたが担当者の対応中の案件*（0 件）\n_あなたが担当者の対応中の案件はありません。_"
    )


@pytest.mark.parametrize("forgery", ["wrong secret", "stale", "unsigned"])
async def test_a_command_slack_did_not_sign_gets_401(desk: Desk, forgery: str) -> None:
    if forgery == "wrong secret":
        status, body = await desk.ask("open", secret="not-the-secret")
    elif forgery == "stale":
        status, body = await desk.ask("open", timestamp=int(time.time()) - 600)
    else:
        request = double().slash_command("open", SECRET, user_id=ALICE, trigger_id="1.2.3")
        headers = {"Content-Type": request.headers["Content-Type"]}
        status, body = await desk.send(type(request)(request.body, headers))
    assert status == 401 and desk.overdue not in json.dumps(body)
    assert desk.slack.responses() == []


@pytest.fixture
def slow_desk(engine: Engine, slack: Any) -> Desk:
    """A desk that never has its answer ready within the ack."""
    return Desk(engine, slack, ack_budget=0.0)


async def test_an_answer_not_ready_in_time_follows_the_ack(slow_desk: Desk) -> None:
    desk, slack = slow_desk, slow_desk.slack
    status, body = await desk.ask("mine")
    assert status == 200 and body == {"text": "Looking that up…", "response_type": "ephemeral"}
    [later] = slack.responses()
    assert later["response_type"] == "ephemeral" and refs_in(later["text"]) == [desk.overdue]


async def test_three_hundred_cases_are_answered_in_time_and_bounded(desk: Desk) -> None:
    with Session(desk.engine) as session:
        for n in range(300):
            add_case(
                session,
                f"requester{n:03d}@example.jp",
                due=NOW + timedelta(hours=n + 1),
                assignee=ALICE,
                subject=f"{HOSTILE} {'長い件名' * 200}",
            )
        session.commit()
    # "example" is in every hostile subject (evil.example) and no longer in any address
    for text, total in (("open", 304), ("mine", 301), ("search example", 301)):
        # In time for Slack (3 s) by the desk's own ack budget: the answer is the ack, or the ack
        # says it is being looked up and the answer follows (how fast it is ready is a speed
        # target: bench/slash_command.py)
        answered = len(desk.slack.responses())
        status, body = await desk.ask(text)
        assert status == 200 and body["response_type"] == "ephemeral", (text, body)
        if body["text"] == "Looking that up…":
            [body] = desk.slack.responses()[answered:]
        answer = body["text"]
        shown = len(refs_in(answer))
        assert 0 < shown <= home.LINES
        assert answer.rstrip().endswith(f"…and {total - shown} more_")
        assert len(answer) <= 3000 and "<!channel>" not in answer


async def test_a_database_failure_is_an_answer_and_logs_no_personal_data(
    slack: Any, tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    broken = create_engine(f"sqlite:///{tmp_path / 'no-schema.db'}")
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.base_url)
    app = AsyncApp(signing_secret=SECRET, client=client)
    home.register(app, broken, staff=Staff(client, channel=slack.channel), w=EN)
    slack.add_user(ALICE, name="alice")
    request = double().slash_command(
        "search hanako@example.jp", SECRET, user_id=ALICE, trigger_id="1.2.3"
    )
    with caplog.at_level(logging.INFO):
        response = await app.async_dispatch(
            AsyncBoltRequest(body=request.body, headers=request.multi_headers())
        )
    broken.dispose()
    assert response.status == 200
    assert "could not answer just now" in json.loads(response.body)["text"]
    assert "OperationalError" in caplog.text and "hanako" not in caplog.text
