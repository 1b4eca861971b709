"""The case file's read model: every word of every message as sent (CP50220 ①㈱髙 included),
the quoted history apart, attachments numbered across the case and flagged, their bytes back
exactly; with the raw mail encrypted too; and a purged case says its text is gone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from casefile_mail import (
    FILES,
    FIRST_NEWEST,
    FIRST_SIGNATURE,
    FOLLOW_UP_NEWEST,
    FOLLOW_UP_QUOTED,
    LARGE_LIMIT,
    first_mail,
    follow_up,
)
from sqlalchemy import Engine, update
from sqlmodel import Session

from bot import casefile
from bot.intake import Intake
from storage import crypto, repo
from storage.models import Case, MailMessage

NOW = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)


@pytest.fixture(params=["plain", "encrypted"])
def ref(request: pytest.FixtureRequest, engine: Engine) -> Iterator[str]:
    """The request and its follow-up taken in (with PD_RAW_KEYS set, for "encrypted")."""
    if request.param == "encrypted":
        crypto.configure(crypto.keyring_from(crypto.new_key()))
    try:
        intake = Intake(engine, clock=lambda: NOW)
        opened = intake.process(first_mail())
        assert opened.action == "opened" and opened.ref
        assert intake.process(follow_up()).action == "linked"
        yield opened.ref
    finally:
        crypto.configure(None)


def _load(engine: Engine, ref: str) -> casefile.CaseFile:
    with Session(engine) as session:
        found = casefile.load(session, ref, max_bytes=LARGE_LIMIT, now=NOW)
    assert found is not None
    return found


def test_every_word_of_both_mails_as_sent(engine: Engine, ref: str) -> None:
    found = _load(engine, ref)
    first, second = found.messages
    assert (first.direction, first.disposition) == ("in", "case")
    assert first.text is not None and first.text.strip() == FIRST_NEWEST
    assert first.quoted is not None and FIRST_SIGNATURE in first.quoted
    assert first.subject == "個人情報開示のお願い①"
    assert second.text is not None and second.text.strip() == FOLLOW_UP_NEWEST
    assert second.quoted is not None and FOLLOW_UP_QUOTED.lstrip("> ") in second.quoted
    assert FOLLOW_UP_QUOTED.lstrip("> ") not in second.text
    assert found.facts.ref == ref and found.facts.requester == "takahashi.hanako@example.jp"
    assert not found.purged and first.raw_kept


def test_attachments_numbered_flagged_and_returned_byte_for_byte(engine: Engine, ref: str) -> None:
    found = _load(engine, ref)
    assert found.messages[0].attachments == ()
    listed = found.attachments
    assert [(a.n, a.name, a.type) for a in listed] == [
        (n, name, ctype) for n, (name, ctype, _) in enumerate(FILES, start=1)
    ]
    assert [a.size for a in listed] == [len(data) for _, _, data in FILES]
    assert [a.flagged for a in listed] == [
        (),
        (),
        ("executable",),
        ("html",),
        ("oversized",),
    ]
    with Session(engine) as session:
        for n, (_, _, data) in enumerate(FILES, start=1):
            got = casefile.attachment(session, ref, n, max_bytes=LARGE_LIMIT)
            assert got is not None and got.data == data and got.info == listed[n - 1]
        assert casefile.attachment(session, ref, 0, max_bytes=LARGE_LIMIT) is None
        assert casefile.attachment(session, ref, 6, max_bytes=LARGE_LIMIT) is None
        assert casefile.attachment(session, "PD-2026-999999", 1, max_bytes=LARGE_LIMIT) is None


def test_notes_pauses_and_verification_are_in_the_file(engine: Engine, ref: str) -> None:
    with Session(engine) as session:
        case = repo.case_by_ref(session, ref)
        assert case is not None and case.id is not None
        repo.audit(session, case.id, "U0STAFF1", "note", text="電話で本人と確認済み。髙橋様")
        repo.pause_case(session, case, at=NOW, reason="identity documents", actor="U0STAFF1")
        repo.touch(session, case, assignee="U0STAFF1")
        session.commit()
    found = _load(engine, ref)
    assert [(n.actor, n.text) for n in found.notes] == [
        ("U0STAFF1", "電話で本人と確認済み。髙橋様")
    ]
    assert [(p.started_at, p.ended_at, p.reason) for p in found.pauses] == [
        (NOW, None, "identity documents")
    ]
    assert found.facts.assignee == "U0STAFF1"
    assert not found.verification.verified and found.verification.code_expires_at is None
    assert "note" in [e.action for e in found.events]
    assert [d.template for d in found.drafts]  # the acknowledgement prepared at intake


def test_a_purged_message_says_so_and_has_no_attachments(engine: Engine, ref: str) -> None:
    with Session(engine) as session:
        session.exec(update(MailMessage).values(raw=None))  # type: ignore[call-overload]
        session.exec(update(Case).values(purged_at=NOW))  # type: ignore[call-overload]
        session.commit()
    found = _load(engine, ref)
    assert found.purged
    assert all(m.text is None and not m.raw_kept and not m.attachments for m in found.messages)
    with Session(engine) as session:
        assert casefile.attachment(session, ref, 1, max_bytes=LARGE_LIMIT) is None


def test_no_case_no_file(engine: Engine) -> None:
    with Session(engine) as session:
        assert casefile.load(session, "PD-2026-000404", max_bytes=1) is None


def test_a_quarantined_mail_is_in_the_file_without_text_and_says_why(
    engine: Engine, unreadable_mail: bytes
) -> None:
    result = Intake(engine, clock=lambda: NOW).process(unreadable_mail)
    assert result.action == "quarantined" and result.ref
    found = _load(engine, result.ref)
    [message] = found.messages
    assert message.raw_kept and message.text is None and message.attachments == ()
    assert "nested too deeply" in message.defects[-1]
    with Session(engine) as session:
        assert casefile.attachment(session, result.ref, 1, max_bytes=LARGE_LIMIT) is None
