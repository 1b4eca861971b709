"""A Japanese privacy team works a case in Slack with the desk's default staff language
(PD_STAFF_LANGUAGE unset: ja): the case message, its buttons and confirmations, the draft and its
review, refusals (an approval, an extension the law does not offer), the thread lines, a reminder, an escalation and the daily digest are all in
Japanese. Every text the desk sent to Slack (the Web API double records each call) is read, and
no English word may be left in it — code spans (commands), references, mentions, links and
emoji aside."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine
from support import english, settle

from bot.intake import Intake
from bot.replies import Replies, ReplySettings
from bot.scheduler import Scheduler, SchedulerSettings
from bot.slack.app import build_app
from bot.slack.blocks import ACTIONS
from bot.slack.poster import CasePoster

SECRET = "signing-secret-of-the-japanese-team"
APPROVER, STRANGER = "U0APPROVE1", "U0STRANGE1"
DESK = {"PD_FROM_ADDRESS": "privacy@example-hikaku.co.jp", "PD_APPROVERS": APPROVER}
RECEIVED = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)  # Monday 10:00 in Tokyo


def texts(value: Any) -> Iterator[str]:
    """Every text a person reads in a Web API call's arguments: ``text`` strings, at any depth
    (blocks, elements, confirms, options, views) and the ``text`` of the message."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key in ("text", "title", "placeholder", "label", "hint") and isinstance(inner, str):
                yield inner
            elif key in ("blocks", "view", "attachments") and isinstance(inner, str):
                yield from texts(json.loads(inner))
            else:
                yield from texts(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from texts(inner)


def double() -> Any:
    return sys.modules["slack_double"]


@pytest.fixture
def desk(engine: Engine, slack: Any, make_mail: Callable[..., bytes]) -> Any:
    for user in (APPROVER, STRANGER):
        slack.add_user(user, name=user.lower())
    settings = ReplySettings.from_env(DESK)
    intake = Intake(engine, replies=settings, clock=lambda: RECEIVED)
    answered = intake.process(
        make_mail("私の個人情報を削除してください。", sender="hanako@example.jp")
    )
    late = intake.process(
        make_mail("登録されている私の情報を開示してください。", sender="jiro@example.jp")
    )
    assert answered.ref and late.ref
    replies = Replies(engine, settings, clock=lambda: RECEIVED + timedelta(hours=1))
    replies.mark_verified(answered.ref, actor=APPROVER, how="電話で確認")
    values = {"deleted": ["会員登録情報"], "done_on": date(2026, 11, 3)}
    draft = replies.draft(answered.ref, "deletion_done", values, editor=APPROVER)
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.base_url, retry_handlers=[])
    return engine, slack, client, replies, draft, answered.ref, late.ref


async def _click(app: Any, slack: Any, user: str, action: str, value: str, ts: str) -> None:
    payload = double().block_actions(
        user_id=user,
        action_id=ACTIONS[action],
        value=value,
        trigger_id=slack.new_trigger_id(user),
        message_ts=ts,
        message={"type": "message", "ts": ts, "thread_ts": ts},
    )
    signed = double().interaction(payload, SECRET)
    response = await app.async_dispatch(
        AsyncBoltRequest(body=signed.body, headers=signed.multi_headers())
    )
    await settle()
    assert response.status == 200


async def test_a_japanese_team_reads_every_slack_text_in_japanese(desk: Any) -> None:
    engine, slack, client, replies, draft, ref, late_ref = desk
    # no language given: the default, ja; with the Case file button PD_PUBLIC_URL brings
    poster = CasePoster(engine, client, slack.channel, case_file=True)
    for _ in range(5):
        await poster.run_once()
    app = build_app(engine, replies, signing_secret=SECRET, client=client, channel=slack.channel)
    parents = {m["ts"] for m in slack.messages()}
    assert len(parents) == 2
    value = f"{draft.id}:{draft.revision}"
    [ts] = [m["ts"] for m in slack.messages() if ref in json.dumps(m, ensure_ascii=False)]
    await _click(app, slack, STRANGER, "approve", value, ts)  # refused: not an approver
    await _click(app, slack, APPROVER, "review", value, ts)  # the whole draft, to the approver
    await _click(app, slack, APPROVER, "approve", value, ts)
    # Extend on a message drawn before the case changed: APPI offers none, said by the policies
    [late_ts] = [m["ts"] for m in slack.messages() if late_ref in json.dumps(m, ensure_ascii=False)]
    await _click(app, slack, APPROVER, "extend", late_ref, late_ts)
    for _ in range(3):
        await poster.run_once()  # the thread tells what happened
    scheduler = Scheduler(
        engine,
        client,
        slack.channel,
        SchedulerSettings.from_env({}),
        ReplySettings.from_env(DESK),
    )
    try:
        for day in (10, 16, 20):  # a reminder, the deadline passed and escalated, digests
            await scheduler.run_once(datetime(2026, 11, day, 0, 30, tzinfo=UTC))
    finally:
        scheduler.close()

    calls = [c for c in slack.calls() if c.method.startswith(("chat.", "views."))]
    said = [t for c in calls for t in texts(c.params)]
    assert said, "nothing was said in Slack"
    kinds = {c.method for c in calls}
    assert {"chat.postMessage", "chat.postEphemeral", "views.open"} <= kinds, kinds
    left = {t: english(t) for t in said if english(t)}
    assert not left, "English left in Slack texts:\n" + "\n".join(
        f"{words} in {text[:200]!r}" for text, words in left.items()
    )
    everything = "\n".join(said)
    refusals = ("は承認者ではありません", "の回答期限を延長できません")
    for japanese in ("ケースファイル", "承認して送信", "この本文", *refusals):
        assert japanese in everything, japanese  # buttons, the review, the refusal
    assert "日次ダイジェスト" in everything  # the digest
    assert f"{late_ref} は期限超過です" in everything or "期限超過" in everything  # reminders
    assert late_ref in everything  # the late case is named in its reminders and the digest


async def test_an_approver_outside_the_channel_is_told_why_in_a_direct_message(desk: Any) -> None:
    """An approver who is not in the case channel (PD_APPROVERS names them; they press from a
    shared link or left the channel) cannot be told ephemerally there: Slack answers
    user_not_in_channel. The refusal reaches them as a direct message from the app, in Japanese."""
    engine, slack, client, replies, draft, ref, late_ref = desk
    poster = CasePoster(engine, client, slack.channel)
    for _ in range(3):
        await poster.run_once()
    app = build_app(engine, replies, signing_secret=SECRET, client=client, channel=slack.channel)
    slack.remove_member(slack.channel, APPROVER)
    [ts] = [m["ts"] for m in slack.messages() if ref in json.dumps(m, ensure_ascii=False)]
    stale = f"{draft.id}:{draft.revision + 1}"  # a revision the draft never had
    await _click(app, slack, APPROVER, "approve", stale, ts)
    [late_ts] = [m["ts"] for m in slack.messages() if late_ref in json.dumps(m, ensure_ascii=False)]
    await _click(app, slack, APPROVER, "extend", late_ref, late_ts)
    refused = [c for c in slack.calls("chat.postEphemeral") if c.params.get("user") == APPROVER]
    assert {c.error for c in refused} == {"user_not_in_channel"}, refused
    told = [m["text"] for m in slack.direct_messages(APPROVER)]
    assert len(told) == 2, told
    assert told[0].startswith("承認できませんでした: ") and "ご覧になった版" in told[0]
    assert "延長できません" in told[1]
    assert not [t for t in told if english(t)], told
