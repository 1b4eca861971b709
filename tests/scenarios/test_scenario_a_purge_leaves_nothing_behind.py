"""Two deletion requests are answered through a ``file:`` outbox, their drafts and the lines of
what happened posted in their Slack threads. A lawyer puts one case on legal hold. When the
retention period has passed, the purge leaves nothing of the other behind: its drafts and lines
are deleted from Slack (``chat.delete``, not an edit), its parent message becomes a placeholder,
the ``.eml`` in the outbox folder is gone, its labelled example and its search index entries too
(a search no longer finds it by its words or name), and staff's words on how the identity was
checked are cleared. The held case survives the purge whole, until it is released."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.cli import main
from bot.intake import Intake
from bot.replies import Replies, ReplySettings, Sender
from bot.retention import purge
from bot.slack.poster import CasePoster
from mail.smtp import parse_smtp_url
from storage import repo, search, views
from storage.models import AuditEvent, Case, Draft, LabelledExample, MailMessage, ThreadPost

APPROVER = "U0APPROVE1"
SETTINGS = {"PD_FROM_ADDRESS": "privacy@example-hikaku.co.jp", "PD_APPROVERS": APPROVER}
HOW = "運転免許証の写しで確認（番号 123456789012）"
# The placeholder a purged case's parent becomes, in the staff language (ja unless set).
PURGED = "{ref}: 保存期間の方針に従って消去しました。この案件のメールと文面はもう保持していません。"


class Desk:
    def __init__(self, engine: Engine, slack: Any, make_mail: Callable[..., bytes], var: Path):
        self.engine, self.slack, self.make_mail = engine, slack, make_mail
        self.settings = ReplySettings.from_env(SETTINGS)
        self.replies = Replies(engine, self.settings)
        self.outbox = var / "outbox"
        self.sender = Sender(engine, parse_smtp_url(f"file:{self.outbox}"))
        client = AsyncWebClient(token=slack.bot_token, base_url=slack.base_url, retry_handlers=[])
        self.poster = CasePoster(engine, client, slack.channel)

    def answered_case(self, n: int) -> str:
        result = Intake(self.engine, replies=self.settings).process(
            self.make_mail(
                "私の個人情報をすべて削除してください。", sender=f"Hanako Sato <user{n}@example.jp>"
            )
        )
        assert result.action == "opened" and result.ref
        ref = result.ref
        asyncio.run(self.poster.run_once())
        self.replies.mark_verified(ref, actor=APPROVER, how=HOW)
        values = {"deleted": ["会員登録情報"], "done_on": date(2026, 3, 5)}
        draft = self.replies.draft(ref, "deletion_done", values, editor=APPROVER)
        asyncio.run(self.poster.run_once())  # the draft in the thread, with its buttons
        self.replies.approve(draft.id or 0, approver=APPROVER)
        assert asyncio.run(self.sender.run_once()).written == 1
        with Session(self.engine) as session:
            case = repo.case_by_ref(session, ref)
            assert case is not None and case.id is not None
            first = session.exec(select(MailMessage).where(MailMessage.case_id == case.id)).first()
            assert first is not None
            session.add(
                LabelledExample(
                    message_id=first.id, case_id=case.id, intents=["deletion"], labelled_by=APPROVER
                )
            )
            session.commit()
        asyncio.run(self.poster.run_once())  # the lines: verified, approved, written
        return ref

    def case(self, ref: str) -> Case:
        with Session(self.engine) as session:
            found = repo.case_by_ref(session, ref)
        assert found is not None and found.slack_ts is not None
        return found

    def found(self, text: str) -> set[str]:
        """The cases a search for ``text`` finds (by reference, their address only whole)."""
        with Session(self.engine) as session:
            return {c.ref for c in views.search(session, text, limit=10).cases}

    def indexed(self, ref: str) -> int:
        """How many pieces of the search index belong to the case."""
        with Session(self.engine) as session:
            return search.indexed(session, self.case(ref).id or 0)

    def thread(self, ref: str) -> list[dict[str, Any]]:
        thread: list[dict[str, Any]] = self.slack.thread(
            self.slack.channel, self.case(ref).slack_ts
        )
        return thread


@pytest.fixture
def desk(
    engine: Engine,
    slack: Any,
    make_mail: Callable[..., bytes],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Desk:
    monkeypatch.setenv("PD_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("PD_APPROVERS", APPROVER)
    return Desk(engine, slack, make_mail, tmp_path / "var")


def test_purge_leaves_nothing_in_slack_or_var_and_a_held_case_survives(
    desk: Desk, capsys: pytest.CaptureFixture[str]
) -> None:
    gone, held = desk.answered_case(1), desk.answered_case(2)
    for ref in (gone, held):
        assert len(desk.thread(ref)) >= 4  # parent, ack draft, answer draft, lines
    written = {p.name for p in desk.outbox.glob("*.eml")}
    assert len(written) == 2  # the two answers

    assert (
        main(["hold", held, "--reason", "東京地裁 令和8年(ワ)第123号", "--as", "U0NOBODY01"]) == 2
    )
    assert main(["hold", held, "--reason", "東京地裁 令和8年(ワ)第123号", "--as", APPROVER]) == 0
    capsys.readouterr()

    # One line's answer was lost when it was posted: the desk does not know its ts.
    with Session(desk.engine) as session:
        post = session.exec(
            select(ThreadPost).where(ThreadPost.case_id == desk.case(gone).id)
        ).first()
        assert post is not None and post.ts is not None
        post.state, post.ts = "uncertain", None
        session.add(post)
        session.commit()

    # Both are found by a word of their mail and by the requester's name, until purged.
    assert desk.found("すべて削除") == desk.found("hanako") == {gone, held}

    later = datetime.now(UTC) + timedelta(days=400)
    done = purge(desk.engine, later, 365, outbox_folder=desk.outbox)
    assert [c.ref for c in done.cases] == [gone] and done.held == [held]
    summary = asyncio.run(desk.poster.run_once())
    assert summary.errors == [] and summary.deleted >= 4

    # Slack: the purged case's thread is its placeholder parent alone, the rest deleted.
    [parent] = desk.thread(gone)
    assert parent["text"] == PURGED.format(ref=gone) and "Hanako" not in str(parent)
    deletes = desk.slack.calls("chat.delete")
    assert len(deletes) == summary.deleted and all(c.error is None for c in deletes)
    assert asyncio.run(desk.poster.run_once()).deleted == 0  # done once, recorded

    # var/: only the held case's mail is left in the outbox folder.
    with Session(desk.engine) as session:
        purged = repo.case_by_ref(session, gone)
        assert purged is not None and purged.id is not None
        assert purged.verified_how == ""
        assert (
            session.exec(select(LabelledExample).where(LabelledExample.case_id == purged.id)).all()
            == []
        )
        verified = session.exec(
            select(AuditEvent).where(
                AuditEvent.case_id == purged.id, AuditEvent.action == "identity verified"
            )
        ).one()
        assert verified.detail["how"] == ""
        drafts = session.exec(select(Draft).where(Draft.case_id == purged.id)).all()
        assert all(d.slack_ts is None and d.body == "" for d in drafts)
    left = {p.name for p in desk.outbox.glob("*.eml")}
    assert len(left) == 1 and left < written
    # The search index holds nothing of it any more: not its mail, not the requester's name.
    assert desk.indexed(gone) == 0 and desk.indexed(held) > 0
    assert desk.found("すべて削除") == desk.found("hanako") == {held}

    # The held case is whole: its thread, its files, its texts.
    assert len(desk.thread(held)) >= 4
    with Session(desk.engine) as session:
        kept = repo.case_by_ref(session, held)
        assert kept is not None and kept.purged_at is None and kept.verified_how == HOW
        actions = [
            e.action for e in session.exec(select(AuditEvent).where(AuditEvent.case_id == kept.id))
        ]
    assert "legal hold" in actions

    # Released, it goes at the next purge.
    assert main(["release", held, "--as", APPROVER]) == 0
    [again] = purge(desk.engine, later, 365, outbox_folder=desk.outbox).cases
    assert again.ref == held
    asyncio.run(desk.poster.run_once())
    assert [m["text"] for m in desk.thread(held)] == [PURGED.format(ref=held)]
    assert list(desk.outbox.glob("*.eml")) == []
    assert desk.indexed(held) == 0 and desk.found("すべて削除") == set()
