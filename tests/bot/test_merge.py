"""``CaseDesk.merge``'s rules beyond the scenario: what it refuses (a finished or purged case, a
case on legal hold, mail still queued), what the merged case takes over (triage, intents, the
earlier receipt) and what follows the mail (verification codes, unless the merge is forced)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot import retention
from bot.cases import CaseDesk
from bot.intake import Intake
from bot.replies import Replies, ReplyError, ReplySettings, Sender
from mail.smtp import parse_smtp_url
from storage import repo
from storage.models import Case, Verification

APPROVER = "sato"
SETTINGS = ReplySettings.from_env(
    {"PD_FROM_ADDRESS": "privacy@example-hikaku.co.jp", "PD_APPROVERS": APPROVER}
)
START = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)


class Desk:
    def __init__(self, engine: Engine, make_mail: Callable[..., bytes]) -> None:
        self.engine, self.make_mail = engine, make_mail
        self.now = START
        self.replies = Replies(engine, SETTINGS, clock=self.clock)
        self.cases = CaseDesk(engine, self.replies, clock=self.clock)

    def clock(self) -> datetime:
        return self.now

    def request(self, body: str, *, days: int = 0, sender: str = "hanako@example.jp") -> str:
        self.now = START + timedelta(days=days)
        raw = self.make_mail(body, sender=sender, date=self.now)
        result = Intake(self.engine, clock=self.clock, replies=SETTINGS).process(raw)
        assert result.action == "opened" and result.ref
        return result.ref

    def case(self, ref: str) -> Case:
        with Session(self.engine) as session:
            found = repo.case_by_ref(session, ref)
        assert found is not None
        return found

    def codes(self, ref: str) -> int:
        with Session(self.engine) as session:
            query = select(Verification).where(Verification.case_id == self.case(ref).id)
            return len(session.exec(query).all())


@pytest.fixture
def desk(engine: Engine, make_mail: Callable[..., bytes]) -> Desk:
    return Desk(engine, make_mail)


DELETE = "私の個人情報をすべて削除してください。"


def test_a_finished_or_purged_case_is_neither_merged_nor_merged_into(desk: Desk) -> None:
    first, second = desk.request(DELETE), desk.request(DELETE, days=1)
    desk.cases.close(second, reason="電話で対応済み", actor=APPROVER)
    with pytest.raises(ReplyError, match=f"{second} is closed"):
        desk.cases.merge(first, second, actor=APPROVER)
    with pytest.raises(ReplyError, match=f"{second} is closed"):
        desk.cases.merge(second, first, actor=APPROVER)
    with pytest.raises(ReplyError, match="no case PD-2026-999999"):
        desk.cases.merge(first, "pd-2026-999999", actor=APPROVER)
    assert desk.case(first).status == "new"


def test_a_held_case_is_not_merged_away_but_may_take_a_duplicate(desk: Desk) -> None:
    held, other = desk.request(DELETE), desk.request(DELETE, days=1)
    retention.hold(
        desk.engine, held, actor=APPROVER, reason="訴訟", approvers=[APPROVER], now=desk.now
    )
    with pytest.raises(ReplyError, match="legal hold"):
        desk.cases.merge(held, other, actor=APPROVER)
    into = desk.cases.merge(other, held, actor=APPROVER)  # the hold now covers its mail too
    assert into.ref == held and desk.case(other).merged_into_id == into.id


def test_an_undecided_duplicate_keeps_the_merged_case_in_triage(desk: Desk) -> None:
    decided = desk.request(DELETE)
    unsure = desk.request("先日の件、どうなっていますか。", days=1)
    assert desk.case(unsure).needs_triage and not desk.case(decided).needs_triage
    into = desk.cases.merge(unsure, decided, actor=APPROVER)
    # nobody has decided what the duplicate asks: the strictest rights clock holds (rule 6)
    assert into.needs_triage and into.triage_due == desk.case(unsure).triage_due
    assert into.received_at == desk.case(decided).received_at  # the earlier one stays


def test_queued_mail_waits_and_codes_follow_an_unforced_merge_only(
    desk: Desk, tmp_path: Path
) -> None:
    first, second = desk.request(DELETE), desk.request(DELETE, days=1)
    desk.replies.send_code(first, approver=APPROVER)
    with pytest.raises(ReplyError, match="waiting in the outbox"):
        desk.cases.merge(first, second, actor=APPROVER)
    sender = Sender(desk.engine, parse_smtp_url(f"file:{tmp_path}/outbox"), clock=desk.clock)
    assert asyncio.run(sender.run_once()).written == 1
    desk.cases.merge(first, second, actor=APPROVER)
    assert (desk.codes(first), desk.codes(second)) == (0, 1)  # her code still proves her

    third = desk.request(DELETE, days=2, sender="taro@example.com")
    desk.replies.send_code(third, approver=APPROVER)
    assert asyncio.run(sender.run_once()).written == 1
    desk.cases.merge(third, second, actor=APPROVER, force=True)
    assert (desk.codes(third), desk.codes(second)) == (1, 1)  # his proves nothing about hers


def test_a_purge_takes_the_phone_and_with_it_the_name_and_phone_match(desk: Desk) -> None:
    signed = "\n\n佐藤 花子\n電話 090-1234-5678\n"
    old = desk.request(DELETE + signed, sender="佐藤 花子 <hanako@example.jp>")
    desk.cases.close(old, reason="回答済み", actor=APPROVER)
    new = desk.request(DELETE + signed, days=400, sender="佐藤 花子 <h.sato@work.example>")
    assert desk.case(old).requester_phone == "09012345678"
    with Session(desk.engine) as session:
        assert [c.ref for c in repo.requester_history(session, desk.case(new))] == [old]
    summary = retention.purge(desk.engine, START + timedelta(days=400), 30)
    assert [c.ref for c in summary.cases] == [old]
    assert desk.case(old).requester_phone == ""
    with Session(desk.engine) as session:
        assert repo.requester_history(session, desk.case(new)) == []
