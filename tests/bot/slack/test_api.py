"""The Slack adapter's one error tree (bot.slack.api): what the Web API double answers becomes
rate-limited, lost answer, refused or token problem, look-ups read history and threads, and a
revoked token stops the case poster, the scheduler and the monthly report the same way."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine
from sqlmodel import Session

from bot import report
from bot.replies import ReplySettings
from bot.scheduler import Scheduler, SchedulerSettings
from bot.slack.api import LostAnswer, RateLimited, Refused, SlackAPI, SlackError, TokenProblem
from bot.slack.poster import CasePoster
from handlers import sla
from handlers.stats import Month
from storage import repo
from storage.db import writer


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


# ---- every sender stops the same way -------------------------------------------------------

MONDAY = datetime(2026, 6, 1, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
HALF = MONDAY + timedelta(days=7, hours=8)  # past half of a deletion's 14 days


def _open(engine: Engine, requester: str) -> str:
    with Session(writer(engine)) as session:
        handle = repo.open_case(
            session,
            kind="privacy",
            intents=("deletion",),
            language="ja",
            requester=requester,
            requester_name="",
            received_at=MONDAY,
            ack_due=None,
            answer_due=sla.deadlines(MONDAY, ("deletion",)).answer_due,
            needs_triage=False,
            flags=(),
        )
        session.commit()
        return handle.ref


def test_a_revoked_token_stops_every_sender_the_same_way(engine: Engine, slack: Any) -> None:
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.base_url, retry_handlers=[])
    for i in range(2):
        _open(engine, f"user{i}@example.jp")
    assert asyncio.run(CasePoster(engine, client, slack.channel).run_once()).posted == 2
    reported: list[tuple[str, str]] = []
    scheduler = Scheduler(
        engine,
        client,
        slack.channel,
        SchedulerSettings(digest_time=None),
        ReplySettings.from_env({"PD_FROM_ADDRESS": "privacy@example.jp", "PD_APPROVERS": "sato"}),
        report=lambda state, detail: reported.append((state, detail)),
    )
    try:
        slack.revoke_token(slack.bot_token)
        for i in range(2, 4):
            _open(engine, f"user{i}@example.jp")
        before = len(slack.calls())
        posted = asyncio.run(CasePoster(engine, client, slack.channel).run_once())
        assert len(slack.calls()) == before + 1  # one call, then the pass ends
        assert posted.errors == ["Slack: token_revoked"] and posted.posted == 0
        before = len(slack.calls())
        chased = asyncio.run(scheduler.run_once(HALF))
        assert len(slack.calls()) == before + 1
        assert chased.errors == ["Slack: token_revoked"] and chased.reminders == 0
        assert reported == [("degraded", "1 errors, first: Slack: token_revoked; retrying")]
        month = Month.parse("2026-06")
        built = report.build(engine, month, as_of=HALF)
        problem = report.post_to_slack(built, client, slack.channel)
        assert problem == "Slack refused the report (token_revoked)"
    finally:
        scheduler.close()


async def test_a_user_not_in_the_channel_is_told_in_a_direct_message(slack: Any) -> None:
    """Slack answers chat.postEphemeral with user_not_in_channel (or channel_not_found) for
    someone who cannot see the channel: ``tell`` then says it in the app's direct messages."""
    slack.add_user("U0MEMBER01", name="member")
    slack.add_user("U0OUTSIDE1", name="approver", channels=())
    api = _api(slack)
    assert await api.tell("U0MEMBER01", "here", channel=slack.channel) == "ephemeral"
    assert await api.tell("U0OUTSIDE1", "elsewhere", channel=slack.channel) == "direct"
    assert await api.tell("U0OUTSIDE1", "gone", channel="C0GONE0001") == "direct"
    assert [(e["user"], e["text"]) for e in slack.ephemeral()] == [("U0MEMBER01", "here")]
    assert [m["text"] for m in slack.direct_messages("U0OUTSIDE1")] == ["elsewhere", "gone"]
    refused = [c.error for c in slack.calls("chat.postEphemeral") if c.error]
    assert refused == ["user_not_in_channel", "channel_not_found"]  # as Slack answers them
    assert slack.direct_messages("U0MEMBER01") == []
    slack.fail("chat.postEphemeral", error="msg_too_long")  # any other refusal is raised
    with pytest.raises(Refused, match="msg_too_long"):
        await api.tell("U0OUTSIDE1", "x", channel=slack.channel)
