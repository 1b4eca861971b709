"""The Slack Web API double (tests/slack_double.py), driven by slack_sdk's real clients: it
answers as Slack does, keeps what was posted, injects faults, and signs what Slack sends."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import aiohttp
import pytest
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from support import eventually_async, settle

SECRET = "signing-secret-of-the-test-app"


def _load() -> ModuleType:
    """tests/slack_double.py by path: conftest.py keeps tests/ off sys.path."""
    module = sys.modules.get("slack_double")
    if module is None:
        path = Path(__file__).parents[2] / "slack_double.py"
        spec = importlib.util.spec_from_file_location("slack_double", path)
        assert spec is not None and spec.loader is not None
        module = sys.modules["slack_double"] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return module


sd = _load()
CHANNEL = sd.CHANNEL_ID


@pytest.fixture
def slack() -> Iterator[Any]:
    with sd.SlackDouble() as double:
        yield double


def client(slack: Any, **kw: Any) -> AsyncWebClient:
    return AsyncWebClient(token=slack.bot_token, base_url=slack.base_url, **kw)


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def button(action_id: str = "approve", value: str = "PD-2026-000123") -> dict[str, Any]:
    text = {"type": "plain_text", "text": "Approve"}
    return {"type": "button", "text": text, "action_id": action_id, "value": value}


async def test_post_update_and_read_back_a_thread(slack: Any) -> None:
    web = client(slack)
    top = await web.chat_postMessage(
        channel=CHANNEL, text="PD-2026-000123 new", blocks=[section("*new*")]
    )
    first = await web.chat_postMessage(channel=CHANNEL, text="draft ready", thread_ts=top["ts"])
    second = await web.chat_postMessage(channel=CHANNEL, text="approved", thread_ts=top["ts"])
    updated = await web.chat_update(channel=CHANNEL, ts=top["ts"], text="PD-2026-000123 answered")

    assert top["channel"] == CHANNEL and top["message"]["text"] == "PD-2026-000123 new"
    assert float(top["ts"]) < float(first["ts"]) < float(second["ts"])
    assert updated["ts"] == top["ts"] and updated["message"]["text"] == "PD-2026-000123 answered"
    replies = await web.conversations_replies(channel=CHANNEL, ts=top["ts"])
    assert [m["text"] for m in replies["messages"]] == [
        "PD-2026-000123 answered",
        "draft ready",
        "approved",
    ]
    assert replies["messages"][0]["reply_count"] == 2
    assert all(m["thread_ts"] == top["ts"] for m in replies["messages"])
    [shown] = slack.messages(CHANNEL)  # replies are not top-level messages
    assert shown["ts"] == top["ts"] and shown["text"] == "PD-2026-000123 answered"
    assert shown["blocks"] == [section("*new*")]  # chat.update without blocks keeps them
    assert "edited" in shown
    assert [m["text"] for m in slack.thread(CHANNEL, top["ts"])][1:] == ["draft ready", "approved"]
    posts = slack.calls("chat.postMessage")
    assert [c.params.get("thread_ts") for c in posts] == [None, top["ts"], top["ts"]]
    assert {c.token for c in slack.calls()} == {slack.bot_token}


async def test_a_reply_to_a_reply_joins_the_parent_thread(slack: Any) -> None:
    web = client(slack)
    top = await web.chat_postMessage(channel=CHANNEL, text="case")
    reply = await web.chat_postMessage(channel=CHANNEL, text="one", thread_ts=top["ts"])
    await web.chat_postMessage(channel=CHANNEL, text="two", thread_ts=reply["ts"])
    assert [m["text"] for m in slack.thread(CHANNEL, top["ts"])] == ["case", "one", "two"]


def test_tokens_are_checked_as_slack_checks_them(slack: Any) -> None:
    assert (
        WebClient(token=slack.bot_token, base_url=slack.base_url).auth_test()["user_id"]
        == sd.BOT_USER_ID
    )
    for token, error in ((None, "not_authed"), ("xoxb-wrong", "invalid_auth")):
        with pytest.raises(SlackApiError) as caught:
            WebClient(token=token, base_url=slack.base_url).auth_test()
        assert caught.value.response["error"] == error
        assert caught.value.response.status_code == 200
    slack.revoke_token(slack.bot_token)
    with pytest.raises(SlackApiError, match="token_revoked"):
        WebClient(token=slack.bot_token, base_url=slack.base_url).auth_test()


def test_form_bodies_carry_json_strings_and_tokens(slack: Any) -> None:
    form = WebClient(base_url=slack.base_url)
    blocks = [section("from a form")]
    sent = form.api_call(
        "chat.postMessage",
        data={
            "token": slack.bot_token,
            "channel": CHANNEL,
            "text": "f",
            "blocks": json.dumps(blocks),
        },
    )
    assert sent["message"]["blocks"] == blocks
    assert slack.messages(CHANNEL)[0]["blocks"] == blocks
    with pytest.raises(SlackApiError, match="invalid_blocks_format"):
        form.api_call(
            "chat.postMessage",
            data={"token": slack.bot_token, "channel": CHANNEL, "blocks": "[{not json"},
        )
    # A token inside a JSON body is not read, as on slack.com (slack_sdk moves it to the header).
    body = json.dumps({"token": slack.bot_token, "channel": CHANNEL, "text": "j"}).encode()
    request = urllib.request.Request(
        slack.base_url + "chat.postMessage",
        data=body,
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    with urllib.request.urlopen(request) as answer:
        assert (answer.status, json.load(answer)) == (200, {"ok": False, "error": "not_authed"})
    assert len(slack.messages(CHANNEL)) == 1


async def test_posting_errors(slack: Any) -> None:
    slack.add_channel("C0ELSEWHER", name="elsewhere", bot_is_member=False)
    web = client(slack)
    cases = [
        ({"channel": "C0NOSUCH00", "text": "x"}, "channel_not_found"),
        ({"channel": "C0ELSEWHER", "text": "x"}, "not_in_channel"),
        ({"channel": CHANNEL}, "no_text"),
        ({"channel": CHANNEL, "text": "x" * 40_001}, "msg_too_long"),
    ]
    for kwargs, error in cases:
        with pytest.raises(SlackApiError) as caught:  # api_call: chat_postMessage warns on no text
            await web.api_call("chat.postMessage", json=kwargs)
        assert caught.value.response["error"] == error, kwargs
    assert slack.messages(CHANNEL) == []
    assert [c.error for c in slack.calls("chat.postMessage")] == [e for _, e in cases]
    at_limit = await web.chat_postMessage(channel="#privacy-desk", text="x" * 40_000)
    assert at_limit["channel"] == CHANNEL


async def test_update_errors(slack: Any) -> None:
    web = client(slack)
    staff = slack.add_message(CHANNEL, user="U0STAFF001", text="I'll take it")
    with pytest.raises(SlackApiError, match="cant_update_message"):
        await web.chat_update(channel=CHANNEL, ts=staff, text="mine now")
    with pytest.raises(SlackApiError, match="message_not_found"):
        await web.chat_update(channel=CHANNEL, ts="1700000000.000100", text="x")
    posted = await web.chat_postMessage(channel=CHANNEL, text="x")
    with pytest.raises(SlackApiError, match="channel_not_found"):  # update wants the ID
        await web.chat_update(channel="#privacy-desk", ts=posted["ts"], text="y")
    assert [m["text"] for m in slack.messages(CHANNEL)] == ["I'll take it", "x"]


INVALID_BLOCKS = {
    "51 blocks": [section("b")] * 51,
    "section text over 3000": [section("s" * 3001)],
    "header over 150": [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
    "mrkdwn header": [{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}],
    "action_id over 255": [{"type": "actions", "elements": [button(action_id="a" * 256)]}],
    "button value over 2000": [{"type": "actions", "elements": [button(value="v" * 2001)]}],
    "duplicate block_id": [{**section("a"), "block_id": "x"}, {**section("b"), "block_id": "x"}],
    "unknown block type": [{"type": "banner"}],
    "empty section text": [section("")],
}


@pytest.mark.parametrize("blocks", INVALID_BLOCKS.values(), ids=INVALID_BLOCKS.keys())
async def test_block_kit_limits_give_invalid_blocks(slack: Any, blocks: list[Any]) -> None:
    with pytest.raises(SlackApiError) as caught:
        await client(slack).chat_postMessage(channel=CHANNEL, text="fallback", blocks=blocks)
    assert caught.value.response["error"] == "invalid_blocks"
    assert caught.value.response["errors"]  # Slack says where: [json-pointer:/blocks/...]
    assert "json-pointer:/blocks" in caught.value.response["errors"][0]
    assert slack.messages(CHANNEL) == []


async def test_block_kit_limits_are_inclusive(slack: Any) -> None:
    at_limits = [
        {"type": "header", "text": {"type": "plain_text", "text": "h" * 150}},
        section("s" * 3000),
        {"type": "actions", "elements": [button(action_id="a" * 255, value="v" * 2000)]},
        *[{"type": "divider"}] * 47,
    ]
    assert len(at_limits) == 50
    await client(slack).chat_postMessage(channel=CHANNEL, text="fallback", blocks=at_limits)
    assert len(slack.messages(CHANNEL)[0]["blocks"]) == 50


async def test_rate_limit_is_waited_out_by_the_retry_handler(slack: Any) -> None:
    slack.rate_limit("chat.postMessage", retry_after=1, times=1)
    web = client(slack, retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)])
    started = time.monotonic()
    sent = await web.chat_postMessage(channel=CHANNEL, text="after the wait")
    assert time.monotonic() - started >= 1.0
    assert sent["ok"] is True
    assert [(c.status, c.error) for c in slack.calls("chat.postMessage")] == [
        (429, "ratelimited"),
        (200, None),
    ]
    assert [m["text"] for m in slack.messages(CHANNEL)] == ["after the wait"]


async def test_rate_limit_without_a_retry_handler_raises_429(slack: Any) -> None:
    slack.rate_limit("chat.postMessage", retry_after=7, times=2)
    web = client(slack)
    for _ in range(2):
        with pytest.raises(SlackApiError) as caught:
            await web.chat_postMessage(channel=CHANNEL, text="too soon")
        assert caught.value.response.status_code == 429
        assert caught.value.response.headers["Retry-After"] == "7"
        assert caught.value.response["error"] == "ratelimited"
    assert slack.messages(CHANNEL) == []
    await web.chat_postMessage(channel=CHANNEL, text="now")  # only `times` calls were limited
    assert len(slack.messages(CHANNEL)) == 1
    await web.auth_test()  # other methods were never limited


async def test_a_500_after_posting_leaves_the_message_posted(slack: Any) -> None:
    slack.fail("chat.postMessage", status=500, after_effect=True)
    web = client(slack)
    with pytest.raises(SlackApiError) as caught:
        await web.chat_postMessage(channel=CHANNEL, text="case opened")
    assert caught.value.response.status_code == 500
    assert [m["text"] for m in slack.messages(CHANNEL)] == ["case opened"]
    await web.chat_postMessage(channel=CHANNEL, text="case opened")  # a blind retry...
    assert len(slack.messages(CHANNEL)) == 2  # ...posts it twice


async def test_a_500_before_posting_and_a_named_error_post_nothing(slack: Any) -> None:
    slack.fail("chat.postMessage", status=503)
    slack.fail("chat.postMessage", error="channel_not_found")
    web = client(slack)
    with pytest.raises(SlackApiError) as first:
        await web.chat_postMessage(channel=CHANNEL, text="x")
    with pytest.raises(SlackApiError) as second:
        await web.chat_postMessage(channel=CHANNEL, text="x")
    assert first.value.response.status_code == 503
    assert (second.value.response.status_code, second.value.response["error"]) == (
        200,
        "channel_not_found",
    )
    assert slack.messages(CHANNEL) == []
    await web.chat_postMessage(channel=CHANNEL, text="x")
    assert len(slack.messages(CHANNEL)) == 1


MODAL = {
    "type": "modal",
    "callback_id": "approve_reply",
    "title": {"type": "plain_text", "text": "Approve reply"},
    "submit": {"type": "plain_text", "text": "Approve"},
    "blocks": [section("Send the deletion answer?")],
}


async def test_trigger_ids_are_issued_used_once_and_expire(slack: Any) -> None:
    web = client(slack)
    trigger = slack.new_trigger_id("U0STAFF001")
    opened = await web.views_open(trigger_id=trigger, view=MODAL)
    assert opened["view"]["id"].startswith("V") and opened["view"]["callback_id"] == "approve_reply"
    [shown] = slack.open_views()
    assert shown["id"] == opened["view"]["id"] and shown["user"] == "U0STAFF001"
    with pytest.raises(SlackApiError, match="exchanged_trigger_id"):
        await web.views_open(trigger_id=trigger, view=MODAL)
    with pytest.raises(SlackApiError, match="invalid_trigger_id"):
        await web.views_open(trigger_id="12345.98765.abcd2358fdea", view=MODAL)

    fresh, stale = slack.new_trigger_id(), slack.new_trigger_id()
    slack.advance(2.9)
    await web.views_open(trigger_id=fresh, view=MODAL)
    slack.advance(0.2)
    with pytest.raises(SlackApiError, match="expired_trigger_id"):
        await web.views_open(trigger_id=stale, view=MODAL)
    assert len(slack.open_views()) == 2


async def test_views_update_publish_and_validation(slack: Any) -> None:
    web = client(slack)
    opened = (await web.views_open(trigger_id=slack.new_trigger_id(), view=MODAL))["view"]
    changed = {**MODAL, "blocks": [section("Sent.")]}
    with pytest.raises(SlackApiError, match="hash_conflict"):
        await web.views_update(view_id=opened["id"], hash="1.stale", view=changed)
    updated = await web.views_update(view_id=opened["id"], hash=opened["hash"], view=changed)
    assert slack.open_views()[0]["blocks"] == [section("Sent.")] == updated["view"]["blocks"]
    with pytest.raises(SlackApiError, match="not_found"):
        await web.views_update(view_id="V9999999999", view=changed)

    home = {"type": "home", "blocks": [section("3 cases due this week")]}
    await web.views_publish(user_id="U0STAFF001", view=home)
    assert slack.published_home("U0STAFF001")["blocks"] == home["blocks"]
    assert slack.published_home("U0OTHER001") is None

    long_title = {**MODAL, "title": {"type": "plain_text", "text": "t" * 25}}
    with pytest.raises(SlackApiError, match="invalid_arguments"):
        await web.views_open(trigger_id=slack.new_trigger_id(), view=long_title)


async def test_people_groups_channels_and_ephemeral_messages(slack: Any) -> None:
    slack.add_user("U0STAFF001", name="sato", real_name="Sato Hanako", email="sato@example.jp")
    slack.add_user("U0OUTSIDE1", name="guest", channels=())
    slack.set_usergroup("S0APPROVER", ["U0STAFF001"])
    web = client(slack)
    with pytest.raises(SlackApiError, match="missing_scope"):  # the desk's app has no users:read
        await web.users_info(user="U0STAFF001")
    slack.set_scopes(sd.manifest_scopes() | {"users:read"})
    user = (await web.users_info(user="U0STAFF001"))["user"]
    assert (user["real_name"], user["profile"]["email"], user["is_bot"]) == (
        "Sato Hanako",
        "sato@example.jp",
        False,
    )
    with pytest.raises(SlackApiError, match="user_not_found"):
        await web.users_info(user="U0NOBODY01")
    assert (await web.usergroups_users_list(usergroup="S0APPROVER"))["users"] == ["U0STAFF001"]
    with pytest.raises(SlackApiError, match="no_such_subteam"):
        await web.usergroups_users_list(usergroup="S0NOSUCH00")
    info = (await web.conversations_info(channel=CHANNEL))["channel"]
    assert (info["id"], info["name"], info["is_member"]) == (CHANNEL, "privacy-desk", True)

    sent = await web.chat_postEphemeral(channel=CHANNEL, user="U0STAFF001", text="only you")
    assert sent["message_ts"]
    with pytest.raises(SlackApiError, match="user_not_in_channel"):
        await web.chat_postEphemeral(channel=CHANNEL, user="U0OUTSIDE1", text="x")
    assert [(e["user"], e["text"]) for e in slack.ephemeral(CHANNEL)] == [
        ("U0STAFF001", "only you")
    ]
    assert slack.messages(CHANNEL) == []  # ephemeral messages are not in the channel
    with pytest.raises(SlackApiError, match="channel_not_found"):
        await web.chat_postEphemeral(channel="C0NOSUCH00", user="U0STAFF001", text="x")

    # chat.postMessage to a user ID: the app's direct messages with that person
    direct = await web.chat_postMessage(channel="U0OUTSIDE1", text="only for you")
    assert direct["channel"].startswith("D")
    assert [m["text"] for m in slack.direct_messages("U0OUTSIDE1")] == ["only for you"]
    assert slack.messages(CHANNEL) == [] and slack.direct_messages("U0STAFF001") == []
    slack.add_user("U0BOTUSER1", name="other-bot", is_bot=True)
    with pytest.raises(SlackApiError, match="cannot_dm_bot"):
        await web.chat_postMessage(channel="U0BOTUSER1", text="x")


async def test_unknown_methods_answer_200_unknown_method(slack: Any) -> None:
    with pytest.raises(SlackApiError) as caught:
        await client(slack).api_call("chat.scheduleEverything", json={"channel": CHANNEL})
    assert (caught.value.response.status_code, caught.value.response["error"]) == (
        200,
        "unknown_method",
    )


async def test_down_refuses_connections_and_up_listens_on_the_same_port(slack: Any) -> None:
    web = client(slack, retry_handlers=[])
    await web.auth_test()
    port = slack.port
    slack.down()
    with pytest.raises(aiohttp.ClientConnectorError):
        await web.auth_test()
    slack.up()
    assert slack.port == port
    assert (await web.auth_test())["ok"] is True
    assert len(slack.calls("auth.test")) == 2  # nothing reached it while down


async def test_async_context_manager() -> None:
    async with sd.SlackDouble() as double:
        await client(double).chat_postMessage(channel=CHANNEL, text="hi")
        assert [m["text"] for m in double.messages()] == ["hi"]
    with pytest.raises(aiohttp.ClientConnectorError):
        await client(double, retry_handlers=[]).auth_test()


def _verifies(request: Any, secret: str = SECRET) -> bool:
    return SignatureVerifier(secret).is_valid_request(request.body, request.headers)


def test_signed_requests_verify_and_tampered_or_stale_ones_do_not() -> None:
    click = sd.block_actions(
        user_id="U0STAFF001",
        action_id="approve",
        value="PD-2026-000123",
        trigger_id="1.2.abc",
        message_ts="1700000000.000100",
    )
    requests = [
        sd.interaction(click, SECRET),
        sd.interaction(
            sd.view_submission(user_id="U0STAFF001", callback_id="approve_reply", values={}), SECRET
        ),
        sd.slash_command("case PD-2026-000123", SECRET, user_id="U0STAFF001", trigger_id="1.2.abc"),
        sd.event(sd.event_callback(sd.app_home_opened("U0STAFF001")), SECRET),
        sd.event(sd.url_verification("challenge-xyz"), SECRET),
    ]
    assert all(_verifies(r) for r in requests)
    signed = requests[0]
    tampered = sd.SlackRequest(signed.body.replace("approve", "reject"), signed.headers)
    assert not _verifies(tampered)
    assert not _verifies(signed, secret="another-secret")
    stale = sd.interaction(click, SECRET, timestamp=int(time.time()) - 301)
    assert not _verifies(stale)
    assert _verifies(sd.interaction(click, SECRET, timestamp=int(time.time()) - 299))


async def test_bolt_app_handles_a_signed_click_against_the_double(slack: Any) -> None:
    """The whole loop a bot test will use: a signed click dispatched to an AsyncApp whose
    client is the double; bolt authorizes with auth.test and the handler opens a modal."""
    app = AsyncApp(signing_secret=SECRET, client=client(slack))

    @app.action("approve")
    async def approve(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await client.views_open(trigger_id=body["trigger_id"], view=MODAL)
        await client.chat_postMessage(
            channel=body["container"]["channel_id"],
            thread_ts=body["container"]["message_ts"],
            text=f"<@{body['user']['id']}> is approving {body['actions'][0]['value']}",
        )

    top = await client(slack).chat_postMessage(channel=CHANNEL, text="PD-2026-000123")
    click = sd.block_actions(
        user_id="U0STAFF001",
        action_id="approve",
        value="PD-2026-000123",
        trigger_id=slack.new_trigger_id("U0STAFF001"),
        message_ts=top["ts"],
    )
    signed = sd.interaction(click, SECRET)
    response = await app.async_dispatch(
        AsyncBoltRequest(body=signed.body, headers=signed.multi_headers())
    )
    assert response.status == 200
    await settle()  # bolt answers at the ack; the handler's calls come after
    assert slack.calls("auth.test")
    assert [v["callback_id"] for v in slack.open_views()] == ["approve_reply"]
    assert (
        slack.thread(CHANNEL, top["ts"])[1]["text"] == "<@U0STAFF001> is approving PD-2026-000123"
    )

    forged = sd.interaction(click, "not-the-secret")
    refused = await app.async_dispatch(
        AsyncBoltRequest(body=forged.body, headers=forged.multi_headers())
    )
    assert refused.status == 401


def test_apps_connections_open_takes_only_the_app_level_token(slack: Any) -> None:
    opened = WebClient(base_url=slack.base_url).apps_connections_open(app_token=slack.app_token)
    assert opened["url"].startswith(f"ws://127.0.0.1:{slack.port}/link/?ticket=")
    for token, error in ((slack.bot_token, "not_allowed_token_type"), ("xapp-1-X", "invalid_auth")):
        with pytest.raises(SlackApiError, match=error):
            WebClient(base_url=slack.base_url).apps_connections_open(app_token=token)
    with pytest.raises(SlackApiError, match="not_allowed_token_type"):  # and nothing else
        WebClient(token=slack.app_token, base_url=slack.base_url).auth_test()


async def test_socket_mode_greets_delivers_envelopes_and_records_acks(slack: Any) -> None:
    web = AsyncWebClient(base_url=slack.base_url)
    url = (await web.apps_connections_open(app_token=slack.app_token))["url"]
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        hello = await ws.receive_json(timeout=5)
        assert hello["type"] == "hello" and hello["connection_info"]["app_id"] == sd.APP_ID
        event = sd.event_callback(sd.app_home_opened("U0STAFF001"))
        envelope_id = await asyncio.to_thread(slack.push, "events_api", event)
        envelope = await ws.receive_json(timeout=5)
        assert envelope == {
            "envelope_id": envelope_id,
            "payload": event,
            "type": "events_api",
            "accepts_response_payload": False,
            "retry_attempt": 0,
            "retry_reason": "",
        }
        await ws.send_json({"envelope_id": envelope_id})
        await ws.send_str("not json")  # ignored, as is anything without an envelope_id
        await eventually_async(slack.acks, "the ack recorded")
        assert slack.acks() == [sd.SocketAck(envelope_id, None, 1)]
        await asyncio.to_thread(slack.disconnect_sockets)
        assert (await ws.receive_json(timeout=5))["reason"] == "refresh_requested"
        # a ticket opens one connection only
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(url)
        assert refused.value.status == 401
    await eventually_async(lambda: slack.open_sockets() == 0, "the connection closed")
    assert slack.open_sockets() == 0 and slack.socket_connections() == 1
    assert slack.acks() == [sd.SocketAck(envelope_id, None, 1)]  # all it read, "not json" too
    with pytest.raises(RuntimeError, match="no Socket Mode connection"):
        await asyncio.to_thread(slack.push, "events_api", event)
    with pytest.raises(ValueError):
        slack.push("hello", {})


async def test_a_bolt_app_answers_a_slash_command_over_the_socket(slack: Any) -> None:
    app = AsyncApp(client=client(slack))

    @app.command("/privacy")
    async def privacy(ack: Any, command: dict[str, Any]) -> None:
        await ack(text=f"open cases for <@{command['user_id']}>")

    handler = AsyncSocketModeHandler(app, slack.app_token)
    try:
        await handler.connect_async()
        await eventually_async(slack.socket_connections, "the app connected")
        form = sd.slash_command("open", SECRET, user_id="U0STAFF001", trigger_id="1.2.abc").body
        envelope_id = await asyncio.to_thread(
            slack.push, "slash_commands", dict(urllib.parse.parse_qsl(form))
        )
        await eventually_async(slack.acks, "the command acked")
        assert slack.acks() == [
            sd.SocketAck(envelope_id, {"text": "open cases for <@U0STAFF001>"}, 1)
        ]
    finally:
        await handler.close_async()


async def test_a_method_without_its_scope_answers_missing_scope_as_slack_does(slack: Any) -> None:
    slack.add_channel("G0PRIVATE1", name="private-desk", is_private=True)
    web = client(slack)
    granted = sd.manifest_scopes()
    slack.set_scopes(granted - {"groups:read"})
    await web.conversations_members(channel=slack.channel)  # public: channels:read is enough
    with pytest.raises(SlackApiError) as refused:
        await web.conversations_members(channel="G0PRIVATE1")
    answer = refused.value.response
    assert answer["error"] == "missing_scope" and answer["needed"] == "groups:read"
    assert answer["provided"] == ",".join(sorted(granted - {"groups:read"}))
    slack.set_scopes(frozenset())
    for call in (
        web.chat_postMessage(channel=slack.channel, text="x"),
        web.usergroups_users_list(usergroup="S0NOBODY01"),
        web.conversations_info(channel=slack.channel),
        web.conversations_history(channel=slack.channel),
    ):
        with pytest.raises(SlackApiError, match="missing_scope"):
            await call
    assert (await web.auth_test())["ok"]  # no scope needed


def test_every_method_the_double_serves_has_its_scope_in_the_table() -> None:
    served = set(sd._METHODS)
    assert served <= set(sd.SCOPES)


def test_members_of_a_channel_are_paged_and_follow_removals(slack: Any) -> None:
    for n in range(5):
        slack.add_user(f"U0MEMBER{n:02d}", name=f"m{n}")
    web = WebClient(token=slack.bot_token, base_url=slack.base_url)
    seen: list[str] = []
    cursor = ""
    while True:
        answer = web.conversations_members(channel=slack.channel, limit=2, cursor=cursor)
        seen += answer["members"]
        cursor = answer["response_metadata"]["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted([sd.BOT_USER_ID, *(f"U0MEMBER{n:02d}" for n in range(5))])
    slack.remove_member(slack.channel, "U0MEMBER03")
    assert "U0MEMBER03" not in web.conversations_members(channel=slack.channel)["members"]
