"""What the approver sees is what is sent: a 12,000-character Japanese answer is edited in Slack
over several inputs without losing a character, reviewed whole by the approver alone, approved in
the revision they read, and arrives whole at the requester's SMTP server. A review made stale by
an edit approves nothing; a draft too long for Slack is approved only once read on the case-file
page; the buttons that mail, drop, refuse or close ask first. Slack is the Web API double and the
clicks are signed as Slack signs them; mail goes through aiosmtpd; SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import sys
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine
from sqlmodel import Session, select
from support import settle

from bot.intake import Intake
from bot.replies import Replies, ReplyError, ReplySettings, Sender
from bot.slack.app import EDIT_CALLBACK, build_app
from bot.slack.blocks import ACTIONS, DRAFT_READ, REVIEW_CALLBACK
from bot.slack.poster import CasePoster
from bot.words import words
from mail.smtp import parse_smtp_url
from storage import repo
from storage.models import AuditEvent, Draft, OutboxItem

EN = words("en")  # the staff texts these assertions read

SECRET = "signing-secret-of-the-test"
APPROVER, EDITOR = "U0APPROVE1", "U0EDITOR02"
SETTINGS = {"PD_FROM_ADDRESS": "privacy@example-hikaku.co.jp", "PD_APPROVERS": APPROVER}
ITEM = "第三者提供記録：提供先 株式会社サンプル物流 <配送業務> & 保管期間 3年。"
WITH_NEWLINES = "\n".join(f"{n:03d}. {ITEM}" for n in range(400))[:12_000].rstrip() + "\n"
WITHOUT_NEWLINES = ("開示請求へのご回答<&>" * 1_300)[:12_000] + "\n"


def double() -> Any:
    return sys.modules["slack_double"]


class Desk:
    """A verified deletion request with a long answer drafted, shown in the case thread; the
    app's texts in English unless ``options`` say otherwise."""

    def __init__(
        self, engine: Engine, slack: Any, make_mail: Callable[..., bytes], **options: Any
    ) -> None:
        self.engine, self.slack = engine, slack
        for user in (APPROVER, EDITOR, "U0EDITOR01"):
            slack.add_user(user, name=user.lower())
        settings = ReplySettings.from_env(SETTINGS)
        result = Intake(engine, replies=settings).process(
            make_mail("私の個人情報を削除してください。", sender="hanako@example.jp")
        )
        assert result.ref
        self.ref = result.ref
        self.replies = Replies(engine, settings)
        self.replies.mark_verified(self.ref, actor=APPROVER, how="電話で確認")
        values = {"deleted": ["会員登録情報"], "done_on": date(2026, 11, 25)}
        self.draft_id = self.replies.draft(
            self.ref, "deletion_done", values, editor="U0EDITOR01"
        ).id
        self.client = AsyncWebClient(
            token=slack.bot_token, base_url=slack.base_url, retry_handlers=[]
        )
        self.app: AsyncApp = build_app(
            engine,
            self.replies,
            signing_secret=SECRET,
            client=self.client,
            channel=slack.channel,
            **{"words": words("en"), **options},
        )

    def write(self, body: str) -> None:
        """The answer is written long (as from the command line), then posted in the thread."""
        self.replies.edit(
            self.draft_id, subject="【削除完了】ご依頼の件", body=body, editor="U0EDITOR01"
        )
        asyncio.run(CasePoster(self.engine, self.client, self.slack.channel, words=EN).run_once())

    def stored(self) -> Draft:
        with Session(self.engine) as session:
            draft = session.get(Draft, self.draft_id)
        assert draft is not None
        return draft

    def message(self) -> dict[str, Any]:
        [parent] = self.slack.messages()
        draft = self.stored()
        [found] = [
            m
            for m in self.slack.thread(self.slack.channel, parent["ts"])
            if m["ts"] == draft.slack_ts
        ]
        return dict(found)

    def buttons(self, message: dict[str, Any]) -> dict[str, dict[str, Any]]:
        return {
            e["action_id"]: e
            for b in message["blocks"]
            if b["type"] == "actions"
            for e in b["elements"]
        }

    async def send(self, payload: dict[str, Any]) -> str:
        """Dispatch a signed interaction; what the app answered Slack (a modal's new state)."""
        signed = double().interaction(payload, SECRET)
        response = await self.app.async_dispatch(
            AsyncBoltRequest(body=signed.body, headers=signed.multi_headers())
        )
        await settle()
        assert response.status == 200
        return str(response.body or "")

    async def click(self, user: str, action: str) -> dict[str, Any]:
        """Press ``action`` on the draft's message; the modal it opened (or {})."""
        message = self.message()
        before = len(self.slack.open_views())
        await self.send(
            double().block_actions(
                user_id=user,
                action_id=ACTIONS[action],
                value=self.buttons(message)[ACTIONS[action]]["value"],
                trigger_id=self.slack.new_trigger_id(user),
                message_ts=message["ts"],
                message={"type": "message", "ts": message["ts"], "thread_ts": message["thread_ts"]},
            )
        )
        views = self.slack.open_views()
        return dict(views[-1]) if len(views) > before else {}

    async def submit(self, user: str, view: dict[str, Any], values: dict[str, Any]) -> str:
        return await self.send(
            double().view_submission(
                user_id=user,
                callback_id=view["callback_id"],
                private_metadata=view["private_metadata"],
                values=values,
            )
        )

    def outbox(self) -> list[OutboxItem]:
        with Session(self.engine) as session:
            return list(
                session.exec(select(OutboxItem).where(OutboxItem.draft_id == self.draft_id))
            )

    def told(self, user: str) -> list[str]:
        return [m["text"] for m in self.slack.ephemeral() if m["user"] == user]


def refusals(desk: Desk) -> list[AuditEvent]:
    with Session(desk.engine) as session:
        return [e for e in session.exec(select(AuditEvent)) if e.action == "approval refused"]


def as_sent(view: dict[str, Any]) -> dict[str, Any]:
    """The state Slack sends back for a form whose inputs were left as shown."""
    return {
        b["block_id"]: {
            "value": {"type": "plain_text_input", "value": b["element"].get("initial_value")}
        }
        for b in view["blocks"]
        if b["type"] == "input"
    }


@pytest.fixture
def desk(engine: Engine, slack: Any, make_mail: Callable[..., bytes]) -> Desk:
    return Desk(engine, slack, make_mail)


@pytest.mark.parametrize("body", [WITH_NEWLINES, WITHOUT_NEWLINES], ids=["lines", "one-line"])
def test_a_long_answer_edited_and_approved_in_slack_arrives_whole(
    desk: Desk, smtp_server: Any, body: str
) -> None:
    desk.write(body)
    message = desk.message()
    # the thread shows the beginning and no "Approve": only a review shows it whole
    assert ACTIONS["approve"] not in desk.buttons(message) and ACTIONS["review"] in desk.buttons(
        message
    )

    async def scenario() -> None:
        # Edit: several inputs, none over Slack's 3,000; saved unchanged, nothing changes
        form = await desk.click(EDITOR, "edit")
        assert form["callback_id"] == EDIT_CALLBACK
        parts = [
            b
            for b in form["blocks"]
            if b["block_id"].startswith("body_") and b["block_id"] != "body_more"
        ]
        assert len(parts) >= 4
        assert all(len(p["element"]["initial_value"]) <= 3000 for p in parts)
        await desk.submit(EDITOR, form, as_sent(form))
        assert desk.stored().body.encode() == body.encode() and desk.stored().revision == 2
        # the approver opens a review, and an edit after it makes it stale
        stale = await desk.click(APPROVER, "review")
        form = await desk.click(EDITOR, "edit")
        values = as_sent(form)
        values["body_2"]["value"]["value"] = "【追記】" + values["body_2"]["value"]["value"]
        await desk.submit(EDITOR, form, values)
        edited = desk.stored()
        assert edited.revision == 3 and edited.edited_by == EDITOR
        assert edited.body.replace("【追記】", "", 1) == body  # one change, nothing else
        answer = json.loads(await desk.submit(APPROVER, stale, {}))
        assert desk.outbox() == []
        assert answer["response_action"] == "update"  # told in the modal itself
        assert "read it again" in json.dumps(answer["view"]["blocks"], ensure_ascii=False)
        # the fresh review shows all of it, to the approver alone, and approves what it showed
        review = await desk.click(APPROVER, "review")
        assert review["user"] == APPROVER and review["callback_id"] == REVIEW_CALLBACK
        assert review["private_metadata"] == f"{desk.draft_id}:3"
        sections = [b["text"]["text"] for b in review["blocks"] if b["type"] == "section"][2:]
        assert len(review["blocks"]) <= 45 and all(len(t) <= 3000 for t in sections)
        shown = "".join(t.strip("`") for t in sections)
        shown = shown.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
        assert shown == edited.body
        await desk.submit(APPROVER, review, {})
        assert len(desk.outbox()) == 1
        with Session(desk.engine) as session:
            [approved] = [
                e for e in session.exec(select(AuditEvent)) if e.action == "draft approved"
            ]
        assert approved.actor == APPROVER and approved.detail["revision"] == 3
        assert [e for e in refusals(desk) if "read it again" in e.detail["reason"]]
        # sent through a real SMTP server: the requester gets every character
        sender = Sender(desk.engine, parse_smtp_url(smtp_server.url()))
        assert (await sender.run_once()).sent == 1

    asyncio.run(scenario())
    [got] = smtp_server.received
    mail = email.message_from_bytes(got.data, policy=email.policy.default)
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert text.replace("\r\n", "\n") == desk.stored().body
    assert "【追記】" in text and text.count("\n") == desk.stored().body.count("\n")
    # the thread names who did it
    assert f"approved by <@{APPROVER}>" in json.dumps(desk.message()["blocks"])


def test_a_draft_too_long_for_slack_is_approved_once_read_on_the_case_file_page(
    desk: Desk,
) -> None:
    desk.write(WITH_NEWLINES * 12)  # ~144,000 characters: more than 45 blocks can hold

    async def scenario() -> None:
        review = await desk.click(APPROVER, "review")
        assert "submit" not in review
        assert "case-file page" in json.dumps(review["blocks"], ensure_ascii=False)
        answer = await desk.submit(APPROVER, review, {})  # a forged submission approves nothing
        assert desk.outbox() == [] and "case-file page first" in answer
        with Session(desk.engine) as session:  # what the case-file page records on opening it
            case = repo.case_by_ref(session, desk.ref)
            assert case is not None
            draft = desk.stored()
            repo.audit(
                session, case.id, APPROVER, DRAFT_READ, draft=draft.id, revision=draft.revision
            )
            session.commit()
        review = await desk.click(APPROVER, "review")
        assert review["submit"]["text"] == "Approve and send"
        await desk.submit(APPROVER, review, {})
        assert len(desk.outbox()) == 1

    asyncio.run(scenario())


def test_the_buttons_that_mail_drop_refuse_or_close_ask_first(desk: Desk) -> None:
    asyncio.run(CasePoster(desk.engine, desk.client, desk.slack.channel, words=EN).run_once())
    [parent] = desk.slack.messages()
    on_parent = desk.buttons(parent)
    on_draft = desk.buttons(desk.message())  # the short answer, shown whole
    asks = {
        "approve": on_draft[ACTIONS["approve"]]["confirm"],
        "discard": on_draft[ACTIONS["discard"]]["confirm"],
        "reject": on_parent[ACTIONS["reject"]]["confirm"],
        "close": on_parent[ACTIONS["close"]]["confirm"],
    }
    for confirm in asks.values():
        assert confirm["title"]["text"] and confirm["confirm"]["text"] and confirm["deny"]["text"]
    assert "requester by email" in asks["approve"]["text"]["text"]
    assert "edited by <@U0EDITOR01>" in json.dumps(desk.message()["blocks"])
    # a refusal names the person as a mention, not a raw ID
    stranger = "U0STRANGE1"
    desk.slack.add_user(stranger, name="stranger")

    async def scenario() -> None:
        await desk.click(stranger, "approve")

    asyncio.run(scenario())
    assert f"<@{stranger}> is not an approver" in desk.told(stranger)[-1]


@pytest.fixture
def japanese_desk(engine: Engine, slack: Any, make_mail: Callable[..., bytes]) -> Desk:
    return Desk(engine, slack, make_mail, words=None)  # PD_STAFF_LANGUAGE unset: Japanese


def test_refusals_are_said_in_the_staff_language(japanese_desk: Desk) -> None:
    """Under the default staff language a refusal in Slack is Japanese, the person a mention;
    the command line and the audit trail keep the English reason."""
    desk = japanese_desk
    asyncio.run(CasePoster(desk.engine, desk.client, desk.slack.channel).run_once())
    stranger = "U0STRANGE1"
    desk.slack.add_user(stranger, name="stranger")

    async def approve_then_discard_twice() -> None:
        await desk.click(stranger, "approve")
        await desk.click(APPROVER, "discard")
        await desk.send(
            double().block_actions(
                user_id=APPROVER,
                action_id=ACTIONS["discard"],
                value=f"{desk.draft_id}:{desk.stored().revision}",
                trigger_id=desk.slack.new_trigger_id(APPROVER),
                message_ts=desk.stored().slack_ts,
            )
        )

    asyncio.run(approve_then_discard_twice())
    assert desk.told(stranger)[-1] == f"承認できませんでした: <@{stranger}> は承認者ではありません"
    assert desk.told(APPROVER)[-1] == (
        f"破棄できませんでした: 下書き {desk.draft_id} は破棄済みのため、破棄できません"
    )
    [refused] = refusals(desk)
    assert refused.detail["reason"] == f"{stranger} is not an approver"
    with pytest.raises(ReplyError) as raised:
        desk.replies.discard(desk.draft_id, actor=APPROVER)
    assert str(raised.value) == f"draft {desk.draft_id} is discarded; it cannot be discarded"
