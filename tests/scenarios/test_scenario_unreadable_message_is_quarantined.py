"""A message the parser cannot read arrives: it is kept, bytes and all, as a quarantined case for
a human; it is not dropped, it does not stop the run, and taking it in again stores nothing new."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from bot.cli import main
from bot.intake import Intake
from storage import repo

NOW = datetime(2026, 3, 3, 0, 5, tzinfo=UTC)


def test_an_unreadable_message_becomes_a_quarantined_case(
    engine: Engine, unreadable_mail: bytes
) -> None:
    raw = unreadable_mail
    intake = Intake(engine, clock=lambda: NOW)
    result = intake.process(raw)
    assert result.action == "quarantined"
    assert result.ref is not None
    assert "nested too deeply" in result.detail
    with Session(engine) as session:
        found = repo.case_file(session, result.ref)
    assert found is not None
    assert found.case.status == "quarantined"
    assert found.case.needs_triage is True
    assert found.case.flags == ["unreadable"]
    [message] = found.messages
    assert message.raw == raw  # every byte kept for the human who looks
    assert message.disposition == "quarantined"
    assert [e.action for e in found.events] == ["quarantined"]

    again = intake.process(raw)
    assert again.action == "duplicate"


def test_ingest_goes_on_after_an_unreadable_message(
    unreadable_mail: bytes,
    database: str,
    engine: Engine,
    make_mail: Callable[..., bytes],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "1.eml").write_bytes(unreadable_mail)
    (folder / "2.eml").write_bytes(make_mail("私の個人情報をすべて削除してください。"))
    monkeypatch.setenv("PD_DATABASE_URL", database)
    code = main(["ingest", str(folder)])
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == "2 messages: 1 opened, 1 quarantined"
    assert code == 1
