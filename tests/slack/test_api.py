"""The Slack adapter's one error tree (bot.slack.api): what the Web API double answers becomes
rate-limited, lost answer, refused or token problem, and look-ups page through history."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.api import LostAnswer, RateLimited, Refused, SlackAPI, SlackError, TokenProblem


def _api(slack: Any, answered: list[int] | None = None) -> SlackAPI:
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.base_url, retry_handlers=[])
    return SlackAPI(client, on_answer=None if answered is None else lambda: answered.append(1))


async def test_a_post_answers_its_ts(slack: Any) -> None:
    answered: list[int] = []
    ts = await _api(slack, answered).post(channel=slack.channel, text="hello")
    assert [m["ts"] for m in slack.messages()] == [ts]
    assert answered == [1]


@pytest.mark.parametrize(
    ("fault", "kind", "error", "answered"),
    [
        ({"status": 503}, LostAnswer, "HTTP 503", False),
        ({"error": "fatal_error"}, LostAnswer, "fatal_error", True),
        ({"error": "msg_too_long"}, Refused, "msg_too_long", True),
        ({"error": "channel_not_found"}, Refused, "channel_not_found", True),
        ({"error": "missing_scope"}, TokenProblem, "missing_scope", True),
        ({"error": "token_expired"}, TokenProblem, "token_expired", True),
    ],
)
async def test_each_failure_is_one_kind(
    slack: Any, fault: dict[str, Any], kind: type[SlackError], error: str, answered: bool
) -> None:
    slack.fail("chat.postMessage", **fault)
    told: list[int] = []
    with pytest.raises(kind) as raised:
        await _api(slack, told).post(channel=slack.channel, text="hello")
    assert (raised.value.error, raised.value.answered, bool(told)) == (error, answered, answered)
    assert raised.value.method == "chat_postMessage"


async def test_a_channel_refusal_says_so(slack: Any) -> None:
    slack.fail("chat.postMessage", error="is_archived")
    with pytest.raises(Refused) as raised:
        await _api(slack).post(channel=slack.channel, text="hello")
    assert raised.value.about_channel
    slack.fail("chat.postMessage", error="msg_too_long")
    with pytest.raises(Refused) as raised:
        await _api(slack).post(channel=slack.channel, text="hello")
    assert not raised.value.about_channel


async def test_a_revoked_token_and_a_rate_limit(slack: Any) -> None:
    slack.rate_limit("auth.test", retry_after=7)
    with pytest.raises(RateLimited) as limited:
        await _api(slack).probe()
    assert limited.value.retry_after == 7.0
    assert (await _api(slack).probe())["user_id"]
    slack.revoke_token(slack.bot_token)
    with pytest.raises(TokenProblem, match="token_revoked"):
        await _api(slack).probe()


async def test_slack_down_is_a_lost_answer(slack: Any) -> None:
    slack.down()
    try:
        with pytest.raises(LostAnswer) as lost:
            await _api(slack).post(channel=slack.channel, text="hello")
        assert not lost.value.answered
    finally:
        slack.up()


async def test_messages_of_a_thread_and_of_the_channel(slack: Any) -> None:
    api = _api(slack)
    parent = await api.post(channel=slack.channel, text="parent")
    for i in range(3):
        await api.post(channel=slack.channel, thread_ts=parent, text=f"reply {i}")
    await api.post(channel=slack.channel, text="later")
    texts = [m["text"] async for m in api.messages(slack.channel, thread=parent)]
    assert texts == ["parent", "reply 0", "reply 1", "reply 2"]
    texts = [m["text"] async for m in api.messages(slack.channel, limit=1)]
    assert texts == ["later"]  # the double has no next page: one call
    assert len(slack.calls("conversations.history")) == 1
