"""Everything that happens to a case after its message is in the channel is told in its thread,
once each, in order: a follow-up from the requester, an approval, the mail going out, and so on —
through lost answers and a 429 storm, and without one broken thread holding up the others.
Slack is the local Web API double (tests/slack_double.py); the database is real."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.intake import Intake
from bot.replies import Replies, ReplySettings, Sender
from bot.slack.poster import THREAD_EVENT_TYPE, TOLD, CasePoster, PostSummary
from bot.words import words
from mail.smtp import parse_smtp_url
from storage import repo
from storage.models import AuditEvent, Case, Draft, ThreadPost

APPROVER = "U0APPROVE1"
SETTINGS = {"PD_FROM_ADDRESS": "privacy@example-hikaku.co.jp", "PD_APPROVERS": APPROVER}
BODY = "会員番号 8812 の佐藤花子です。私の個人情報を削除してください。"


class Desk:
    """Intake, replies and the Slack poster over one database and the Web API double."""

    def __init__(self, engine: Engine, slack: Any, make_mail: Callable[..., bytes]) -> None:
        self.engine, self.slack, self.make_mail = engine, slack, make_mail
        self.settings = ReplySettings.from_env(SETTINGS)
        self.intake = Intake(engine, replies=self.settings)
        self.replies = Replies(engine, self.settings)
        # No retry handlers: the poster alone decides what may be sent again.
        client = AsyncWebClient(token=slack.bot_token, base_url=slack.base_url, retry_handlers=[])
        self.poster = CasePoster(engine, client, slack.channel, words=words("en"))

    def request(self, n: int = 0, subject: str = "個人情報削除のお願い") -> str:
        result = self.intake.process(
            self.make_mail(
                BODY,
                sender=f"Hanako Sato <user{n}@example.jp>",
                subject=subject,
                message_id=f"<req-{n}@mail.example.jp>",
            )
        )
        assert result.action == "opened" and result.ref
        return result.ref

    def follow_up(self, n: int, k: int, subject: str) -> None:
        result = self.intake.process(
            self.make_mail(
                f"追記です（{k}）。購入履歴も削除してください。user{n}@example.jp",
                sender=f"Hanako Sato <user{n}@example.jp>",
                subject=subject,
                message_id=f"<req-{n}-{k}@mail.example.jp>",
                In_Reply_To=f"<req-{n}@mail.example.jp>",
            )
        )
        assert result.action == "linked"

    def run(self, **kw: Any) -> PostSummary:
        return asyncio.run(self.poster.run_once(**kw))

    def case(self, ref: str) -> Case:
        with Session(self.engine) as session:
            found = repo.case_by_ref(session, ref)
        assert found is not None and found.slack_ts is not None
        return found

    def lines(self, ref: str) -> list[str]:
        """The thread's replies that are not drafts (drafts carry the draft buttons)."""
        replies = self.slack.thread(self.slack.channel, self.case(ref).slack_ts)[1:]
        return [m["text"] for m in replies if "pd.draft." not in json.dumps(m.get("blocks"))]

    def ack_draft(self, ref: str) -> int:
        case = self.case(ref)
        with Session(self.engine) as session:
            [draft] = session.exec(select(Draft).where(Draft.case_id == case.id)).all()
        assert draft.id is not None
        return draft.id

    def told_calls(self) -> list[tuple[str, int]]:
        """(thread, audit id) of every thread line Slack took, in the order it took them."""
        out = []
        for call in self.slack.calls("chat.postMessage"):
            meta = call.params.get("metadata")
            meta = json.loads(meta) if isinstance(meta, str) else meta
            if call.error is None and (meta or {}).get("event_type") == THREAD_EVENT_TYPE:
                out.append((call.params["thread_ts"], int(meta["event_payload"]["audit"])))
        return out


@pytest.fixture
def desk(engine: Engine, slack: Any, make_mail: Callable[..., bytes]) -> Desk:
    return Desk(engine, slack, make_mail)


def test_a_follow_up_from_the_requester_shows_in_the_thread(desk: Desk) -> None:
    ref = desk.request(1)
    desk.run()
    assert desk.lines(ref) == []  # "case opened" is the parent, "draft prepared" the draft
    desk.follow_up(1, 2, subject="Re: 個人情報削除のお願い <!channel> 追加")
    summary = desk.run()
    assert summary.told == 1
    [told] = desk.lines(ref)
    assert told == (
        "A follow-up mail from the requester joined the case: "
        "“Re: 個人情報削除のお願い &lt;!channel&gt; 追加”. It reads as: deletion.\n"
        "From: u***@example.jp\n"
        "> 追記です（2）。購入履歴も削除してください。[email]"
    )  # the new text, redacted as the parent's excerpt is (PD_SLACK_MASK partial)
    sent = json.dumps([c.params for c in desk.slack.calls()], default=str, ensure_ascii=False)
    assert "user1@" not in sent

    # a note staff wrote in the thread is never posted back; nothing is told twice
    with Session(desk.engine) as session:
        repo.audit(session, desk.case(ref).id, APPROVER, "note", text="電話で確認します")
        session.commit()
    assert desk.run() == PostSummary()
    assert len(desk.lines(ref)) == 1


def test_an_approved_draft_sent_over_smtp_shows_in_the_thread(desk: Desk, smtp_server: Any) -> None:
    ref = desk.request(1)
    desk.run()
    draft_id = desk.ack_draft(ref)
    desk.replies.approve(draft_id, approver=APPROVER)
    sent = asyncio.run(Sender(desk.engine, parse_smtp_url(smtp_server.url())).run_once())
    assert sent.sent == 1 and len(smtp_server.received) == 1
    assert desk.run().told == 2
    approved, mailed = desk.lines(ref)
    assert approved == f"<@{APPROVER}> approved draft {draft_id}: the mail is queued."
    assert mailed.startswith("Mail sent to the requester: `ack` (outbox ")
    with Session(desk.engine) as session:
        posts = session.exec(select(ThreadPost).order_by(col(ThreadPost.audit_id))).all()
    assert [(p.state, bool(p.ts)) for p in posts] == [("posted", True)] * 2


@pytest.mark.parametrize("after_effect", [True, False], ids=["posted anyway", "not posted"])
def test_a_lost_answer_is_not_posted_twice(desk: Desk, after_effect: bool) -> None:
    ref = desk.request(1)
    desk.run()
    desk.replies.mark_verified(ref, actor=APPROVER, how="電話で確認")
    desk.slack.fail("chat.postMessage", status=500, after_effect=after_effect)
    summary = desk.run()
    assert (summary.uncertain, summary.told) == (1, 0) and summary.errors
    with Session(desk.engine) as session:
        [post] = session.exec(select(ThreadPost)).all()
    assert post.state == "uncertain"

    summary = desk.run()  # the thread is read before anything is posted again
    assert (summary.found, summary.told) == ((1, 0) if after_effect else (0, 1))
    [read] = desk.slack.calls("conversations.replies")
    assert read.params["include_all_metadata"] in (True, "true", "1", 1)
    assert desk.lines(ref) == [f"<@{APPROVER}> verified the identity: 電話で確認."]
    with Session(desk.engine) as session:
        [post] = session.exec(select(ThreadPost)).all()
    assert post.state == "posted"
    assert post.ts == desk.slack.thread(desk.slack.channel, desk.case(ref).slack_ts)[-1]["ts"]
    assert desk.run() == PostSummary()


def test_200_events_across_50_cases_through_a_429_storm_are_told_once_in_order(
    desk: Desk,
) -> None:
    refs = [desk.request(n) for n in range(50)]
    while len(desk.slack.messages()) < 50:
        desk.run()
    for k in range(4):  # the cases' events interleave, as they would on a busy desk
        for n, ref in enumerate(refs):
            if k in (0, 2):
                desk.follow_up(n, k, subject=f"Re: 追加のお願い {k}")
            elif k == 1:
                desk.replies.mark_verified(ref, actor=APPROVER, how="電話で確認")
            else:
                desk.replies.discard(desk.ack_draft(ref), actor=APPROVER)
    with Session(desk.engine) as session:
        events = session.exec(
            select(AuditEvent).where(col(AuditEvent.action).in_(TOLD)).order_by(AuditEvent.id)
        ).all()
    assert len(events) == 200

    assert desk.run(limit=40).told == 40  # some are told, then Slack starts refusing
    desk.slack.rate_limit("chat.postMessage", retry_after=2, times=6)
    waits = []
    for _ in range(20):
        summary = desk.run(limit=60)
        if summary.retry_after:
            waits.append(summary.retry_after)  # the serving loop sleeps this long
        elif summary == PostSummary():
            break
    assert waits == [2.0] * 6  # each 429 ended a pass and was honoured

    told = desk.told_calls()
    assert sorted(audit for _thread, audit in told) == sorted(e.id for e in events)  # once each
    by_thread: dict[str, list[int]] = defaultdict(list)
    for thread, audit in told:
        by_thread[thread].append(audit)
    assert len(by_thread) == 50
    assert all(ids == sorted(ids) and len(ids) == 4 for ids in by_thread.values())
    for ref in refs:
        lines = desk.lines(ref)
        assert [line.split(" ")[0] for line in lines] == [
            "A",
            f"<@{APPROVER}>",
            "A",
            f"<@{APPROVER}>",
        ]
        assert "追加のお願い 0" in lines[0] and "追加のお願い 2" in lines[2]
    with Session(desk.engine) as session:
        states = [p.state for p in session.exec(select(ThreadPost))]
    assert states == ["posted"] * 200


def test_a_thread_that_refuses_does_not_hold_up_the_others(
    desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    old, current = desk.request(1), desk.request(2)
    desk.run()
    # the first case's thread is in a channel since archived
    desk.slack.add_channel("C0OLDDESK1", name="privacy-old", is_archived=True)
    with Session(desk.engine) as session:
        case = repo.case_by_ref(session, old)
        assert case is not None
        case.slack_channel = "C0OLDDESK1"
        session.add(case)
        assert case.id is not None
        repo.add_draft(
            session, case.id, template="ack", language="ja", subject="受付", body="承りました。"
        )
        session.commit()
    for ref in (old, current):
        desk.replies.mark_verified(ref, actor=APPROVER, how="電話で確認")
    with caplog.at_level(logging.INFO, logger="privacy_desk.slack"):
        summary = desk.run()
    assert summary.told == 1 and summary.updated == 1 and summary.drafts == 0
    assert summary.errors == []  # nothing for the loop to back off for
    # its message (update), its new draft and its event were refused; each is said once
    assert summary.refused == [f"{old}: message_not_found", *[f"{old}: is_archived"] * 2]
    assert desk.lines(current) == [f"<@{APPROVER}> verified the identity: 電話で確認."]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert f"{old}: Slack refused chat_postMessage: is_archived" in logged
    assert "example.jp" not in logged

    # recorded: the broken thread is not asked again, the others go on
    calls = len(desk.slack.calls())
    desk.follow_up(2, 1, subject="Re: 追加")
    assert desk.run().told == 1
    assert not any(c.params.get("channel") == "C0OLDDESK1" for c in desk.slack.calls()[calls:])
    with Session(desk.engine) as session:
        states = sorted(p.state for p in session.exec(select(ThreadPost)))
    assert states == ["failed", "posted", "posted"]


def test_a_reminder_is_told_once_whoever_posts_it(desk: Desk) -> None:
    ref = desk.request(1)
    desk.run()
    case_id = desk.case(ref).id
    posted_by_scheduler = f"<@{APPROVER}> {ref} is due in 2 days; see its thread."
    left_to_us = f"<@{APPROVER}> {ref} is due tomorrow (2026-12-08 14:00 JST)."
    with Session(desk.engine) as session:
        repo.audit(session, case_id, "scheduler", "reminder", text=posted_by_scheduler, posted=True)
        repo.audit(session, case_id, "scheduler", "reminder", text=left_to_us)
        session.commit()
    assert desk.run().told == 1
    assert desk.lines(ref) == [left_to_us]  # the scheduler's own post is not made again
    with Session(desk.engine) as session:
        assert [p.state for p in session.exec(select(ThreadPost))] == ["posted", "posted"]
    assert desk.run() == PostSummary()
