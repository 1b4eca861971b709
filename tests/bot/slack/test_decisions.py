"""The case's controls in its Slack thread: each button opens its form, each form's submission
takes the decision (or shows what is wrong in the form), and decisions reserved to approvers are
refused to anyone else, with a record. Slack is the Web API double; requests are signed."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine
from sqlmodel import Session, select
from support import settle

from bot.cases import CaseDesk
from bot.intake import Intake
from bot.replies import Replies, ReplySettings
from bot.slack.app import build_app
from bot.slack.blocks import ACTIONS
from bot.slack.poster import CasePoster
from bot.words import words
from storage import repo
from storage.models import AuditEvent, Case, Draft

TOKYO = ZoneInfo("Asia/Tokyo")
RECEIVED = datetime(2026, 11, 2, 9, 30, tzinfo=TOKYO)
SECRET = "signing-secret-of-the-test"
APPROVER, STAFF = "U0APPROVE1", "U0STAFF001"
SETTINGS = ReplySettings.from_env(
    {"PD_FROM_ADDRESS": "privacy@example-hikaku.co.jp", "PD_APPROVERS": APPROVER}
)


def double() -> Any:
    return sys.modules["slack_double"]


def clock() -> datetime:
    return RECEIVED.astimezone(UTC)


class Thread:
    """A GDPR erasure request shown in the channel, and the desk's app."""

    def __init__(
        self,
        engine: Engine,
        slack: Any,
        make_mail: Callable[..., bytes],
        language: str | None = "en",
    ) -> None:
        # English unless told otherwise; None: the desk's default language
        self.words = words(language) if language else None
        self.engine, self.slack = engine, slack
        for user in (APPROVER, STAFF, "U0TAKER001"):
            slack.add_user(user, name=user.lower())
        result = Intake(engine, clock=clock, replies=SETTINGS, jurisdiction="gdpr").process(
            make_mail("Please erase all my personal data.", subject="Erasure", date=RECEIVED)
        )
        assert result.ref is not None
        self.ref = result.ref
        self.client = AsyncWebClient(
            token=slack.bot_token, base_url=slack.base_url, retry_handlers=[]
        )
        self.poster = CasePoster(engine, self.client, slack.channel, clock=clock, words=self.words)
        self.app = self.build()

    def build(self) -> Any:
        replies = Replies(self.engine, SETTINGS, clock=clock)
        return build_app(
            self.engine,
            replies,
            signing_secret=SECRET,
            client=self.client,
            channel=self.slack.channel,
            cases=CaseDesk(self.engine, replies, clock=clock),
            words=self.words,
        )

    def parent(self) -> dict[str, Any]:
        [parent] = self.slack.messages()
        return dict(parent)

    def controls(self) -> list[str]:
        [actions] = [b for b in self.parent()["blocks"] if b["type"] == "actions"]
        return [e["action_id"] for e in actions["elements"]]

    async def dispatch(self, payload: dict[str, Any]) -> tuple[int, str]:
        signed = double().interaction(payload, SECRET)
        response = await self.app.async_dispatch(
            AsyncBoltRequest(body=signed.body, headers=signed.multi_headers())
        )
        await settle()
        return int(response.status), str(response.body or "")

    async def click(self, user: str, name: str, value: str | None = None) -> None:
        payload = double().block_actions(
            user_id=user,
            action_id=ACTIONS[name],
            value=self.ref if value is None else value,
            trigger_id=self.slack.new_trigger_id(user),
            message_ts=self.parent()["ts"],
            block_id=f"case:{self.ref}",
        )
        assert (await self.dispatch(payload))[0] == 200

    async def submit(
        self, user: str, name: str, values: dict[str, Any], *, ref: str | None = None
    ) -> str:
        """Open the form of ``name`` and submit ``values`` ({block: state}); Slack's answer."""
        await self.click(user, name)
        form = self.slack.open_views()[-1]
        payload = double().view_submission(
            user_id=user,
            callback_id=form["callback_id"],
            private_metadata=form["private_metadata"] if ref is None else ref,
            values={block: {"value": state} for block, state in values.items()},
        )
        status, body = await self.dispatch(payload)
        assert status == 200
        return body

    def case(self) -> Case:
        with Session(self.engine) as session:
            case = repo.case_by_ref(session, self.ref)
            assert case is not None
            return case

    def drafts(self, template: str) -> list[Draft]:
        with Session(self.engine) as session:
            return [d for d in session.exec(select(Draft)) if d.template == template]

    def events(self, action: str) -> list[AuditEvent]:
        with Session(self.engine) as session:
            return [e for e in session.exec(select(AuditEvent)) if e.action == action]

    def events_like(self, word: str) -> list[AuditEvent]:
        with Session(self.engine) as session:
            return [e for e in session.exec(select(AuditEvent)) if word in e.action]

    def told(self, user: str) -> list[str]:
        return [m["text"] for m in self.slack.ephemeral() if m["user"] == user]


def typed(text: str) -> dict[str, Any]:
    return {"type": "plain_text_input", "value": text}


def chosen(value: str) -> dict[str, Any]:
    return {"type": "static_select", "selected_option": {"value": value}}


@pytest.fixture
def thread(engine: Engine, slack: Any, make_mail: Callable[..., bytes]) -> Thread:
    found = Thread(engine, slack, make_mail)
    asyncio.run(found.poster.run_once())
    return found


async def test_an_extension_moves_the_deadline_once_and_drafts_the_notice(thread: Thread) -> None:
    before = thread.case().answer_due
    answer = await thread.submit(APPROVER, "extend", {"reason": typed("Many systems to search")})
    assert answer == ""  # the form closes
    case = thread.case()
    assert case.extended_by == APPROVER and case.answer_due is not None and before is not None
    assert case.answer_due.astimezone(TOKYO).date().isoformat() == "2027-02-02"  # 1 + 2 months
    [notice] = thread.drafts("extension_notice")
    assert "Many systems to search" in notice.body
    # the parent message follows without Extend; an older copy's button opens no form
    await thread.poster.run_once()
    assert "2027-02-02" in json.dumps(thread.parent()["blocks"])
    assert ACTIONS["extend"] not in thread.controls()
    forms = len(thread.slack.open_views())
    await thread.click(APPROVER, "extend")
    assert len(thread.slack.open_views()) == forms
    assert "Not possible" in thread.told(APPROVER)[-1]
    assert "already extended once" in thread.told(APPROVER)[-1]
    # nor does a form still open: the desk refuses it, once more recorded
    await thread.submit(APPROVER, "extend", {"reason": typed("Still more")})
    assert "already extended once" in thread.told(APPROVER)[-1]
    assert len(thread.drafts("extension_notice")) == 1


async def test_identity_verified_is_recorded_and_the_button_goes(thread: Thread) -> None:
    await thread.submit(APPROVER, "verified", {"how": typed("Passport copy checked")})
    case = thread.case()
    assert (case.verified_by, case.verified_how) == (APPROVER, "Passport copy checked")
    await thread.poster.run_once()
    assert ACTIONS["verified"] not in thread.controls()


async def test_anyone_may_draft_a_request_to_the_requester(thread: Thread) -> None:
    await thread.submit(
        STAFF,
        "ask",
        {"kind": chosen("identity"), "needed": typed("Passport copy\n\nA recent utility bill")},
    )
    [asked] = thread.drafts("identity_request")
    assert "Passport copy" in asked.body and "A recent utility bill" in asked.body
    assert thread.case().status == "new"  # the clock stops once the mail is approved


async def test_a_refusal_is_drafted_with_the_reasons_given(thread: Thread) -> None:
    reasons = "The data is needed for a pending legal claim\nRetention required by tax law"
    await thread.submit(APPROVER, "reject", {"scope": chosen("partial"), "reasons": typed(reasons)})
    [refusal] = thread.drafts("refusal")
    assert "pending legal claim" in refusal.body and "tax law" in refusal.body
    assert refusal.values["scope"] == "partial"


async def test_closing_leaves_only_the_reasons_button(thread: Thread) -> None:
    await thread.submit(APPROVER, "close", {"reason": typed("Withdrawn by phone")})
    assert thread.case().status == "closed"
    await thread.poster.run_once()
    assert thread.controls() == [ACTIONS["reasons"]]
    [closed] = thread.events("case closed")
    assert closed.detail["reason"] == "Withdrawn by phone"


@pytest.mark.parametrize("name", ["reclassify", "verified", "extend", "reject", "close"])
async def test_decisions_are_refused_to_others_at_the_click(thread: Thread, name: str) -> None:
    await thread.click(STAFF, name)
    assert thread.slack.open_views() == []
    [told] = thread.told(STAFF)
    assert "not an approver" in told
    refused = [e for e in thread.events_like("refused") if e.actor == STAFF]
    assert len(refused) == 1


async def test_a_form_with_a_missing_field_is_answered_in_the_form(thread: Thread) -> None:
    answer = json.loads(await thread.submit(APPROVER, "close", {"reason": typed("   ")}))
    assert answer["response_action"] == "errors" and "reason" in answer["errors"]
    answer = json.loads(
        await thread.submit(
            APPROVER, "reject", {"scope": chosen("everything"), "reasons": typed("")}
        )
    )
    assert set(answer["errors"]) == {"scope", "reasons"}
    assert thread.case().status == "new"


async def test_a_forged_case_reference_is_refused(thread: Thread) -> None:
    for forged in ("PD-2026-999999", "'; drop table case; --"):
        answer = await thread.submit(APPROVER, "close", {"reason": typed("x")}, ref=forged)
        assert json.loads(answer)["response_action"] == "errors"
    await thread.click(APPROVER, "close", value="PD-2026-999999")
    assert "does not name a case" in thread.told(APPROVER)[-1]
    assert thread.case().status == "new"


async def test_assign_to_someone_from_the_user_picker(thread: Thread) -> None:
    payload = double().block_actions(
        user_id=STAFF,
        action_id=ACTIONS["assign"],
        value="",
        trigger_id=thread.slack.new_trigger_id(STAFF),
        message_ts=thread.parent()["ts"],
        block_id=f"case:{thread.ref}",
    )
    action = payload["actions"][0]
    del action["value"]
    action.update(type="users_select", selected_user="U0TAKER001")
    assert (await thread.dispatch(payload))[0] == 200
    assert thread.case().assignee == "U0TAKER001"
    [event] = thread.events("assigned")
    assert (event.actor, event.detail["to"]) == (STAFF, "U0TAKER001")


async def test_a_forged_request_is_refused_and_its_body_never_logged(
    thread: Thread, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    thread.app = thread.build()  # as serve builds it: after logging is set up, at INFO or below
    payload = double().block_actions(
        user_id=APPROVER,
        action_id=ACTIONS["close"],
        value=thread.ref,
        trigger_id=thread.slack.new_trigger_id(APPROVER),
        message_ts=thread.parent()["ts"],
        message={"type": "message", "ts": thread.parent()["ts"], "text": "hanako@example.jp"},
    )
    signed = double().interaction(payload, "not-the-secret")
    response = await thread.app.async_dispatch(
        AsyncBoltRequest(body=signed.body, headers=signed.multi_headers())
    )
    assert response.status == 401
    assert thread.slack.open_views() == []
    assert "hanako" not in caplog.text and thread.ref not in caplog.text


async def test_the_forms_and_answers_speak_japanese_by_default(
    engine: Engine, slack: Any, make_mail: Callable[..., bytes]
) -> None:
    thread = Thread(engine, slack, make_mail, language=None)
    await thread.poster.run_once()
    titles = {}
    for name in ("reclassify", "verified", "ask", "extend", "reject", "merge", "close"):
        await thread.click(APPROVER, name)
        form = thread.slack.open_views()[-1]
        assert double().view_problems(form, "modal") == [], name
        titles[name] = (form["title"]["text"], form["submit"]["text"], form["close"]["text"])
        assert f"案件 {thread.ref}" in json.dumps(form["blocks"], ensure_ascii=False)
    assert titles["close"] == ("案件を終了", "終了", "キャンセル")
    assert titles["reject"] == ("差し戻し", "通知を作成", "キャンセル")
    shown = json.dumps(thread.slack.open_views(), ensure_ascii=False)
    for text in (
        "請求内容",
        "適用法",
        "GDPR（EU）",
        "本人確認の方法",
        "本人確認書類",
        "請求の一部",
    ):
        assert text in shown, text
    answer = json.loads(await thread.submit(APPROVER, "close", {"reason": typed("  ")}))
    assert answer["errors"] == {"reason": "必須です（500 文字まで）。"}
    answer = json.loads(await thread.submit(APPROVER, "merge", {"into": typed("PD-1")}))
    assert "案件番号を入力してください" in answer["errors"]["into"]
    await thread.submit(APPROVER, "verified", {"how": typed("運転免許証の写しで確認")})
    assert thread.told(APPROVER)[-1] == f"{thread.ref}: 本人確認済みとして記録しました。"
    await thread.submit(APPROVER, "close", {"reason": typed("電話で取り下げ")})
    assert thread.told(APPROVER)[-1] == f"{thread.ref} を終了しました。"
    await thread.click(APPROVER, "close")
    assert thread.told(APPROVER)[-1] == f"{thread.ref} は「終了」です。"
