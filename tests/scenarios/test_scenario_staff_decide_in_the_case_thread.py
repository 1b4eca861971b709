"""Staff decide in the case's Slack thread: an approver's click queues exactly one mail, anyone
else is refused and recorded, an edit made in the modal is what goes out, thread replies become
internal notes, and a request Slack did not sign gets 401. Slack is the Web API double; the
clicks are requests signed as Slack signs them, dispatched to the desk's bolt app."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine
from sqlmodel import Session, select
from support import eventually, settle

from bot.intake import Intake
from bot.replies import Replies, ReplySettings
from bot.slack.app import EDIT_CALLBACK, build_app
from bot.slack.blocks import ACTIONS
from bot.slack.poster import CasePoster
from bot.words import words
from mail.parse import parse_message
from storage.models import AuditEvent, Draft, OutboxItem

EN = words("en")  # the staff texts these assertions read

SECRET = "signing-secret-of-the-test"
APPROVER = "U0APPROVE1"
STRANGER = "U0STRANGE1"
SETTINGS = {
    "PD_FROM_ADDRESS": "privacy@example-hikaku.co.jp",
    "PD_APPROVERS": f"{APPROVER} S0PRIVACY1",
}


def double() -> Any:
    return sys.modules["slack_double"]


class Thread:
    """A case with a verified requester and a deletion answer drafted, all shown in Slack."""

    def __init__(self, engine: Engine, slack: Any, make_mail: Callable[..., bytes]) -> None:
        self.engine, self.slack = engine, slack
        for user in (APPROVER, STRANGER, "U0EDITOR01", "U0EDITOR02", "U0GROUPED1"):
            slack.add_user(user, name=user.lower())  # staff, members of the case channel
        settings = ReplySettings.from_env(SETTINGS)
        result = Intake(engine, replies=settings).process(
            make_mail("私の個人情報を削除してください。", sender="hanako@example.jp")
        )
        assert result.ref
        self.ref = result.ref
        self.replies = Replies(engine, settings)
        self.replies.mark_verified(self.ref, actor=APPROVER, how="電話で確認")
        values = {"deleted": ["会員登録情報"], "done_on": date(2026, 11, 25)}
        self.draft = self.replies.draft(self.ref, "deletion_done", values, editor="U0EDITOR01")
        self.client = AsyncWebClient(
            token=slack.bot_token, base_url=slack.base_url, retry_handlers=[]
        )
        asyncio.run(CasePoster(engine, self.client, slack.channel, words=words("en")).run_once())
        self.app: AsyncApp = build_app(
            engine,
            self.replies,
            signing_secret=SECRET,
            client=self.client,
            channel=slack.channel,
            words=words("en"),
        )

    def message_of(self, draft_id: int) -> dict[str, Any]:
        with Session(self.engine) as session:
            draft = session.get(Draft, draft_id)
        assert draft is not None and draft.slack_ts
        [found] = [m for m in self.thread() if m["ts"] == draft.slack_ts]
        return found

    def thread(self) -> list[dict[str, Any]]:
        [parent] = self.slack.messages()
        return list(self.slack.thread(self.slack.channel, parent["ts"]))

    async def click(self, user: str, action: str, value: str, *, secret: str = SECRET) -> int:
        [parent] = self.slack.messages()
        payload = double().block_actions(
            user_id=user,
            action_id=ACTIONS[action],
            value=value,
            trigger_id=self.slack.new_trigger_id(user),
            message_ts=parent["ts"],
            message={"type": "message", "ts": parent["ts"], "thread_ts": parent["ts"]},
        )
        return await self.send(double().interaction(payload, secret))

    async def send(self, signed: Any) -> int:
        response = await self.app.async_dispatch(
            AsyncBoltRequest(body=signed.body, headers=signed.multi_headers())
        )
        await settle()
        return int(response.status)

    def outbox(self) -> list[OutboxItem]:
        with Session(self.engine) as session:
            return list(session.exec(select(OutboxItem)))

    def events(self, action: str) -> list[AuditEvent]:
        with Session(self.engine) as session:
            return [e for e in session.exec(select(AuditEvent)) if e.action == action]


@pytest.fixture
def thread(engine: Engine, slack: Any, make_mail: Callable[..., bytes]) -> Thread:
    return Thread(engine, slack, make_mail)


async def test_an_approvers_click_queues_exactly_one_mail(thread: Thread) -> None:
    value = f"{thread.draft.id}:1"
    assert await thread.click(APPROVER, "approve", value) == 200
    assert await thread.click(APPROVER, "approve", value) == 200  # a double click
    [item] = thread.outbox()
    assert item.draft_id == thread.draft.id and item.status == "queued"
    assert [e.actor for e in thread.events("draft approved")] == [APPROVER]
    shown = str(thread.message_of(thread.draft.id)["blocks"])
    assert "approved" in shown and ACTIONS["approve"] not in shown  # no buttons any more
    # the thread tells it once, on the poster's next pass
    await CasePoster(
        thread.engine, thread.client, thread.slack.channel, words=words("en")
    ).run_once()
    await CasePoster(
        thread.engine, thread.client, thread.slack.channel, words=words("en")
    ).run_once()
    said = [m["text"] for m in thread.thread() if "approved draft" in m.get("text", "")]
    assert said == [f"<@{APPROVER}> approved draft {thread.draft.id}: the mail is queued."]


async def test_a_member_of_an_approver_group_may_approve(thread: Thread) -> None:
    thread.slack.set_usergroup("S0PRIVACY1", ["U0GROUPED1"])
    assert await thread.click("U0GROUPED1", "approve", f"{thread.draft.id}:1") == 200
    assert len(thread.outbox()) == 1


async def test_anyone_else_is_refused_and_recorded(thread: Thread) -> None:
    assert await thread.click(STRANGER, "approve", f"{thread.draft.id}:1") == 200
    assert thread.outbox() == []
    [told] = thread.slack.ephemeral()
    assert told["user"] == STRANGER and "is not an approver" in told["text"]
    [refusal] = thread.events("approval refused")
    assert refusal.actor == STRANGER
    # a forged draft id or revision is refused too
    assert await thread.click(APPROVER, "approve", "999999:1") == 200
    assert await thread.click(APPROVER, "approve", f"{thread.draft.id}:7") == 200
    assert await thread.click(APPROVER, "approve", "drop table") == 200
    assert thread.outbox() == []
    assert len(thread.slack.ephemeral()) == 4


async def test_an_edit_in_the_modal_is_what_goes_out(thread: Thread) -> None:
    draft_id = thread.draft.id
    assert await thread.click("U0EDITOR02", "edit", f"{draft_id}:1") == 200
    [modal] = thread.slack.open_views()
    assert modal["callback_id"] == EDIT_CALLBACK
    assert modal["private_metadata"].startswith(f"{draft_id}:1:")
    submit = double().view_submission(
        user_id="U0EDITOR02",
        callback_id=EDIT_CALLBACK,
        private_metadata=modal["private_metadata"],
        values={
            "subject": {"value": {"type": "plain_text_input", "value": "【削除完了】ご依頼の件"}},
            "body_1": {
                "value": {"type": "plain_text_input", "value": "会員情報を削除しました。\n以上"}
            },
        },
    )
    assert await thread.send(double().interaction(submit, SECRET)) == 200
    with Session(thread.engine) as session:
        draft = session.get(Draft, draft_id)
    assert draft is not None and (draft.revision, draft.edited_by) == (2, "U0EDITOR02")
    # the revision the approver saw before the edit no longer counts
    assert await thread.click(APPROVER, "approve", f"{draft_id}:1") == 200
    assert thread.outbox() == []
    assert await thread.click(APPROVER, "approve", f"{draft_id}:2") == 200
    [item] = thread.outbox()
    mail = parse_message(item.raw)
    assert "会員情報を削除しました。" in mail.text and mail.subject.startswith(
        "【削除完了】ご依頼の件"
    )


async def test_an_empty_edit_is_refused_in_the_modal(thread: Thread) -> None:
    submit = double().view_submission(
        user_id="U0EDITOR02",
        callback_id=EDIT_CALLBACK,
        private_metadata=f"{thread.draft.id}:1:n",
        values={
            "subject": {"value": {"type": "plain_text_input", "value": "a\nb"}},
            "body_1": {"value": {"type": "plain_text_input", "value": "   "}},
        },
    )
    signed = double().interaction(submit, SECRET)
    response = await thread.app.async_dispatch(
        AsyncBoltRequest(body=signed.body, headers=signed.multi_headers())
    )
    assert response.status == 200 and '"response_action": "errors"' in response.body
    assert set(json.loads(response.body)["errors"]) == {"subject", "body_1"}


async def test_a_reply_in_the_thread_is_an_internal_note(thread: Thread) -> None:
    [parent] = thread.slack.messages()
    envelope = double().event_callback(
        double().thread_message(
            user=APPROVER,
            text="本人確認済み。来週対応します。",
            ts=f"{time.time():.6f}",
            thread_ts=parent["ts"],
        )
    )
    assert await thread.send(double().event(envelope, SECRET)) == 200
    [note] = thread.events("note")
    assert note.actor == APPROVER and note.detail["text"] == "本人確認済み。来週対応します。"
    assert thread.outbox() == []  # never mailed


@pytest.mark.parametrize("forgery", ["wrong secret", "stale"])
async def test_a_request_slack_did_not_sign_gets_401(thread: Thread, forgery: str) -> None:
    value = f"{thread.draft.id}:1"
    if forgery == "wrong secret":
        status = await thread.click(APPROVER, "approve", value, secret="not-the-secret")
    else:
        [parent] = thread.slack.messages()
        payload = double().block_actions(
            user_id=APPROVER,
            action_id=ACTIONS["approve"],
            value=value,
            trigger_id="1.2.3",
            message_ts=parent["ts"],
        )
        stale = double().interaction(payload, SECRET, timestamp=int(time.time()) - 600)
        status = await thread.send(stale)
    assert status == 401
    assert thread.outbox() == [] and thread.events("draft approved") == []


async def test_a_discarded_draft_cannot_be_approved(thread: Thread) -> None:
    value = f"{thread.draft.id}:1"
    assert await thread.click(APPROVER, "discard", value) == 200
    assert "discarded" in str(thread.message_of(thread.draft.id)["blocks"])
    assert await thread.click(APPROVER, "approve", value) == 200
    assert thread.outbox() == []
    assert "is discarded" in thread.slack.ephemeral()[-1]["text"]


def test_serve_takes_slack_requests_over_http(
    desk_db: tuple[str, Engine], slack: Any, dovecot: Any, make_mail: Callable[..., bytes]
) -> None:
    url, engine = desk_db
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        **SETTINGS,
        "PD_DATABASE_URL": url,
        "PD_MAILBOX": dovecot.url("desk"),
        "PD_SMTP_URL": f"file:{Path(url.removeprefix('sqlite:///')).parent / 'outbox'}",
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": SECRET,
        "PD_SLACK_CHANNEL": slack.channel,
        "PD_SLACK_API_URL": slack.base_url,
        "PD_HTTP_PORT": str(port),
    }
    slack.add_user(APPROVER, name="approver")
    command = [sys.executable, "-c", "from bot.cli import main; raise SystemExit(main())", "serve"]
    root = Path(__file__).resolve().parents[2]
    service = subprocess.Popen(
        command, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )

    def post(signed: Any) -> int:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/slack/events", data=signed.body.encode(), method="POST"
        )
        for name, value in signed.headers.items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return int(answer.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)

    try:
        # a rate question: its first reply (the redirect) needs no identity check
        dovecot.append(
            "desk", make_mail("電気料金のプランについて教えてください。", subject="料金")
        )

        def threads() -> list[list[dict[str, Any]]]:
            # the case's thread (the scheduler may post the day's digest in the channel too)
            return [
                slack.thread(slack.channel, m["ts"])
                for m in slack.messages()
                if m.get("text", "").startswith("PD-")
            ]

        eventually(lambda: (found := threads()) and len(found[0]) == 2, "the draft in the thread")
        [[_parent, draft_message]] = threads()
        button = next(b for b in draft_message["blocks"] if b["type"] == "actions")["elements"][0]
        payload = double().block_actions(
            user_id=APPROVER,
            action_id=button["action_id"],
            value=button["value"],
            trigger_id=slack.new_trigger_id(APPROVER),
            message_ts=draft_message["ts"],
        )
        assert post(double().interaction(payload, "not-the-secret")) == 401
        assert post(double().interaction(payload, SECRET)) == 200

        def queued() -> bool:
            with Session(engine) as session:
                return session.exec(select(OutboxItem)).first() is not None

        eventually(queued, "the approved mail queued")
        with Session(engine) as session:
            [item] = session.exec(select(OutboxItem)).all()
        assert item.template == "rate_redirect" and item.status in ("queued", "sent")
    finally:
        service.send_signal(signal.SIGTERM)
        out, err = service.communicate(timeout=20)
    assert service.returncode == 0, err
    assert SECRET not in out + err and slack.bot_token not in out + err


async def test_why_shows_the_phrases_and_assign_to_me_takes_the_case(thread: Thread) -> None:
    assert await thread.click(APPROVER, "reasons", thread.ref) == 200
    [told] = thread.slack.ephemeral()
    assert told["user"] == APPROVER and "削除" in told["text"] and thread.ref in told["text"]

    assert await thread.click(APPROVER, "assign_me", thread.ref) == 200
    with Session(thread.engine) as session:
        [taken] = [e for e in session.exec(select(AuditEvent)) if e.action == "assigned"]
    assert taken.actor == APPROVER
    # the parent message follows on the next pass, and the thread says who took the case
    await CasePoster(
        thread.engine, thread.client, thread.slack.channel, words=words("en")
    ).run_once()
    assert f"<@{APPROVER}> took {thread.ref}." in [m.get("text") for m in thread.thread()]
    [parent] = thread.slack.messages()
    assert f"<@{APPROVER}>" in json.dumps(parent["blocks"])

    assert await thread.click(APPROVER, "assign_me", "PD-0000-999999") == 200  # no such case
    assert await thread.click(APPROVER, "reasons", "<script>") == 200
    assert "does not name a case" in thread.slack.ephemeral()[-1]["text"]
