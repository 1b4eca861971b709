"""The same request sent twice makes two cases; an approver merges the duplicate into the other,
on the command line or with the **Merge into…** form in the case's Slack thread. Every mail then
lies under the case merged into, the duplicate is closed with the flag ``merged_into``, both audit
trails say who merged what into what, the earlier receipt sets the deadline, and the monthly
report counts one request. Two different requesters' cases merge only when forced (audited as
such); anyone but an approver is refused. Staff see a requester's other cases — by address, or
by the same name and phone — and a namesake's are not among them (issue 14)."""

from __future__ import annotations

import asyncio
import json
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

from bot import report
from bot.cases import CaseDesk
from bot.cli import main
from bot.intake import Intake
from bot.replies import Replies, ReplySettings
from bot.slack.app import build_app
from bot.slack.blocks import ACTIONS
from bot.slack.poster import CasePoster
from bot.words import words
from handlers.stats import Month
from storage import repo
from storage.models import AuditEvent, Case, Draft

EN = words("en")  # the staff texts these assertions read

TOKYO = ZoneInfo("Asia/Tokyo")
SECRET = "signing-secret-of-the-test"
APPROVER, STAFF, STRANGER = "U0APPROVE1", "U0STAFF001", "U0STRANGE1"
DESK = "privacy@example-hikaku.co.jp"
SETTINGS = {"PD_FROM_ADDRESS": DESK, "PD_APPROVERS": f"sato {APPROVER}"}
HANAKO = "佐藤 花子 <hanako@example.jp>"
REQUEST = "私の個人情報をすべて削除してください。\n\n佐藤 花子\n電話 090-1234-5678\n"
NOVEMBER = Month.parse("2026-11")


def tokyo(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 11, day, hour, 0, tzinfo=TOKYO)


def double() -> Any:
    return sys.modules["slack_double"]


class Desk:
    """The desk with its clock set by the test, and the Slack app of its channel."""

    def __init__(self, engine: Engine, make_mail: Callable[..., bytes]) -> None:
        self.engine, self.make_mail = engine, make_mail
        self.settings = ReplySettings.from_env(SETTINGS)
        self.now = tokyo(2)

    def clock(self) -> datetime:
        return self.now.astimezone(UTC)

    def take(
        self, body: str, when: datetime, *, sender: str = HANAKO, **headers: str
    ) -> tuple[str, str]:
        """A mail taken in at ``when``: (what intake did, its case)."""
        self.now = when
        raw = self.make_mail(
            body, sender=sender, subject="個人情報削除のお願い", date=when, **headers
        )
        result = Intake(self.engine, clock=self.clock, replies=self.settings).process(raw)
        assert result.ref is not None
        return result.action, result.ref

    def request(
        self, when: datetime, *, sender: str = HANAKO, body: str = REQUEST, **headers: str
    ) -> str:
        action, ref = self.take(body, when, sender=sender, **headers)
        assert action == "opened"
        return ref

    def case(self, ref: str) -> Case:
        with Session(self.engine) as session:
            case = repo.case_by_ref(session, ref)
        assert case is not None
        return case

    def inbound(self, ref: str) -> list[str]:
        with Session(self.engine) as session:
            return [m.message_id for m in repo.inbound_messages(session, self.case(ref).id or 0)]

    def events(self, ref: str, action: str) -> list[AuditEvent]:
        with Session(self.engine) as session:
            query = select(AuditEvent).where(
                AuditEvent.case_id == self.case(ref).id, AuditEvent.action == action
            )
            return list(session.exec(query))

    def waiting_drafts(self, ref: str) -> list[Draft]:
        with Session(self.engine) as session:
            return repo.drafts(session, case_id=self.case(ref).id, status="draft")

    def requests_counted(self) -> int:
        return report.build(self.engine, NOVEMBER, as_of=tokyo(30)).total.received


@pytest.fixture
def desk(
    engine: Engine,
    make_mail: Callable[..., bytes],
    database: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Desk:
    for name, value in {**SETTINGS, "PD_DATABASE_URL": database}.items():
        monkeypatch.setenv(name, value)
    return Desk(engine, make_mail)


def test_the_same_request_sent_twice_is_merged_on_the_command_line(
    desk: Desk, capsys: pytest.CaptureFixture[str]
) -> None:
    first = desk.request(tokyo(2), message_id="<first@mail.example.jp>")
    again = desk.request(tokyo(4))  # sent again two days later: a case of its own
    assert first != again and desk.requests_counted() == 2
    due_from_first = desk.case(first).answer_due
    assert desk.waiting_drafts(first)  # its acknowledgement, drafted

    # Not an approver: refused, one line, recorded; nothing moves.
    assert main(["merge", first, again, "--as", "mallory"]) == 2
    assert "mallory is not an approver" in capsys.readouterr().err
    assert [e.actor for e in desk.events(first, "merge refused")] == ["mallory"]
    assert main(["merge", first, first, "--as", "sato"]) == 2
    assert "cannot be merged into itself" in capsys.readouterr().err

    # The earlier request is merged into the later one: the first receipt started the clock.
    assert main(["merge", first, again, "--as", "sato"]) == 0
    assert f"{first} merged into {again}" in capsys.readouterr().out
    merged, into = desk.case(first), desk.case(again)
    assert (merged.status, merged.merged_into_id) == ("closed", into.id)
    assert "merged_into" in merged.flags
    assert desk.inbound(first) == [] and len(desk.inbound(again)) == 2
    assert desk.waiting_drafts(first) == []
    assert into.received_at == merged.received_at and into.answer_due == due_from_first
    [gone] = desk.events(first, "case merged")
    [came] = desk.events(again, "case merged in")
    assert (gone.actor, gone.detail["into"], gone.detail["forced"]) == ("sato", again, False)
    assert (came.actor, came.detail["from"], came.detail["forced"]) == ("sato", first, False)
    assert came.detail["received_at"] == merged.received_at.isoformat()
    assert desk.requests_counted() == 1  # one request, counted once

    # case REF says so; the duplicate cannot be merged again
    assert main(["case", first, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["merged_into"] == again
    assert main(["merge", first, again, "--as", "sato"]) == 2
    assert "merged into" in capsys.readouterr().err

    # Her reply in the duplicate's thread now joins the case it was merged into.
    action, ref = desk.take(
        "よろしくお願いします。", tokyo(5), In_Reply_To="<first@mail.example.jp>"
    )
    assert (action, ref) == ("linked", again)


def test_two_requesters_cases_merge_only_when_forced(
    desk: Desk, capsys: pytest.CaptureFixture[str]
) -> None:
    hers = desk.request(tokyo(2))
    other = desk.request(tokyo(3), sender="Taro Yamada <taro@example.com>")
    assert main(["merge", other, hers, "--as", "sato"]) == 2
    assert "different requesters" in capsys.readouterr().err
    assert desk.case(other).status == "new" and len(desk.inbound(hers)) == 1
    [refused] = desk.events(other, "merge refused")
    assert refused.detail["into"] == hers

    assert main(["merge", other, hers, "--as", "sato", "--force"]) == 0
    assert "forced" in capsys.readouterr().out
    assert len(desk.inbound(hers)) == 2
    [gone] = desk.events(other, "case merged")
    [came] = desk.events(hers, "case merged in")
    assert gone.detail["forced"] is True and came.detail["forced"] is True
    with Session(desk.engine) as session:  # his mail may join her case now
        assert "taro@example.com" in repo.addresses_of(session, desk.case(hers).id or 0)


class Channel:
    """Both cases posted in the channel, and the desk's Slack app answering clicks."""

    def __init__(self, desk: Desk, slack: Any, *, mask_mode: str = "partial") -> None:
        self.desk, self.slack = desk, slack
        for user in (APPROVER, STAFF):
            slack.add_user(user, name=user.lower())  # members of the case channel: staff
        slack.add_user(STRANGER, name="stranger", channels=())
        client = AsyncWebClient(token=slack.bot_token, base_url=slack.base_url, retry_handlers=[])
        self.poster = CasePoster(
            desk.engine, client, slack.channel, mask_mode=mask_mode, words=words("en")
        )
        replies = Replies(desk.engine, desk.settings, clock=desk.clock)
        self.app = build_app(
            desk.engine,
            replies,
            signing_secret=SECRET,
            client=client,
            channel=slack.channel,
            cases=CaseDesk(desk.engine, replies, clock=desk.clock),
            words=EN,
        )

    def post(self) -> None:
        asyncio.run(self.poster.run_once())

    def parent(self, ref: str) -> dict[str, Any]:
        [found] = [m for m in self.slack.messages() if ref in m["text"]]
        return dict(found)

    def thread(self, ref: str) -> list[str]:
        return [m["text"] for m in self.slack.thread(self.slack.channel, self.parent(ref)["ts"])]

    async def dispatch(self, payload: dict[str, Any]) -> str:
        signed = double().interaction(payload, SECRET)
        response = await self.app.async_dispatch(
            AsyncBoltRequest(body=signed.body, headers=signed.multi_headers())
        )
        await settle()
        assert response.status == 200
        return str(response.body or "")

    async def merge(self, user: str, ref: str, into: str, *, force: bool = False) -> str:
        """Click **Merge into…** on ``ref``'s parent and submit the form: Slack's answer ("" once
        the form closes), or "no form" when none opened."""
        opened = len(self.slack.open_views())
        await self.dispatch(
            double().block_actions(
                user_id=user,
                action_id=ACTIONS["merge"],
                value=ref,
                trigger_id=self.slack.new_trigger_id(user),
                message_ts=self.parent(ref)["ts"],
                block_id=f"case:{ref}",
            )
        )
        if len(self.slack.open_views()) == opened:
            return "no form"
        form = self.slack.open_views()[-1]
        checked = {"selected_options": [{"value": "force"}] if force else []}
        values = {
            "into": {"value": {"type": "plain_text_input", "value": into}},
            "force": {"value": {"type": "checkboxes", **checked}},
        }
        return await self.dispatch(
            double().view_submission(
                user_id=user,
                callback_id=form["callback_id"],
                private_metadata=form["private_metadata"],
                values=values,
            )
        )

    def told(self, user: str) -> list[str]:
        return [m["text"] for m in self.slack.ephemeral() if m["user"] == user]


def test_merged_in_the_slack_thread_and_both_threads_say_so(desk: Desk, slack: Any) -> None:
    first = desk.request(tokyo(2))
    again = desk.request(tokyo(4))
    taro = desk.request(tokyo(4, 11), sender="Taro Yamada <taro@example.com>")
    channel = Channel(desk, slack)
    channel.post()
    merge_button = json.dumps(channel.parent(first)["blocks"], ensure_ascii=False)
    assert ACTIONS["merge"] in merge_button and "Merge into…" in merge_button

    async def clicks() -> None:
        # a bystander gets the gate's refusal and no form; staff who are not approvers are
        # refused at the click
        assert await channel.merge(STRANGER, first, again) == "no form"
        assert await channel.merge(STAFF, first, again) == "no form"
        assert "not an approver" in channel.told(STAFF)[-1]
        # errors are said in the form
        answer = json.loads(await channel.merge(APPROVER, first, "PD-2026-99"))
        assert answer["response_action"] == "errors" and "into" in answer["errors"]
        answer = json.loads(await channel.merge(APPROVER, taro, again))
        assert "different requesters" in answer["errors"]["into"]
        assert desk.case(taro).status == "new"
        # the merge itself
        assert await channel.merge(APPROVER, first, again) == ""
        # and a forced one, shown as such
        assert await channel.merge(APPROVER, taro, again, force=True) == ""

    asyncio.run(clicks())
    assert all("PD-" not in t for t in channel.told(STRANGER))  # nothing names a case
    with Session(desk.engine) as session:  # the gate recorded the refusal, of no case
        gate = session.exec(select(AuditEvent).where(AuditEvent.action == "not staff")).all()
    assert [(e.actor, e.case_id) for e in gate] == [(STRANGER, None)]
    assert desk.case(first).merged_into_id == desk.case(again).id
    assert desk.case(taro).merged_into_id == desk.case(again).id
    assert len(desk.inbound(again)) == 3 and desk.requests_counted() == 1
    refused = [e.actor for e in desk.events(first, "merge refused")]
    assert refused == [STAFF]

    channel.post()
    said = " ".join(channel.thread(first))
    assert f"merged this case into {again}" in said
    said = " ".join(channel.thread(again))
    assert f"merged {first} into this case" in said
    assert f"merged {taro} into this case (forced: different requesters)" in said
    # the duplicate's parent shows it closed, with the flag and no merge button left
    blocks = json.dumps(channel.parent(first)["blocks"], ensure_ascii=False)
    merged_flag = EN("blocks.flag.merged_into")  # the flag, as staff read it
    assert "closed" in blocks and merged_flag in blocks and ACTIONS["merge"] not in blocks


def test_a_requesters_history_by_address_or_by_name_and_phone(
    desk: Desk, slack: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    oldest = desk.request(tokyo(2))
    assert main(["close", oldest, "--reason", "電話で回答済み", "--as", "sato"]) == 0
    by_address = desk.request(tokyo(5), body="私の個人情報を開示してください。")
    # from her work address: the same name, and the same phone written another way
    by_phone = desk.request(
        tokyo(9),
        sender="佐藤花子 様 <h.sato@work.example.co.jp>",
        body="個人情報の利用停止をお願いします。\n\n佐藤花子\nTEL: ０９０（１２３４）５６７８\n",
    )
    # a namesake: the same name, another address and another phone
    namesake = desk.request(
        tokyo(10),
        sender="佐藤 花子 <sato.hanako@other.example>",
        body="私の個人情報を削除してください。\n\n佐藤 花子\n電話 080-9999-0000\n",
    )
    capsys.readouterr()

    # Her first case lists both: one by address, one by name and phone (newest first).
    assert main(["case", oldest, "--json"]) == 0
    history = json.loads(capsys.readouterr().out)["history"]
    assert [(h["ref"], h["status"]) for h in history] == [(by_phone, "new"), (by_address, "new")]
    assert history[0]["received_at"] == desk.case(by_phone).received_at.isoformat()
    assert main(["case", oldest]) == 0
    shown = capsys.readouterr().out
    assert by_phone in shown and by_address in shown and namesake not in shown
    # each of the others finds her first case (a name and phone, or an address, in common)
    for ref in (by_phone, by_address):
        assert main(["case", ref, "--json"]) == 0
        assert [h["ref"] for h in json.loads(capsys.readouterr().out)["history"]] == [oldest]
    assert main(["case", namesake, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["history"] == []

    # On the Slack parent: references and statuses; under strict, references only.
    channel = Channel(desk, slack)
    channel.post()
    line = _history_line(channel.parent(oldest))
    assert line == f"Same requester: {by_phone} (new), {by_address} (new)"
    assert _history_line(channel.parent(namesake)) is None


def test_under_strict_masking_the_history_is_references_only(desk: Desk, slack: Any) -> None:
    older = desk.request(tokyo(2))
    newer = desk.request(tokyo(4))
    channel = Channel(desk, slack, mask_mode="strict")
    channel.post()
    assert _history_line(channel.parent(newer)) == f"Same requester: {older}"


def _history_line(parent: dict[str, Any]) -> str | None:
    lines = [
        e["text"]
        for b in parent["blocks"]
        if b["type"] == "context"
        for e in b["elements"]
        if e["text"].startswith("Same requester")
    ]
    return lines[0] if lines else None
