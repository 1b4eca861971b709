"""The **Case file** button (``pd.case.file``): on the parent message only when PD_PUBLIC_URL is
set; a click by staff answers the clicker alone with a signed link made for them; anyone else
gets the usual refusal and no link. Slack is the Web API double; requests are signed."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from support import settle

from bot.intake import Intake
from bot.replies import Replies, ReplySettings
from bot.slack.app import build_app
from bot.slack.blocks import ACTIONS
from bot.slack.case_link import AUDIT_ACTION
from bot.slack.poster import CasePoster
from bot.slack.staff import AUDIT_ACTION as REFUSED
from bot.web.links import Links
from bot.words import words
from storage.models import AuditEvent

SECRET = "signing-secret-of-the-test"
LINKS = Links(
    "a-link-secret-of-the-test-at-least-32-bytes", "https://desk.example.jp", timedelta(minutes=15)
)
ALICE = "U0ALICE001"  # in the case channel
APPROVER = "U0APPROVE1"  # an approver outside the channel
BYSTANDER = "U0BYSTAND1"
SETTINGS = {"PD_FROM_ADDRESS": "privacy@example-hikaku.co.jp", "PD_APPROVERS": APPROVER}
URL = re.compile(r"<(https://desk\.example\.jp/cases/(PD-\d{4}-\d{6})\?t=([^|>]+))\|")


def double() -> Any:
    return sys.modules["slack_double"]


def buttons(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        e["action_id"]: e
        for block in message.get("blocks") or []
        if block["type"] == "actions"
        for e in block["elements"]
    }


class Desk:
    def __init__(
        self,
        engine: Engine,
        slack: Any,
        make_mail: Callable[..., bytes],
        *,
        case_file: bool,
        language: str | None = "en",  # None: the desk's default language
    ) -> None:
        staff_words = {"words": words(language)} if language else {}
        self.make_mail = make_mail
        self.engine, self.slack = engine, slack
        slack.add_user(ALICE, name="alice")
        slack.add_user(APPROVER, name="approver", channels=())
        slack.add_user(BYSTANDER, name="bystander", channels=())
        settings = ReplySettings.from_env(SETTINGS)
        result = Intake(engine, replies=settings).process(
            make_mail("私の個人情報を削除してください。", message_id="<first@mail.example.jp>")
        )
        assert result.ref
        self.ref = result.ref
        client = AsyncWebClient(token=slack.bot_token, base_url=slack.base_url, retry_handlers=[])
        self.poster = CasePoster(engine, client, slack.channel, case_file=case_file, **staff_words)
        self.intake = Intake(engine, replies=settings)
        asyncio.run(self.poster.run_once())
        self.app = build_app(
            engine,
            Replies(engine, settings),
            signing_secret=SECRET,
            client=client,
            channel=slack.channel,
            links=LINKS if case_file else None,
            **staff_words,
        )

    async def follow_up_line(self) -> dict[str, Any]:
        """The requester writes again; the thread line that tells it."""
        again = self.make_mail(
            "追加です。利用停止もお願いします。",
            subject="Re: 個人情報について",
            In_Reply_To="<first@mail.example.jp>",
        )
        assert self.intake.process(again).action == "linked"
        await self.poster.run_once()
        [parent] = self.slack.messages()
        [line] = [
            m for m in self.slack.thread(self.slack.channel, parent["ts"]) if "joined" in m["text"]
        ]
        return line

    async def click(self, user: str, value: str) -> None:
        [parent] = self.slack.messages()
        payload = double().block_actions(
            user_id=user,
            action_id=ACTIONS["case_file"],
            value=value,
            trigger_id=self.slack.new_trigger_id(user),
            message_ts=parent["ts"],
            response_url=self.slack.response_url,
        )
        signed = double().interaction(payload, SECRET)
        response = await self.app.async_dispatch(
            AsyncBoltRequest(body=signed.body, headers=signed.multi_headers())
        )
        await settle()
        assert response.status == 200

    def told(self, user: str) -> str:
        shown = [e for e in self.slack.ephemeral() if e["user"] == user]
        return json.dumps(shown + self.slack.responses(), ensure_ascii=False)

    def audit(self, action: str) -> list[AuditEvent]:
        with Session(self.engine) as session:
            return list(
                session.exec(
                    select(AuditEvent)
                    .where(AuditEvent.action == action)
                    .order_by(col(AuditEvent.id))
                )
            )


@pytest.fixture
def desk(engine: Engine, slack: Any, make_mail: Callable[..., bytes]) -> Desk:
    return Desk(engine, slack, make_mail, case_file=True)


async def test_the_parent_message_has_the_button_and_staff_get_their_own_link(desk: Desk) -> None:
    [parent] = desk.slack.messages()
    button = buttons(parent)["pd.case.file"]
    assert button["value"] == desk.ref
    assert button["text"]["text"] == "Case file"
    await desk.click(ALICE, desk.ref)
    [told] = [e for e in desk.slack.ephemeral() if e["user"] == ALICE]
    assert told["channel"] == desk.slack.channel
    found = URL.search(told["text"])
    assert found is not None and found[2] == desk.ref
    assert LINKS.user_of_token(found[3], desk.ref) == ALICE  # made for the clicker alone
    assert desk.slack.messages() == [parent]  # nothing in the channel for everyone
    assert [(e.actor, e.case_id is not None) for e in desk.audit(AUDIT_ACTION)] == [(ALICE, True)]


async def test_an_approver_outside_the_channel_gets_the_link_through_the_response_url(
    desk: Desk,
) -> None:
    await desk.click(APPROVER, desk.ref)
    [answer] = desk.slack.responses()
    assert answer["response_type"] == "ephemeral"
    found = URL.search(answer["text"])
    assert found is not None and LINKS.user_of_token(found[3], desk.ref) == APPROVER


async def test_a_bystander_gets_the_refusal_and_no_link(desk: Desk) -> None:
    await desk.click(BYSTANDER, desk.ref)
    told = desk.told(BYSTANDER)
    assert "not on its staff" in told
    assert "desk.example.jp" not in told and desk.ref not in told
    assert [(e.actor, e.case_id) for e in desk.audit(REFUSED)] == [(BYSTANDER, None)]
    assert desk.audit(AUDIT_ACTION) == []


async def test_a_forged_reference_gets_no_link(desk: Desk) -> None:
    for value in ("PD-2026-999999", "../../etc", ""):
        await desk.click(ALICE, value)
    told = desk.told(ALICE)
    assert "does not name a case" in told and "desk.example.jp" not in told
    assert desk.audit(AUDIT_ACTION) == []


def test_without_a_public_url_there_is_no_button(
    engine: Engine, slack: Any, make_mail: Callable[..., bytes]
) -> None:
    desk = Desk(engine, slack, make_mail, case_file=False)
    [parent] = desk.slack.messages()
    assert "pd.case.file" not in buttons(parent)
    assert "pd.case.reasons" in buttons(parent)


async def test_the_follow_up_lines_button_gives_the_same_link(desk: Desk) -> None:
    line = await desk.follow_up_line()
    assert buttons(line)["pd.case.file"]["value"] == desk.ref
    await desk.click(ALICE, buttons(line)["pd.case.file"]["value"])
    found = URL.search(desk.told(ALICE))
    assert found is not None and LINKS.user_of_token(found[3], desk.ref) == ALICE


def test_without_a_public_url_follow_up_lines_have_no_button_either(
    engine: Engine, slack: Any, make_mail: Callable[..., bytes]
) -> None:
    desk = Desk(engine, slack, make_mail, case_file=False)
    line = asyncio.run(desk.follow_up_line())
    assert "joined" in line["text"] and "pd.case.file" not in buttons(line)


def test_the_button_and_the_link_speak_japanese_by_default(
    engine: Engine, slack: Any, make_mail: Callable[..., bytes]
) -> None:
    desk = Desk(engine, slack, make_mail, case_file=True, language=None)
    [parent] = desk.slack.messages()
    assert buttons(parent)["pd.case.file"]["text"]["text"] == "ケースファイル"
    asyncio.run(desk.click(ALICE, desk.ref))
    told = desk.told(ALICE)
    assert f"ケースファイル {desk.ref}: <https://desk.example.jp/cases/{desk.ref}?t=" in told
    assert "|開く>（15 分有効・あなた専用）" in told and "Case file" not in told
    asyncio.run(desk.click(ALICE, "PD-2026-999999"))
    assert "このボタンは案件を示していません。" in desk.told(ALICE)
