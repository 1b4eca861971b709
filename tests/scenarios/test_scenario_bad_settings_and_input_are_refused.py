"""The operator gets a setting or an input wrong: each is refused with exit status 2 and one line
on stderr naming the problem (never a password), and nothing is written."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from bot.cli import main
from storage.db import open_database
from storage.models import Case, MailMessage

COMMANDS = [["ingest", "inbox"], ["cases"], ["case", "PD-2026-000001"], ["db", "upgrade"]]


@pytest.fixture
def workdir(
    tmp_path: Path, make_mail: Callable[..., bytes], monkeypatch: pytest.MonkeyPatch
) -> Path:
    """An empty working folder holding one good message in ./inbox (and what ``serve`` needs
    besides, so that each test's setting is the one thing wrong)."""
    monkeypatch.setenv("PD_SMTP_URL", "smtp://127.0.0.1:1")
    monkeypatch.setenv("PD_APPROVERS", "U0APPROVER1")
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "1.eml").write_bytes(make_mail("私の個人情報をすべて削除してください。"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def refused(capsys: pytest.CaptureFixture[str], *named: str) -> str:
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert err.startswith("privacy-desk: ")
    for words in named:
        assert words in err, err
    assert "secret" not in err
    return err


def _counts(url: str) -> tuple[int, int]:
    engine = open_database(url)
    try:
        with Session(engine) as session:
            cases = session.exec(select(func.count()).select_from(Case)).one()
            messages = session.exec(select(func.count()).select_from(MailMessage)).one()
        return cases, messages
    finally:
        engine.dispose()


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("not a url", "PD_DATABASE_URL is not a database URL"),
        ("mysql://u:secret@db.example/desk", "PD_DATABASE_URL names 'mysql'"),
        ("postgresql+psycopg://u:secret@127.0.0.1:1/x", "cannot reach the database"),
    ],
)
def test_a_bad_database_url_is_refused(
    url: str,
    named: str,
    command: list[str],
    workdir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PD_DATABASE_URL", url)
    assert main(command) == 2
    refused(capsys, named)
    assert not (workdir / "var").exists()


@pytest.mark.parametrize("command", [["fetch"], ["serve"]], ids=" ".join)
@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"PD_MAILBOX": "pop3://desk:secret@mail.example/INBOX"}, "imap:// or imaps://"),
        ({"PD_MAILBOX": "imaps://mail.example/INBOX"}, "needs a user and a host"),
        ({"PD_MAILBOX": "imaps://desk:secret@mail.example:port/INBOX"}, "port"),
        ({"PD_MAILBOX": "imaps://desk@mail.example/INBOX"}, "no IMAP password"),
        (
            {"PD_MAILBOX": "imaps://desk@mail.example/INBOX", "PD_IMAP_PASSWORD_FILE": "nope"},
            "cannot read the IMAP password file",
        ),
        (
            {"PD_MAILBOX": "imaps://desk:secret@mail.example/INBOX", "PD_IMAP_CA_FILE": "ca.pem"},
            "cannot read the CA file ca.pem",
        ),
        (
            {"PD_MAILBOX": "imaps://desk:secret@mail.example/", "PD_IMAP_TIMEOUT": "soon"},
            "PD_IMAP_TIMEOUT",
        ),
    ],
)
def test_a_bad_mailbox_setting_is_refused(
    settings: dict[str, str],
    named: str,
    command: list[str],
    workdir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    assert main(command) == 2
    refused(capsys, named)
    assert not (workdir / "var").exists()


def test_a_url_with_a_bad_port_is_refused(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PD_DATABASE_URL", "postgresql+psycopg://u:secret@db.example:port/desk")
    assert main(["cases"]) == 2
    refused(capsys, "PD_DATABASE_URL")


@pytest.mark.parametrize("command", [["ingest", "inbox"], ["db", "upgrade"]], ids=" ".join)
def test_a_read_only_database_file_is_refused(
    command: list[str],
    workdir: Path,
    make_mail: Callable[..., bytes],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = workdir / "desk.db"
    url = f"sqlite:///{path}"
    monkeypatch.setenv("PD_DATABASE_URL", url)
    assert main(["ingest", "inbox"]) == 0
    capsys.readouterr()
    (workdir / "inbox" / "2.eml").write_bytes(
        make_mail("Please delete my data.", sender="jiro@example.com")
    )
    path.chmod(0o444)
    try:
        assert main(command) == 2
        refused(capsys, "read-only", str(path))
    finally:
        path.chmod(0o644)
    assert _counts(url) == (1, 1)


def test_a_corrupted_mbox_is_refused_before_the_database_is_touched(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "x.mbox").write_bytes(b"Subject: not an mbox\r\n\r\nhello\r\n")
    assert main(["ingest", "x.mbox"]) == 2
    refused(capsys, "x.mbox", "not an mbox")
    assert not (workdir / "var").exists()  # the default database was not even created


def test_a_corrupted_mbox_beside_good_mail_writes_nothing(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{workdir / 'desk.db'}"
    monkeypatch.setenv("PD_DATABASE_URL", url)
    assert main(["db", "upgrade"]) == 0
    assert main(["cases"]) == 0  # an existing, empty database
    capsys.readouterr()
    (workdir / "x.mbox").write_bytes(b"Subject: not an mbox\r\n\r\nhello\r\n")
    assert main(["ingest", "inbox", "x.mbox"]) == 2
    refused(capsys, "x.mbox")
    assert _counts(url) == (0, 0)


def test_an_unknown_case_is_refused(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PD_DATABASE_URL", f"sqlite:///{workdir / 'desk.db'}")
    assert main(["db", "upgrade"]) == 0
    capsys.readouterr()
    assert main(["case", "pd-2026-999999"]) == 2
    refused(capsys, "no case PD-2026-999999")
