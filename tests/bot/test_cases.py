"""Decisions on a case (bot.cases.CaseDesk) on a real database: what each one changes, what it
refuses, what it records, and how the deadline follows."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.cases import CaseDesk
from bot.intake import Intake
from bot.replies import Replies, ReplyError, ReplySettings, Sender
from mail.smtp import parse_smtp_url
from storage import repo
from storage.db import writer
from storage.models import AuditEvent, Case, CasePause, Draft, LabelledExample

TOKYO = ZoneInfo("Asia/Tokyo")
RECEIVED = datetime(2026, 6, 1, 10, 0, tzinfo=TOKYO)  # a Monday
APPROVER = "U0APPROVE1"
STAFF = "U0STAFF001"
SETTINGS = ReplySettings.from_env(
    {"PD_FROM_ADDRESS": "privacy@example-hikaku.co.jp", "PD_APPROVERS": APPROVER}
)


def end_of(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 23, 59, 59, 999999, tzinfo=TOKYO)


class Desk:
    def __init__(self, engine: Engine, make_mail: Callable[..., bytes], **intake: object) -> None:
        self.engine, self.make_mail = engine, make_mail
        self.now = RECEIVED
        self.intake = Intake(engine, clock=self.clock, replies=SETTINGS, **intake)  # type: ignore[arg-type]
        self.replies = Replies(engine, SETTINGS, clock=self.clock)
        self.cases = CaseDesk(engine, self.replies, clock=self.clock)

    def clock(self) -> datetime:
        return self.now.astimezone(UTC)

    def open(self, body: str, **headers: str) -> str:
        result = self.intake.process(self.make_mail(body, date=self.now, **headers))
        assert result.ref is not None
        return result.ref

    def case(self, ref: str) -> Case:
        with Session(self.engine) as session:
            case = repo.case_by_ref(session, ref)
            assert case is not None
            return case

    def events(self, ref: str) -> list[AuditEvent]:
        with Session(self.engine) as session:
            found = repo.case_file(session, ref)
            assert found is not None
            return list(found.events)


@pytest.fixture
def desk(engine: Engine, make_mail: Callable[..., bytes]) -> Desk:
    return Desk(engine, make_mail)


def test_reclassifying_an_inquiry_as_a_deletion_changes_its_deadline(desk: Desk) -> None:
    ref = desk.open("個人情報の取り扱いについて教えてください。")
    before = desk.case(ref)
    assert before.intents == ["inquiry"]
    assert before.answer_due == end_of(2026, 6, 8)  # 5 business days

    desk.now = RECEIVED + timedelta(days=1)
    case = desk.cases.reclassify(ref, ["deletion"], actor=APPROVER)
    assert case.intents == ["deletion"] and case.kind == "privacy"
    # counted again from the receipt, not from the reclassification: 14 calendar days
    assert desk.case(ref).answer_due == end_of(2026, 6, 15)
    [event] = [e for e in desk.events(ref) if e.action == "reclassified"]
    assert event.actor == APPROVER
    assert event.detail["before"] == ["inquiry"] and event.detail["after"] == ["deletion"]
    with Session(desk.engine) as session:
        [example] = session.exec(select(LabelledExample)).all()
        file = repo.case_file(session, ref)
        assert file is not None
    assert example.intents == ["deletion"] and example.labelled_by == APPROVER
    assert example.message_id == file.messages[0].id and example.language == "ja"


def test_reclassifying_keeps_a_pause_and_is_refused_to_others(desk: Desk) -> None:
    ref = desk.open("個人情報の取り扱いについて教えてください。")
    with pytest.raises(ReplyError, match="not an approver"):
        desk.cases.reclassify(ref, ["deletion"], actor=STAFF)
    assert desk.case(ref).intents == ["inquiry"]
    assert [e.actor for e in desk.events(ref) if e.action == "reclassify refused"] == [STAFF]
    with pytest.raises(ReplyError, match="unknown intents: erase_everything"):
        desk.cases.reclassify(ref, ["erase_everything"], actor=APPROVER)
    assert [e for e in desk.events(ref) if e.action == "reclassified"] == []


def test_reclassifying_as_spam_leaves_no_deadline(desk: Desk) -> None:
    ref = desk.open("個人情報の取り扱いについて教えてください。")
    case = desk.cases.reclassify(ref, ["spam"], actor=APPROVER)
    assert (case.kind, case.intents, desk.case(ref).answer_due) == ("other", ["spam"], None)


def test_an_extension_where_the_law_allows_one_only_once(
    engine: Engine, make_mail: Callable[..., bytes]
) -> None:
    desk = Desk(engine, make_mail, jurisdiction="gdpr")
    ref = desk.open("Please delete all my personal data.", subject="Erasure request")
    assert desk.case(ref).answer_due == end_of(2026, 7, 1)  # one month
    desk.now = RECEIVED + timedelta(days=10)
    with pytest.raises(ReplyError, match="not an approver"):
        desk.cases.extend(ref, reason="complex", actor=STAFF)
    case, notice = desk.cases.extend(ref, reason="many systems to search", actor=APPROVER)
    assert desk.case(ref).answer_due == end_of(2026, 9, 1)  # one month + two
    assert (case.extended_by, case.extension_reason) == (APPROVER, "many systems to search")
    assert notice.template == "extension_notice" and notice.status == "draft"
    assert "many systems to search" in notice.body and "2026" in notice.body
    with pytest.raises(ReplyError, match="already extended once"):
        desk.cases.extend(ref, reason="still more", actor=APPROVER)
    assert desk.case(ref).answer_due == end_of(2026, 9, 1)
    refused = [e.detail["reason"] for e in desk.events(ref) if e.action == "extend refused"]
    assert len(refused) == 2 and "already extended once" in refused[1]


def test_no_extension_under_appi_and_none_after_the_deadline(
    desk: Desk, engine: Engine, make_mail: Callable[..., bytes]
) -> None:
    ref = desk.open("私の個人情報を削除してください。")
    with pytest.raises(ReplyError, match="no extension is allowed"):
        desk.cases.extend(ref, reason="調査に時間がかかるため", actor=APPROVER)
    assert desk.case(ref).extended_at is None
    gdpr = Desk(engine, make_mail, jurisdiction="gdpr")
    late = gdpr.open("Please delete my data.", subject="Erasure")
    gdpr.now = RECEIVED + timedelta(days=40)
    with pytest.raises(ReplyError, match="before the deadline"):
        gdpr.cases.extend(late, reason="complex", actor=APPROVER)


def test_asking_for_documents_stops_the_clock_only_once_the_mail_is_approved(
    desk: Desk,
) -> None:
    ref = desk.open("私の個人情報を削除してください。")
    draft = desk.cases.ask(ref, kind="identity", needed=["運転免許証の写し"], actor=STAFF)
    assert draft.template == "identity_request" and "運転免許証の写し" in draft.body
    assert desk.case(ref).answer_due == end_of(2026, 6, 15)  # drafting stops nothing
    desk.now = RECEIVED + timedelta(days=1)
    desk.replies.approve(draft.id or 0, approver=APPROVER)
    case = desk.case(ref)
    assert case.status == "awaiting_verification" and case.answer_due is None
    with Session(desk.engine) as session:
        [pause] = session.exec(select(CasePause)).all()
    assert pause.reason == "identity documents" and pause.ended_at is None
    # the requester answers five days later: the deadline moves by the days waited
    desk.now = RECEIVED + timedelta(days=6)
    desk.open(
        "運転免許証の写しを添付します。",
        subject=f"Re: [{ref}] 本人確認書類のご提出のお願い",
    )
    case = desk.case(ref)
    assert case.status == "in_progress" and case.answer_due == end_of(2026, 6, 20)


def test_asking_for_a_clarification_waits_on_the_requester(desk: Desk) -> None:
    ref = desk.open("個人情報の取り扱いについて教えてください。")
    draft = desk.cases.ask(ref, kind="clarification", needed=["対象のサービス名"], actor=STAFF)
    desk.replies.approve(draft.id or 0, approver=APPROVER)
    assert desk.case(ref).status == "awaiting_requester"
    with pytest.raises(ReplyError, match="identity or clarification"):
        desk.cases.ask(ref, kind="passport", needed=["x"], actor=STAFF)
    with pytest.raises(ReplyError, match="at least one"):
        desk.cases.ask(ref, kind="identity", needed=["  "], actor=STAFF)


def test_a_refusal_is_drafted_with_its_reasons_and_rejects_the_case_once_sent(
    desk: Desk, smtp_server: Any
) -> None:
    ref = desk.open("私の個人情報を開示してください。")
    with pytest.raises(ReplyError, match="not an approver"):
        desk.cases.reject(ref, reasons=["x"], actor=STAFF)
    draft = desk.cases.reject(
        ref, reasons=["他の方の権利利益を害するおそれがあるため"], actor=APPROVER
    )
    assert draft.template == "refusal" and "他の方の権利利益を害するおそれ" in draft.body
    assert desk.case(ref).status != "rejected"  # not before the requester is told
    desk.replies.approve(draft.id or 0, approver=APPROVER)
    sender = Sender(desk.engine, parse_smtp_url(smtp_server.url()), clock=desk.clock)
    assert asyncio.run(sender.run_once()).sent == 1
    assert desk.case(ref).status == "rejected"
    with pytest.raises(ReplyError, match="is rejected"):
        desk.cases.close(ref, reason="done", actor=APPROVER)


def test_closing_discards_the_drafts_still_waiting(desk: Desk) -> None:
    ref = desk.open("私の個人情報を削除してください。")
    with pytest.raises(ReplyError, match="say why"):
        desk.cases.close(ref, reason=" ", actor=APPROVER)
    case = desk.cases.close(ref, reason="電話で取り下げの申し出", actor=APPROVER)
    assert case.status == "closed" and case.closed_at is not None
    with Session(desk.engine) as session:
        drafts = session.exec(select(Draft)).all()
    assert drafts and {d.status for d in drafts} == {"discarded"}
    [closed] = [e for e in desk.events(ref) if e.action == "case closed"]
    assert closed.detail["reason"] == "電話で取り下げの申し出"
    with pytest.raises(ReplyError):
        desk.replies.approve(drafts[0].id or 0, approver=APPROVER)


def test_assigning_records_who_handed_the_case_to_whom(desk: Desk) -> None:
    ref = desk.open("私の個人情報を削除してください。")
    desk.cases.assign(ref, to="U0TAKER001", actor=STAFF)
    desk.cases.assign(ref, to="U0TAKER001", actor=STAFF)  # again: nothing new
    assert desk.case(ref).assignee == "U0TAKER001"
    [event] = [e for e in desk.events(ref) if e.action == "assigned"]
    assert (event.actor, event.detail["to"]) == (STAFF, "U0TAKER001")
    with pytest.raises(ReplyError, match="no case PD-2026-999999"):
        desk.cases.assign("PD-2026-999999", to="U1", actor=STAFF)


def test_reclassifying_a_paused_case_moves_the_deadline_its_pause_kept(desk: Desk) -> None:
    ref = desk.open("個人情報の取り扱いについて教えてください。")  # an inquiry: due 6/8
    paused = datetime(2026, 6, 10, 10, tzinfo=TOKYO)
    with Session(writer(desk.engine)) as session:
        case = repo.case_by_ref(session, ref)
        assert case is not None
        repo.pause_case(session, case, at=paused, reason="clarification", actor=APPROVER)
        session.commit()
    later = datetime(2026, 6, 12, 10, tzinfo=TOKYO)
    with Session(desk.engine) as session:
        assert [c.ref for c in repo.list_cases(session, overdue_at=later)] == [ref]
    desk.now = paused + timedelta(hours=1)
    desk.cases.reclassify(ref, ["deletion"], actor=APPROVER)  # 14 days: due 6/15, not late then
    with Session(desk.engine) as session:
        assert repo.list_cases(session, overdue_at=later) == []
