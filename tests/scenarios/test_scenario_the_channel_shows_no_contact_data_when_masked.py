"""The channel shows what masking allows (``PD_SLACK_MASK``): a request whose text gives the
requester's name, mail address, phones (Japanese, full-width, international), postal code and
member number is taken in, posted, answered with a draft and followed by a reply whose subject
repeats the member number. Under ``partial``, ``domain`` and ``none`` the excerpt and the
follow-up's subject carry no address, phone or member number; under ``strict`` nothing personal
reaches the channel at all — no name, address, excerpt or subject — and an approver reads the
draft in a review of their own before approving it; ``full`` shows everything, as before. Slack
is the Web API double; intake, the poster and the app are the desk's own."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from datetime import date
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
from bot.slack.blocks import ACTIONS, REVIEW_CALLBACK
from bot.slack.poster import CasePoster
from bot.words import words
from storage.models import Draft, OutboxItem

SECRET = "signing-secret-of-the-test"
APPROVER = "U0APPROVE1"
SETTINGS = {"PD_FROM_ADDRESS": "privacy@example-hikaku.co.jp", "PD_APPROVERS": APPROVER}
ADDRESS = "hanako.sato@example.jp"
BODY = (
    "佐藤花子です。会員登録の個人情報を削除してください。\n"
    "会員番号：12345678\n"
    "お客様番号は９８７６５４です。\n"
    "連絡先: 090-1234-5678（携帯）、自宅 ０３－１２３４－５６７８、"
    "海外から +81 90 8765 4321\n"
    "〒150-0001 東京都渋谷区神宮前1-2-3\n"
    f"返信は {ADDRESS} または hanako.private@example.com へ。\n"
)
# What must never be in the channel under a mask: every form of the contact data above.
CONTACT = [
    ADDRESS,
    "hanako.private@example.com",
    "12345678",
    "９８７６５４",
    "090-1234-5678",
    "０３－１２３４－５６７８",
    "8765 4321",
    "150-0001",
]
PERSONAL = [*CONTACT, "佐藤", "花子", "Hanako", "hanako", "渋谷", "example.jp", "会員登録の"]


def double() -> Any:
    return sys.modules["slack_double"]


def in_channel(slack: Any, *, drafts: bool = True) -> str:
    """Everything posted in the case channel: parents and threads, text and blocks (without
    the drafts' posts when told: under ``partial`` an approver approves in the thread exactly
    the text they see there, so a draft is shown whole; it is the desk's text, not the mail)."""
    posted = []
    for parent in slack.messages():
        posted += slack.thread(slack.channel, parent["ts"])
    if not drafts:
        heads = ("Draft ", "下書き ")  # a draft's post, in either staff language
        posted = [m for m in posted if not str(m.get("text", "")).startswith(heads)]
    return json.dumps(posted, ensure_ascii=False)


def take_in_and_post(
    engine: Engine, slack: Any, make_mail: Callable[..., bytes], mask: str, language: str = "en"
) -> tuple[str, AsyncWebClient]:
    slack.add_user(APPROVER, name="approver")
    settings = ReplySettings.from_env(SETTINGS)
    intake = Intake(engine, replies=settings)
    first = intake.process(
        make_mail(
            BODY,
            sender=f"佐藤 花子 <{ADDRESS}>",
            subject="会員番号12345678 の削除依頼",
            message_id="<req-1@mail.example.jp>",
        )
    )
    assert first.action == "opened" and first.ref
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.base_url, retry_handlers=[])
    poster = CasePoster(engine, client, slack.channel, mask_mode=mask, words=words(language))
    asyncio.run(poster.run_once())
    Replies(engine, settings).draft(
        first.ref,
        "deletion_done",
        {"deleted": ["会員登録情報"], "done_on": date(2026, 11, 25)},
        editor=APPROVER,
    )
    follow_up = intake.process(
        make_mail(
            "追加です。電話は 090-1234-5678 です。",
            sender=f"佐藤 花子 <{ADDRESS}>",
            subject="Re: 会員番号12345678 の削除依頼 090-1234-5678",
            message_id="<req-2@mail.example.jp>",
            In_Reply_To="<req-1@mail.example.jp>",
            References="<req-1@mail.example.jp>",
        )
    )
    assert follow_up.action == "linked"
    asyncio.run(poster.run_once())
    asyncio.run(poster.run_once())
    return first.ref, client


@pytest.mark.parametrize("mask", ["partial", "domain", "none"])
def test_masked_excerpts_carry_no_address_phone_or_member_number(
    engine: Engine, slack: Any, make_mail: Callable[..., bytes], mask: str
) -> None:
    ref, _ = take_in_and_post(engine, slack, make_mail, mask)
    shown = in_channel(slack, drafts=False)
    assert ref in shown and "個人情報を削除してください" in shown  # the excerpt is there
    assert "A follow-up mail from the requester joined the case" in shown
    for data in CONTACT:
        at = shown.find(data)
        assert at < 0, shown[max(at - 300, 0) : at + 100]
    assert "[phone]" in shown and "[email]" in shown and "[number]" in shown
    assert "[postal code]" in shown


def test_full_shows_everything_as_before(
    engine: Engine, slack: Any, make_mail: Callable[..., bytes]
) -> None:
    take_in_and_post(engine, slack, make_mail, "full")
    shown = in_channel(slack)
    assert ADDRESS in shown and "090-1234-5678" in shown and "12345678" in shown


def test_strict_puts_nothing_personal_in_the_channel(
    engine: Engine, slack: Any, make_mail: Callable[..., bytes]
) -> None:
    ref, client = take_in_and_post(engine, slack, make_mail, "strict", "ja")
    shown = in_channel(slack)
    assert f"{ref} · 削除" in shown  # what staff need: the case and its clock (default: Japanese)
    for data in PERSONAL:
        assert data not in shown, data
    assert ACTIONS["approve"] not in shown  # nobody approves what they could not see
    # The approver reads the draft in a review of their own, then approves that revision.
    replies = Replies(engine, ReplySettings.from_env(SETTINGS))
    replies.mark_verified(ref, actor=APPROVER, how="電話で確認")
    app = build_app(
        engine,
        replies,
        signing_secret=SECRET,
        client=client,
        channel=slack.channel,
        mask_mode="strict",
    )
    with Session(engine) as session:
        draft = session.exec(select(Draft).where(Draft.template == "deletion_done")).one()
    assert draft.slack_ts and draft.id is not None
    value = f"{draft.id}:{draft.revision}"
    [parent] = slack.messages()

    async def dispatch(signed: Any) -> None:
        response = await app.async_dispatch(
            AsyncBoltRequest(body=signed.body, headers=signed.multi_headers())
        )
        await settle()
        assert response.status == 200

    async def review_and_approve() -> None:
        click = double().block_actions(
            user_id=APPROVER,
            action_id=ACTIONS["review"],
            value=value,
            trigger_id=slack.new_trigger_id(APPROVER),
            message_ts=draft.slack_ts,
            message={"type": "message", "ts": draft.slack_ts, "thread_ts": parent["ts"]},
        )
        await dispatch(double().interaction(click, SECRET))
        [review] = slack.open_views()
        assert review["user"] == APPROVER and "会員登録情報" in json.dumps(
            review, ensure_ascii=False
        )
        submit = double().view_submission(
            user_id=APPROVER,
            callback_id=REVIEW_CALLBACK,
            values={},
            private_metadata=review["private_metadata"],
        )
        await dispatch(double().interaction(submit, SECRET))

    asyncio.run(review_and_approve())
    assert slack.ephemeral() == []  # nothing refused
    with Session(engine) as session:
        [queued] = session.exec(select(OutboxItem)).all()
    assert queued.draft_id == draft.id
    for data in PERSONAL:
        assert data not in in_channel(slack), data
