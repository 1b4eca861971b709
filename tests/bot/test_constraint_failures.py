"""A failed constraint is never read as "duplicate" unless the same bytes are stored, and an
approval whose mail cannot be queued is refused to the approver, on the record (issue 16)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NoReturn

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.intake import Intake
from bot.replies import Replies, ReplyError, ReplySettings
from storage import repo

START = datetime(2026, 3, 3, 0, 5, tzinfo=UTC)
SETTINGS = {"PD_FROM_ADDRESS": "privacy@example-hikaku.co.jp", "PD_APPROVERS": "sato"}


def _broken(*args: Any, **kwargs: Any) -> NoReturn:
    raise IntegrityError("INSERT ...", {}, Exception("UNIQUE constraint failed: x.y"))


def test_a_constraint_that_is_not_the_same_mail_quarantines_it(
    engine: Engine, make_mail: Callable[..., bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    intake = Intake(engine, clock=lambda: START)
    monkeypatch.setattr(repo, "store_message", _broken)
    result = intake.process(make_mail("私の個人情報をすべて削除してください。"))
    assert result.action == "quarantined"  # kept for a human, never "duplicate"


def test_an_approval_that_cannot_be_queued_is_told_to_the_approver(
    engine: Engine, make_mail: Callable[..., bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = ReplySettings.from_env(SETTINGS)
    opened = Intake(engine, clock=lambda: START, replies=settings).process(
        make_mail("私の個人情報をすべて削除してください。")
    )
    assert opened.ref
    with Session(engine) as session:
        [draft] = repo.drafts(session)
    assert draft.id is not None
    monkeypatch.setattr(repo, "queue_mail", _broken)
    replies = Replies(engine, settings, clock=lambda: START)
    with pytest.raises(ReplyError, match="could not be queued"):
        replies.approve(draft.id, approver="sato")
    with Session(engine) as session:
        found = repo.case_file(session, opened.ref)
        assert found is not None
        assert ("sato", "approval failed") in [(e.actor, e.action) for e in found.events]
        [again] = repo.drafts(session)
    assert again.status == "draft"  # nothing claimed: it can be approved once fixed
    monkeypatch.undo()
    assert replies.approve(draft.id, approver="sato").outcome == "queued"
