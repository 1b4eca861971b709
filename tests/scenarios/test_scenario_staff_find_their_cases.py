"""Staff find their cases in Slack: requests arrive by mail and are posted to the channel; Alice
takes one with "Assign to me"; `/privacy` then answers her alone — her cases, what is overdue,
one case with its latest events and a link to its thread, a search by address — and her App
Home lists her case, the overdue one, the one due within three days and the drafts waiting for
approval, while a colleague's Home has nothing under "My cases". All of it is in the staff
language: Japanese by default, English with `en`. Slack is the Web API double; what Slack sends
is signed and dispatched to the desk's app as built for `serve`."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine
from sqlmodel import Session, select
from support import settle

from bot.intake import Intake
from bot.replies import Replies, ReplySettings
from bot.slack.app import build_app
from bot.slack.blocks import ACTIONS
from bot.slack.poster import CasePoster
from bot.words import words
from storage import repo
from storage.models import Draft

EN = words("en")  # the staff texts these assertions read

SECRET = "signing-secret-of-the-test"
ALICE, BOB = "U0ALICE001", "U0BOB00001"
SETTINGS = {"PD_FROM_ADDRESS": "privacy@example-hikaku.co.jp", "PD_APPROVERS": ALICE}


def double() -> Any:
    return sys.modules["slack_double"]


def refs_in(text: str) -> list[str]:
    return re.findall(r"PD-\d{4}-\d{6}", text)


class Desk:
    """Three requests taken in from mail and posted to the channel; the app `serve` runs (with
    the staff texts of ``options``, English unless told otherwise)."""

    def __init__(
        self, engine: Engine, slack: Any, make_mail: Callable[..., bytes], **options: Any
    ) -> None:
        self.slack = slack
        for user in (ALICE, BOB):
            slack.add_user(user, name=user.lower())
        settings = ReplySettings.from_env(SETTINGS)
        intake = Intake(engine, replies=settings)
        now = datetime.now(UTC)

        def arrive(body: str, sender: str, subject: str, days_ago: int) -> str:
            mail = make_mail(body, sender=sender, subject=subject, date=now - timedelta(days_ago))
            result = intake.process(mail)
            assert result.action == "opened" and result.ref
            return result.ref

        # APPI: answer within 14 days of receipt
        self.hanako = arrive("私の個人情報を削除してください。", "hanako@example.jp", "削除", 20)
        self.taro = arrive("保有個人データの開示を請求します。", "taro@example.jp", "開示請求", 12)
        self.jiro = arrive("個人情報の利用目的を教えてください。", "jiro@example.jp", "質問", 0)
        # Hanako's deadline has passed already: intake drafts her the late acknowledgement,
        # which apologises and promises no date already past.
        with Session(engine) as session:
            hanako = repo.case_by_ref(session, self.hanako)
            assert hanako is not None
            [late] = session.exec(select(Draft).where(Draft.case_id == hanako.id)).all()
            assert (late.template, late.values["late"]) == ("ack", True)
        client = AsyncWebClient(token=slack.bot_token, base_url=slack.base_url, retry_handlers=[])
        asyncio.run(CasePoster(engine, client, slack.channel, words=EN).run_once())
        self.app = build_app(
            engine,
            Replies(engine, settings),
            signing_secret=SECRET,
            client=client,
            channel=slack.channel,
            mask_mode="partial",
            **{"words": words("en"), **options},
        )

    async def send(self, request: Any) -> Any:
        response = await self.app.async_dispatch(
            AsyncBoltRequest(body=request.body, headers=request.multi_headers())
        )
        await settle()  # the work handlers do after their ack
        assert response.status == 200
        return response

    async def take(self, user: str, ref: str) -> None:
        """``user`` presses "Assign to me" on the case's message in the channel."""
        [parent] = [m for m in self.slack.messages() if m["text"].startswith(ref)]
        payload = double().block_actions(
            user_id=user,
            action_id=ACTIONS["assign_me"],
            value=ref,
            trigger_id=self.slack.new_trigger_id(user),
            message_ts=parent["ts"],
        )
        await self.send(double().interaction(payload, SECRET))

    async def privacy(self, user: str, text: str) -> str:
        request = double().slash_command(
            text,
            SECRET,
            user_id=user,
            trigger_id=self.slack.new_trigger_id(user),
            response_url=self.slack.response_url,  # never hooks.slack.com, even if slow
        )
        answer = json.loads((await self.send(request)).body)
        assert answer["response_type"] == "ephemeral"  # only the caller sees it
        return str(answer["text"])

    async def open_home(self, user: str) -> dict[str, str]:
        envelope = double().event_callback(double().app_home_opened(user))
        await self.send(double().event(envelope, SECRET))
        view = self.slack.published_home(user)
        assert view is not None
        blocks = view["blocks"]
        return {
            b["text"]["text"]: blocks[i + 1]["text"]["text"]
            for i, b in enumerate(blocks)
            if b["type"] == "header" and i + 1 < len(blocks) and blocks[i + 1]["type"] == "section"
        }


@pytest.fixture
def desk(engine: Engine, slack: Any, make_mail: Callable[..., bytes]) -> Desk:
    return Desk(engine, slack, make_mail)


async def test_alice_takes_a_case_and_finds_it_with_privacy_and_on_her_home(desk: Desk) -> None:
    await desk.take(ALICE, desk.hanako)

    assert refs_in(await desk.privacy(ALICE, "mine")) == [desk.hanako]
    assert "No open cases are assigned to you." in await desk.privacy(BOB, "mine")
    overdue = await desk.privacy(ALICE, "overdue")
    late = re.compile(r"OVERDUE by [56]d")  # due at the end of the 14th day after receipt
    assert refs_in(overdue) == [desk.hanako] and late.search(overdue)
    opened = await desk.privacy(ALICE, "open")
    assert refs_in(opened) == [desk.hanako, desk.taro, desk.jiro]  # soonest deadline first
    assert "hanako@" not in opened and "h***@example.jp" in opened

    one = await desk.privacy(ALICE, f"case {desk.hanako}")
    assert f"*Assignee:* <@{ALICE}>" in one and f"<@{ALICE}> · assigned" in one
    assert "*Subject:* 削除" in one and late.search(one)
    assert f"|open the thread> in <#{desk.slack.channel}>" in one
    assert refs_in(await desk.privacy(ALICE, "search TARO@example.jp")) == [desk.taro]
    assert refs_in(await desk.privacy(ALICE, "search TARO@example")) == []  # whole addresses
    assert await desk.privacy(ALICE, "case PD-2026-99") == (
        "`PD-2026-99` is not a case reference. "
        "Usage: `/privacy case PD-2026-000123` (a case reference)."
    )

    home = await desk.open_home(ALICE)
    assert refs_in(home["My cases (1)"]) == [desk.hanako]
    assert refs_in(home["Overdue (1)"]) == [desk.hanako]
    [soon] = [k for k in home if k.startswith("Due in the next 3 days")]
    assert desk.taro in refs_in(home[soon]) and desk.hanako not in refs_in(home[soon])
    # a draft waits for each request (intake's acknowledgements, Hanako's the late one); none
    # is approved yet
    assert set(refs_in(home["Waiting for approval (3)"])) == {desk.hanako, desk.taro, desk.jiro}

    colleague = await desk.open_home(BOB)
    assert colleague["My cases (0)"] == "_No open cases are assigned to you._"
    assert refs_in(colleague["Overdue (1)"]) == [desk.hanako]
    assert "hanako@" not in json.dumps(desk.slack.published_home(BOB), ensure_ascii=False)


@pytest.fixture(params=[None, "en"])
def desk_in(
    request: Any, engine: Engine, slack: Any, make_mail: Callable[..., bytes]
) -> tuple[Desk, str | None]:
    """The desk as `serve` builds it without a language (PD_STAFF_LANGUAGE unset), or in `en`."""
    language = request.param
    chosen = words(language) if language else None
    return Desk(engine, slack, make_mail, words=chosen), language


async def test_privacy_and_the_home_speak_the_staff_language(
    desk_in: tuple[Desk, str | None],
) -> None:
    """/privacy help and the App Home: Japanese by default, English with `en`."""
    desk, language = desk_in
    usage = await desk.privacy(ALICE, "help")
    home = await desk.open_home(BOB)
    if language is None:
        assert usage.startswith("*/privacy* — 案件を表示します（あなたにだけ表示されます）:")
        assert "• `/privacy mine` — あなたが担当者の対応中の案件" in usage
        assert home["担当の案件（0 件）"] == "_あなたが担当者の対応中の案件はありません。_"
        assert refs_in(home["期限超過（1 件）"]) == [desk.hanako]
        assert "Overdue (1)" not in home
    else:
        assert usage.startswith("*/privacy* — the desk's cases, shown only to you:")
        assert "• `/privacy mine` — open cases assigned to you" in usage
        assert home["My cases (0)"] == "_No open cases are assigned to you._"
        assert refs_in(home["Overdue (1)"]) == [desk.hanako]
