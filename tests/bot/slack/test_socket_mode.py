"""The Slack app over Socket Mode (bot.slack.socket): what Slack delivers on the WebSocket is acked
with its envelope_id and acted on, Slack's ``disconnect`` is followed by a new connection that
works, a refused app token is named, and a stop ends the connection within seconds. Slack is the
double in tests/slack_double.py, its Socket Mode endpoint included."""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine
from sqlmodel import Session, select
from support import Serving, eventually

from bot.intake import Intake
from bot.replies import Replies, ReplySettings
from bot.slack.app import build_app
from bot.slack.blocks import ACTIONS
from bot.slack.poster import CasePoster
from bot.slack.socket import AppTokenRefused, check_app_token, serve_socket
from bot.words import words
from storage.models import AuditEvent, Draft, OutboxItem

EN = words("en")  # the staff texts these assertions read
APPROVER = "U0APPROVE1"
SETTINGS = {"PD_FROM_ADDRESS": "privacy@example-hikaku.co.jp", "PD_APPROVERS": APPROVER}


def double() -> Any:
    return sys.modules["slack_double"]


class Desk:
    """A verified deletion case with its answer drafted, in the channel, and the desk's app on a
    Socket Mode connection to the double (on an event loop in a thread of the test's own)."""

    def __init__(self, engine: Engine, slack: Any, make_mail: Callable[..., bytes]) -> None:
        self.engine, self.slack = engine, slack
        slack.add_user(APPROVER, name="approver")
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
        client = AsyncWebClient(token=slack.bot_token, base_url=slack.base_url, retry_handlers=[])
        asyncio.run(CasePoster(engine, client, slack.channel, words=EN).run_once())
        self.started = threading.Event()
        self.service = Serving(
            lambda stop: serve_socket(
                self.build, stop, app_token=slack.app_token, started=self.started.set
            )
        )

    def build(self) -> AsyncApp:
        client = AsyncWebClient(
            token=self.slack.bot_token, base_url=self.slack.base_url, retry_handlers=[]
        )
        return build_app(
            self.engine,
            self.replies,
            signing_secret="",
            client=client,
            channel=self.slack.channel,
            words=EN,
        )

    def click(self, action: str, value: str) -> str:
        """``action`` pressed on the draft's message, delivered over the socket."""
        with Session(self.engine) as session:
            draft = session.get(Draft, self.draft.id)
        assert draft is not None and draft.slack_ts
        payload = double().block_actions(
            user_id=APPROVER,
            action_id=ACTIONS[action],
            value=value,
            trigger_id=self.slack.new_trigger_id(APPROVER),
            message_ts=draft.slack_ts,
        )
        return str(self.slack.push("interactive", payload))

    def acked(self, envelope_id: str) -> Any:
        return eventually(lambda: [a for a in self.slack.acks() if a.envelope_id == envelope_id])

    def shown_approved(self) -> bool:
        """The draft's message in the thread says it is approved, and offers no buttons."""
        with Session(self.engine) as session:
            draft = session.get(Draft, self.draft.id)
        assert draft is not None
        [parent] = self.slack.messages()
        [shown] = [
            m
            for m in self.slack.thread(self.slack.channel, parent["ts"])
            if m["ts"] == draft.slack_ts
        ]
        blocks = json.dumps(shown.get("blocks", []))
        return "approved" in blocks and ACTIONS["approve"] not in blocks

    def outbox(self) -> list[OutboxItem]:
        with Session(self.engine) as session:
            return list(session.exec(select(OutboxItem)))


@pytest.fixture
def desk(engine: Engine, slack: Any, make_mail: Callable[..., bytes]) -> Iterator[Desk]:
    desk = Desk(engine, slack, make_mail)
    desk.service.start()
    try:
        assert desk.started.wait(30), "no hello from Slack"
        yield desk
    finally:
        desk.service.stop(timeout=15)
    assert not desk.service.is_alive() and desk.service.error is None


def test_a_click_over_the_socket_is_acked_and_queues_one_mail(desk: Desk) -> None:
    envelope = desk.click("approve", f"{desk.draft.id}:1")
    [ack] = desk.acked(envelope)
    assert ack.payload is None and ack.connection == 1
    [item] = eventually(desk.outbox)
    assert item.draft_id == desk.draft.id and item.status == "queued"
    eventually(desk.shown_approved)  # the draft's message in the thread follows
    # Slack sends the same click again (a retry, or a double click): still one mail
    updates = len(desk.slack.calls("chat.update"))
    desk.acked(desk.click("approve", f"{desk.draft.id}:1"))
    # the second click has been worked to its end: the draft's message shown again
    eventually(lambda: len(desk.slack.calls("chat.update")) > updates, "the second click worked")
    assert len(desk.outbox()) == 1


def test_a_reply_in_the_thread_arrives_as_an_event_and_is_a_note(desk: Desk) -> None:
    [parent] = desk.slack.messages()
    reply = double().thread_message(
        user=APPROVER, text="電話で本人確認済み", ts=f"{time.time():.6f}", thread_ts=parent["ts"]
    )
    desk.acked(desk.slack.push("events_api", double().event_callback(reply)))

    def notes() -> list[AuditEvent]:
        with Session(desk.engine) as session:
            return [e for e in session.exec(select(AuditEvent)) if e.action == "note"]

    [note] = eventually(notes)
    assert note.actor == APPROVER and note.detail["text"] == "電話で本人確認済み"
    assert desk.outbox() == []


def test_after_slacks_disconnect_a_new_connection_is_opened_and_works(desk: Desk) -> None:
    opened = len(desk.slack.calls("apps.connections.open"))
    desk.slack.disconnect_sockets("refresh_requested")
    eventually(lambda: desk.slack.socket_connections() == 2)
    calls = desk.slack.calls("apps.connections.open")
    assert len(calls) == opened + 1 and calls[-1].token == desk.slack.app_token
    eventually(lambda: desk.slack.open_sockets() == 1)  # the app closed the old one
    [ack] = desk.acked(desk.click("approve", f"{desk.draft.id}:1"))
    assert ack.connection == 2
    assert len(eventually(desk.outbox)) == 1


def test_stop_ends_the_connection_within_seconds(
    desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    # 60 s is far above any load: only a stop that hangs fails it. That it did not wait out one
    # of its own deadlines (Slack's answer to the close, clicks still worked) the desk says: it
    # warns when one passes.
    desk.service.stop(timeout=60)
    assert not desk.service.is_alive()
    assert _deadlines_passed(caplog) == []
    eventually(lambda: desk.slack.open_sockets() == 0)


def _deadlines_passed(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What the desk warned of a stop that waited out one of its deadlines."""
    said = ("did not answer the close", "still running when the desk stopped")
    return [r.getMessage() for r in caplog.records if any(s in r.getMessage() for s in said)]


def test_a_click_acked_just_before_the_stop_is_still_worked(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    approve = desk.replies.approve

    def slow_approve(*args: Any, **kwargs: Any) -> Any:
        time.sleep(1)  # the database is slow today: the stop comes while the click is worked
        return approve(*args, **kwargs)

    monkeypatch.setattr(desk.replies, "approve", slow_approve)
    desk.acked(desk.click("approve", f"{desk.draft.id}:1"))
    desk.service.stop(timeout=10)
    assert len(desk.outbox()) == 1
    assert desk.shown_approved()  # the work after the approval was finished too


def test_stop_ends_it_while_slack_cannot_be_reached(
    slack: Any, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    slack.down()
    module = sys.modules["bot.slack.socket"]
    handler = module.AsyncSocketModeHandler  # waits ping_interval seconds between tries
    monkeypatch.setattr(
        module, "AsyncSocketModeHandler", lambda *a, **k: handler(*a, **k, ping_interval=3600)
    )

    def build() -> AsyncApp:
        client = AsyncWebClient(token=slack.bot_token, base_url=slack.base_url)
        return AsyncApp(signing_secret="", client=client)

    service = Serving(lambda stop: serve_socket(build, stop, app_token="x")).start()
    # trying to connect: refused, waiting to try again
    eventually(
        lambda: [r for r in caplog.records if r.getMessage().startswith("Failed to connect")],
        "a connection refused",
    )
    # 60 s is far above any load, and the wait before the next try is made an hour: only a stop
    # that waits for it (or hangs) fails this.
    service.stop(timeout=60)
    assert not service.is_alive() and service.error is None
    assert _deadlines_passed(caplog) == []


@pytest.mark.parametrize(
    ("token", "error"),
    [
        ("xapp-1-A0DESK0001-9-wrong", "invalid_auth"),
        ("bot", "not_allowed_token_type"),  # the bot token where the app-level one belongs
        ("revoked", "token_revoked"),
    ],
)
def test_a_token_slack_refuses_is_named(slack: Any, token: str, error: str) -> None:
    if token == "bot":
        token = slack.bot_token
    elif token == "revoked":
        token = slack.app_token
        slack.revoke_token(token)
    with pytest.raises(AppTokenRefused) as refused:
        check_app_token(token, base_url=slack.base_url)
    assert refused.value.error == error


def test_slack_down_or_busy_is_no_verdict_on_the_token(slack: Any) -> None:
    check_app_token(slack.app_token, base_url=slack.base_url)  # good: no error
    slack.fail("apps.connections.open", status=503)
    slack.rate_limit("apps.connections.open", retry_after=30)
    check_app_token("xapp-unknown", base_url=slack.base_url)
    check_app_token("xapp-unknown", base_url=slack.base_url)
    slack.down()
    check_app_token("xapp-unknown", base_url=slack.base_url)
