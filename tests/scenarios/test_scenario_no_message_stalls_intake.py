"""No message stalls intake (DESIGN rule 5): a subject of megabytes of request phrases is read
within the desk's own classification deadline, and a message whose classification overruns
that deadline is quarantined — kept, with its requester and clock — while the next message is
taken in as usual. On SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

import bot.intake
from bot.intake import Intake, read, read_all
from handlers.classify import Classification
from mail.parse import ParsedMessage
from storage import repo

STALL = "この一文を読むと分類器が止まります"  # the test's own poison pill, see stalling()


def test_a_subject_of_three_megabytes_of_request_phrases_is_read_within_the_deadline() -> None:
    subject = ("Please delete my personal data and stop using it. " * 60_000)[:3_000_000]
    raw = (
        b"From: a@example.jp\r\nTo: privacy@example-hikaku.co.jp\r\nSubject: "
        + subject.encode()
        + b"\r\nMessage-ID: <big@mail.example.jp>\r\n\r\nPlease see the subject.\r\n"
    )
    done = read(raw, timeout=10.0)
    assert done.error is None and done.classification is not None
    assert "deletion" in done.classification.intents


@pytest.fixture
def stalling(monkeypatch: pytest.MonkeyPatch) -> None:
    """Classification that never ends for a message carrying ``STALL``, as a pathological input
    would; the real classifier for every other message."""
    real = bot.intake.classify

    def classify(msg: ParsedMessage) -> Classification:
        if STALL in msg.newest_text:
            for _ in itertools.count():
                pass
        return real(msg)

    monkeypatch.setattr(bot.intake, "classify", classify)


def test_a_message_over_the_deadline_is_quarantined_and_the_next_taken_in(
    engine: Engine, make_mail: Callable[..., bytes], stalling: Any
) -> None:
    when = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)
    poison = make_mail(
        f"{STALL}\n個人情報を削除してください。", sender="slow@example.jp", date=when
    )
    next_one = make_mail("個人情報を削除してください。", sender="next@example.jp", date=when)
    intake = Intake(engine, clock=lambda: when)
    first, second = intake.process_many(read_all([poison, next_one], timeout=1.0))

    assert first.action == "quarantined" and "longer than 1 s" in first.detail
    assert second.action == "opened" and second.intents == ("deletion",)
    with Session(engine) as session:
        kept = repo.case_by_ref(session, first.ref or "")
        assert kept is not None and kept.status == "quarantined"
        assert kept.requester == "slow@example.jp" and kept.answer_due is not None
        assert kept.needs_triage and kept.triage_due is not None


def test_the_deadline_is_the_setting_pd_classify_timeout(
    tmp_path: Any,
    make_mail: Callable[..., bytes],
    stalling: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bot.cli import main

    folder = tmp_path / "mail"
    folder.mkdir()
    (folder / "1.eml").write_bytes(make_mail(f"{STALL}\n削除してください。", sender="a@x.jp"))
    (folder / "2.eml").write_bytes(make_mail("個人情報を削除してください。", sender="b@x.jp"))
    monkeypatch.setenv("PD_DATABASE_URL", f"sqlite:///{tmp_path / 'desk.db'}")
    monkeypatch.setenv("PD_CLASSIFY_TIMEOUT", "0.5")
    assert main(["ingest", str(folder)]) == 1  # 1: a message was quarantined
    out = capsys.readouterr().out
    assert "quarantined" in out and "opened" in out
    from sqlmodel import select

    from storage.db import open_database
    from storage.models import MailMessage

    engine = open_database(f"sqlite:///{tmp_path / 'desk.db'}")
    with Session(engine) as session:
        notes = [m.defects for m in session.exec(select(MailMessage))]
    engine.dispose()
    assert ["classification took longer than 0.5 s"] in notes
