"""An operator runs a reading command from the wrong folder, or with a mistyped SQLite path: it
says in one line that there is no database at that absolute path (exit 2) and creates nothing —
no folder, no empty database answering "0 cases" whose references would start again at 000001.
The commands that take mail in (and ``db upgrade``) still create the database on first use."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bot.cli import main

READERS = [
    ["cases"],
    ["case", "PD-2026-000001"],
    ["drafts"],
    ["outbox"],
    ["report", "--month", "2026-11"],
    ["export", "PD-2026-000001"],
    ["purge", "--dry-run"],
    ["examples", "export", "labelled"],
    ["check"],
]


@pytest.fixture
def empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working folder, with what ``check`` needs besides a database."""
    folder = tmp_path / "somewhere-else"
    folder.mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.setenv("PD_MAILBOX", "imap://desk:pw@127.0.0.1:1/INBOX")
    monkeypatch.setenv("PD_SMTP_URL", "smtp://127.0.0.1:1")
    monkeypatch.setenv("PD_APPROVERS", "U0APPROVER1")
    return folder


@pytest.mark.parametrize("command", READERS, ids=" ".join)
def test_a_reading_command_in_an_empty_folder_creates_nothing(
    command: list[str], empty: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(command) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    missing = empty / "var" / "privacy-desk.db"
    assert captured.err == (
        f"privacy-desk: no database at {missing} (PD_DATABASE_URL): `privacy-desk db upgrade` "
        + (
            "creates it\n"
            if command == ["check"]
            else "creates it, as do `ingest`, `fetch` and `serve`\n"
        )
    )
    assert list(empty.iterdir()) == []


def test_a_mistyped_database_path_is_named_and_not_created(
    empty: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = tmp_path / "srv" / "privacy-dsek.db"
    monkeypatch.setenv("PD_DATABASE_URL", f"sqlite:///{wrong}")
    assert main(["cases"]) == 2
    assert f"no database at {wrong} " in capsys.readouterr().err
    assert not wrong.parent.exists()


def test_taking_mail_in_creates_it_and_then_it_is_read(
    empty: Path, make_mail: Callable[..., bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    (empty / "inbox").mkdir()
    (empty / "inbox" / "1.eml").write_bytes(make_mail("私の個人情報を削除してください。"))
    assert main(["ingest", "inbox"]) == 0
    assert (empty / "var" / "privacy-desk.db").is_file()
    capsys.readouterr()
    assert main(["cases"]) == 0
    assert capsys.readouterr().out.endswith("1 case\n")


def test_db_upgrade_creates_an_empty_database_on_purpose(
    empty: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "upgrade"]) == 0
    assert "schema upgraded from nothing" in capsys.readouterr().out
    assert main(["cases"]) == 0
    assert capsys.readouterr().out.endswith("0 cases\n")
