"""A message the classifier read as a question was really an erasure request: an approver
reclassifies the case from its Slack thread, the deadline is counted again from the receipt under
the right policy, the parent message shows it, and the message is kept as a labelled example for
the classifier. Anyone else is refused. Slack is the Web API double; clicks and the modal's
submission are requests signed as Slack signs them."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine
from sqlmodel import Session, select
from support import settle

from bot.cases import CaseDesk
from bot.cli import main
from bot.intake import Intake
from bot.replies import Replies, ReplySettings
from bot.slack.app import build_app
from bot.slack.blocks import ACTIONS
from bot.slack.decisions import DECISIONS
from bot.slack.poster import CasePoster
from storage import repo
from storage.models import AuditEvent, LabelledExample

TOKYO = ZoneInfo("Asia/Tokyo")
RECEIVED = datetime(2026, 11, 2, 9, 30, tzinfo=TOKYO)  # a Monday
SECRET = "signing-secret-of-the-test"
APPROVER, STAFF = "U0APPROVE1", "U0STAFF001"
SETTINGS = ReplySettings.from_env(
    {"PD_FROM_ADDRESS": "privacy@example-hikaku.co.jp", "PD_APPROVERS": APPROVER}
)
BODY = (
    "お世話になっております。\n"
    "以前登録した電気料金比較の会員情報について、もう利用しないので、"
    "こちらで保管している私の情報はどのように扱われるのでしょうか。"
)


def double() -> Any:
    return sys.modules["slack_double"]


def clock() -> datetime:
    return RECEIVED.astimezone(UTC)


def test_an_approver_reclassifies_and_the_deadline_follows(
    engine: Engine,
    slack: Any,
    make_mail: Callable[..., bytes],
    tmp_path: Path,
    capsys: Any,
    monkeypatch: Any,
) -> None:
    for user in (APPROVER, STAFF):
        slack.add_user(user, name=user.lower())
    raw = make_mail(BODY, date=RECEIVED, sender="Taro Yamada <taro@example.jp>")
    result = Intake(engine, clock=clock, replies=SETTINGS).process(raw)
    assert result.ref is not None and result.intents == ("inquiry",)
    ref = result.ref
    # an inquiry: five business days (11/3 is Culture Day, a holiday)
    assert result.answer_due == datetime(2026, 11, 10, 23, 59, 59, 999999, tzinfo=TOKYO)

    client = AsyncWebClient(token=slack.bot_token, base_url=slack.base_url, retry_handlers=[])
    poster = CasePoster(engine, client, slack.channel, clock=clock)
    replies = Replies(engine, SETTINGS, clock=clock)
    app = build_app(
        engine,
        replies,
        signing_secret=SECRET,
        client=client,
        channel=slack.channel,
        cases=CaseDesk(engine, replies, clock=clock),
    )

    async def dispatch(payload: dict[str, Any]) -> int:
        signed = double().interaction(payload, SECRET)
        response = await app.async_dispatch(
            AsyncBoltRequest(body=signed.body, headers=signed.multi_headers())
        )
        await settle()
        return int(response.status)

    async def click(user: str, parent: dict[str, Any]) -> int:
        [button] = [
            e
            for b in parent["blocks"]
            if b["type"] == "actions"
            for e in b["elements"]
            if e["action_id"] == ACTIONS["reclassify"]
        ]
        return await dispatch(
            double().block_actions(
                user_id=user,
                action_id=button["action_id"],
                value=button["value"],
                trigger_id=slack.new_trigger_id(user),
                message_ts=parent["ts"],
                block_id=f"case:{ref}",
            )
        )

    async def scenario() -> None:
        await poster.run_once()
        [parent] = slack.messages()
        # the staff texts are in the default language, Japanese
        assert f"{ref} · 問い合わせ" in json.dumps(parent["blocks"], ensure_ascii=False)

        # someone who is not an approver: told why, recorded, no form opened
        assert await click(STAFF, parent) == 200
        assert slack.open_views() == []
        [told] = slack.ephemeral()
        assert told["user"] == STAFF and "は承認者ではありません" in told["text"]  # ja: the default

        # the approver opens the form: the current intents are chosen already
        assert await click(APPROVER, parent) == 200
        [form] = slack.open_views()
        assert form["callback_id"] == DECISIONS["reclassify"].callback_id
        [select_block] = [b for b in form["blocks"] if b.get("block_id") == "intents"]
        assert [o["value"] for o in select_block["element"]["initial_options"]] == ["inquiry"]
        chosen = [o for o in select_block["element"]["options"] if o["value"] == "deletion"]
        submitted = double().view_submission(
            user_id=APPROVER,
            callback_id=form["callback_id"],
            private_metadata=form["private_metadata"],
            values={
                "intents": {"value": {"type": "multi_static_select", "selected_options": chosen}}
            },
        )
        assert await dispatch(submitted) == 200

        # the parent message follows: the new intent and the deadline of an erasure request
        await poster.run_once()
        [parent] = slack.messages()
        shown = json.dumps(parent["blocks"], ensure_ascii=False)
        assert f"{ref} · 削除" in shown and "問い合わせ" not in shown
        assert "2026-11-16 23:59 JST" in shown

    asyncio.run(scenario())

    with Session(engine) as session:
        case = repo.case_by_ref(session, ref)
        assert case is not None and case.intents == ["deletion"]
        # fourteen calendar days from the receipt, not from the reclassification
        assert case.answer_due == datetime(2026, 11, 16, 23, 59, 59, 999999, tzinfo=TOKYO)
        events = {e.action: e for e in session.exec(select(AuditEvent))}
        assert events["reclassify refused"].actor == STAFF
        assert events["reclassified"].actor == APPROVER
        [example] = session.exec(select(LabelledExample)).all()
        assert example.intents == ["deletion"]

    # the labelled example goes into a corpus folder the classifier is measured on
    out = tmp_path / "examples"
    monkeypatch.setenv("PD_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    assert main(["examples", "export", str(out)]) == 0
    labels = [json.loads(line) for line in (out / "labels.jsonl").read_text().splitlines()]
    assert labels == [{"file": "001.eml", "intents": ["deletion"], "language": "ja"}]
    assert (out / "001.eml").read_bytes() == raw  # the message as it was received
    capsys.readouterr()
    assert main(["eval", str(out)]) == 0  # a corpus the classifier can be measured on
    assert "messages 1 " in capsys.readouterr().out
