"""A bystander learns nothing about any case: a member of the workspace who is not staff (not an
approver, not in ``PD_STAFF``, not in the case channel) asks `/privacy` whether "our CEO" filed a
complaint, opens the App Home and presses a case's buttons — and gets the same short refusal
whether or not a case exists, recorded in the audit trail with no case. A colleague removed from
the case channel is refused at her very next request, and her Home no longer shows the cases.
Slack is the Web API double (it knows who is in the channel); requests are signed and dispatched
to the desk's app as built for `serve`."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
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
from bot.slack.decisions import DECISIONS
from bot.slack.poster import CasePoster
from bot.slack.staff import AUDIT_ACTION
from bot.words import words
from storage import repo
from storage.models import AuditEvent, OutboxItem

SECRET = "signing-secret-of-the-test"
APPROVER = "U0APPROVE1"  # approver by ID, not in the channel
ALICE = "U0ALICE001"  # staff by being in the case channel
GROUPED = "U0GROUPED1"  # staff through a PD_STAFF user group, not in the channel
BYSTANDER = "U0BYSTAND1"  # in the workspace only
CEO = "ceo@example-hikaku.co.jp"
SETTINGS = {"PD_FROM_ADDRESS": "privacy@example-hikaku.co.jp", "PD_APPROVERS": APPROVER}


def double() -> Any:
    return sys.modules["slack_double"]


class Desk:
    """A complaint from the CEO, posted in the case channel; the app `serve` runs."""

    def __init__(self, engine: Engine, slack: Any, make_mail: Callable[..., bytes]) -> None:
        self.engine, self.slack = engine, slack
        slack.add_user(ALICE, name="alice")
        slack.add_user(APPROVER, name="approver", channels=())
        slack.add_user(GROUPED, name="grouped", channels=())
        slack.add_user(BYSTANDER, name="bystander", channels=())
        slack.set_usergroup("S0STAFF001", [GROUPED])
        settings = ReplySettings.from_env(SETTINGS)
        result = Intake(engine, replies=settings).process(
            make_mail("苦情を申し立てます。個人情報の扱いに納得できません。", sender=CEO)
        )
        assert result.ref
        self.ref = result.ref
        self.client = AsyncWebClient(
            token=slack.bot_token, base_url=slack.base_url, retry_handlers=[]
        )
        asyncio.run(CasePoster(engine, self.client, slack.channel).run_once())
        self.app = build_app(
            engine,
            Replies(engine, settings),
            signing_secret=SECRET,
            client=self.client,
            channel=slack.channel,
            staff=("S0STAFF001",),
            words=words("en"),
        )

    async def send(self, signed: Any) -> tuple[int, dict[str, Any]]:
        response = await self.app.async_dispatch(
            AsyncBoltRequest(body=signed.body, headers=signed.multi_headers())
        )
        await settle()
        body = response.body or ""
        return int(response.status), json.loads(body) if body.startswith("{") else {}

    async def ask(self, text: str, user: str) -> str:
        signed = double().slash_command(
            text,
            SECRET,
            user_id=user,
            trigger_id=self.slack.new_trigger_id(user),
            response_url=self.slack.response_url,
        )
        status, body = await self.send(signed)
        assert status == 200
        return str(body.get("text") or "")

    async def open_home(self, user: str) -> str:
        envelope = double().event_callback(double().app_home_opened(user))
        status, _ = await self.send(double().event(envelope, SECRET))
        assert status == 200
        return json.dumps(self.slack.published_home(user), ensure_ascii=False)

    async def click(self, user: str, action: str, value: str) -> int:
        [parent] = self.slack.messages()
        payload = double().block_actions(
            user_id=user,
            action_id=ACTIONS[action],
            value=value,
            trigger_id=self.slack.new_trigger_id(user),
            message_ts=parent["ts"],
            response_url=self.slack.response_url,
        )
        status, _ = await self.send(double().interaction(payload, SECRET))
        return status

    def refusals(self) -> list[AuditEvent]:
        with Session(self.engine) as session:
            return list(session.exec(select(AuditEvent).where(AuditEvent.action == AUDIT_ACTION)))

    def said_to(self, user: str) -> str:
        """Everything Slack carried to ``user`` outside the channel: ephemerals, response URLs,
        modals."""
        shown = [e for e in self.slack.ephemeral() if e["user"] == user]
        shown += self.slack.responses()
        shown += [v for v in self.slack.open_views() if v.get("user") == user]
        return json.dumps(shown, ensure_ascii=False)


@pytest.fixture
def desk(engine: Engine, slack: Any, make_mail: Callable[..., bytes]) -> Desk:
    return Desk(engine, slack, make_mail)


async def test_privacy_tells_a_bystander_nothing_not_even_whether_a_case_exists(
    desk: Desk,
) -> None:
    asked = [
        "open",
        "overdue",
        f"search {CEO}",
        "search ceo",
        f"case {desk.ref}",
        "case PD-2026-999999",
        "help",
    ]
    answers = {await desk.ask(text, BYSTANDER) for text in asked}
    assert len(answers) == 1  # one refusal, whatever was asked and whether a case exists
    [answer] = answers
    assert "not on its staff" in answer
    assert desk.ref not in answer and "ceo" not in answer.lower()
    refusals = desk.refusals()
    assert len(refusals) == len(asked)
    assert {(e.case_id, e.actor) for e in refusals} == {(None, BYSTANDER)}
    assert "ceo" not in json.dumps([e.detail for e in refusals]).lower()  # what was typed: never
    # staff are answered as before
    assert desk.ref in await desk.ask(f"search {CEO}", ALICE)
    assert desk.ref in await desk.ask("open", APPROVER)  # an approver, not in the channel
    assert desk.ref in await desk.ask("open", GROUPED)  # PD_STAFF group, not in the channel


async def test_the_app_home_shows_a_bystander_nothing(desk: Desk) -> None:
    home = await desk.open_home(BYSTANDER)
    assert "not on its staff" in home and desk.ref not in home and "example" not in home
    assert [(e.actor, e.detail["kind"]) for e in desk.refusals()] == [
        (BYSTANDER, "event:app_home_opened")
    ]
    assert desk.ref in await desk.open_home(ALICE)


async def test_a_bystanders_click_and_form_do_nothing_and_say_nothing(desk: Desk) -> None:
    for action in ("reasons", "assign_me", "close", "extend"):
        assert await desk.click(BYSTANDER, action, desk.ref) == 200
    assert await desk.click(BYSTANDER, "approve", "1:1") == 200
    close = DECISIONS["close"]
    submission = double().view_submission(
        user_id=BYSTANDER,
        callback_id=close.callback_id,
        values={"reason": {"value": {"type": "plain_text_input", "value": "spam"}}},
        private_metadata=desk.ref,
    )
    status, answer = await desk.send(double().interaction(submission, SECRET))
    assert status == 200 and answer["response_action"] == "update"
    assert desk.ref not in json.dumps(answer)
    told = desk.said_to(BYSTANDER)
    assert "not on its staff" in told
    assert desk.ref not in told and "ceo" not in told.lower()
    assert desk.slack.open_views() == []  # no modal opened for them
    with Session(desk.engine) as session:
        case = repo.case_by_ref(session, desk.ref)
        assert case is not None and case.assignee is None and case.status != "closed"
        assert session.exec(select(OutboxItem)).all() == []
        theirs = session.exec(select(AuditEvent).where(AuditEvent.actor == BYSTANDER)).all()
    assert {e.action for e in theirs} == {AUDIT_ACTION}
    assert {e.case_id for e in theirs} == {None}
    assert len(theirs) == 6


async def test_someone_removed_from_the_channel_loses_access_at_once(desk: Desk) -> None:
    assert desk.ref in await desk.ask("open", ALICE)
    assert desk.ref in await desk.open_home(ALICE)
    desk.slack.remove_member(desk.slack.channel, ALICE)
    answer = await desk.ask("open", ALICE)  # the very next request
    assert "not on its staff" in answer and desk.ref not in answer
    home = await desk.open_home(ALICE)
    assert "not on its staff" in home and desk.ref not in home  # the old Home is replaced
    assert await desk.click(ALICE, "assign_me", desk.ref) == 200
    with Session(desk.engine) as session:
        case = repo.case_by_ref(session, desk.ref)
        assert case is not None and case.assignee is None
    assert [e.actor for e in desk.refusals()] == [ALICE, ALICE, ALICE]
    desk.slack.join(desk.slack.channel, ALICE)  # back in: answered again at once
    assert desk.ref in await desk.ask("open", ALICE)


async def test_a_masked_address_cannot_be_recovered_one_character_at_a_time(desk: Desk) -> None:
    """Even staff, who see ``c***@example-hikaku.co.jp``, learn an address only by typing it
    whole: no prefix of it answers."""
    shown = await desk.ask("open", ALICE)
    assert "c***@example-hikaku.co.jp" in shown and CEO not in shown
    for n in range(1, len("ceo@")):
        assert desk.ref not in await desk.ask(f"search {CEO[:n]}", ALICE)
    assert desk.ref not in await desk.ask("search @example-hikaku.co.jp", ALICE)
    assert desk.ref in await desk.ask(f"search {CEO.upper()}", ALICE)


async def test_without_the_scope_to_read_the_channel_nobody_is_let_in_by_it(desk: Desk) -> None:
    """An app installed without channels:read cannot tell who is in the channel: it lets no one
    in by membership (and says to try again), never everyone."""
    desk.slack.set_scopes(desk.slack.manifest_scopes() - {"channels:read"})
    answer = await desk.ask("open", ALICE)
    assert "could not check" in answer and desk.ref not in answer
    assert desk.ref in await desk.ask("open", APPROVER)  # listed by ID: no call needed
