"""An operator mistypes a setting's name (``PD_SMPT_URL`` for ``PD_SMTP_URL``) or value
(``PD_DIGEST_TIME=9am``), in the environment or in ``.env``. ``check`` and ``serve`` both refuse
with the same message — every problem at once, the closest known name suggested — before
anything is probed, started or written; so the desk never runs with a default the operator
meant to replace (approved answers written to a folder, nobody allowed to approve)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main

GOOD = {
    "PD_DATABASE_URL": "sqlite:///var/desk.db",
    "PD_MAILBOX": "imap://desk:imap-secret@127.0.0.1:1/INBOX",  # never reached: refused first
    "PD_SMTP_URL": "smtp://127.0.0.1:1",
    "PD_APPROVERS": "U0APPROVER1",
    "PD_FROM_ADDRESS": "privacy@example-hikaku.co.jp",
}


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def refusals(capsys: pytest.CaptureFixture[str], *commands: str) -> str:
    """What each command says (the same for all), checking it refused and wrote nothing."""
    said = set()
    for command in commands:
        assert main([command]) == 2, command
        captured = capsys.readouterr()
        assert captured.out == ""
        said.add(captured.err)
    [err] = said
    assert "imap-secret" not in err
    return err


def test_a_mistyped_smtp_name_is_refused_by_check_and_serve(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in GOOD.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("PD_SMTP_URL")
    monkeypatch.setenv("PD_SMPT_URL", "smtp+starttls://mail.example-hikaku.co.jp:587")
    err = refusals(capsys, "check", "serve")
    assert err == (
        "privacy-desk: 2 settings are not usable:\n"
        "  - PD_SMPT_URL is not a setting; did you mean PD_SMTP_URL?\n"
        "  - PD_SMTP_URL is not set: serve sends mail only where it is told "
        "(smtp+starttls://user@host:587, smtps://..., or file:PATH to try the desk)\n"
    )
    assert list(workdir.iterdir()) == []  # no database, no outbox folder


def test_a_mistyped_approvers_name_in_dotenv_is_refused(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [f"{name}={value}" for name, value in GOOD.items() if name != "PD_APPROVERS"]
    (workdir / ".env").write_text("\n".join([*lines, "PD_APROVERS=U0APPROVER1", ""]))
    err = refusals(capsys, "check", "serve")
    assert "  - PD_APROVERS is not a setting; did you mean PD_APPROVERS?\n" in err
    assert "  - PD_APPROVERS is empty: nobody could approve a reply\n" in err
    assert [p.name for p in workdir.iterdir()] == [".env"]


def test_malformed_values_are_refused_by_check_before_any_connection(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in {**GOOD, "PD_DIGEST_TIME": "9am", "PD_HTTP_PORT": "http"}.items():
        monkeypatch.setenv(name, value)
    err = refusals(capsys, "check", "serve")
    assert err == (
        "privacy-desk: 2 settings are not usable:\n"
        "  - PD_DIGEST_TIME must be HH:MM (Asia/Tokyo) or off, not '9am'\n"
        "  - PD_HTTP_PORT must be a port number, not 'http'\n"
    )
    assert list(workdir.iterdir()) == []


def test_a_mistyped_database_name_is_refused_by_every_command(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PD_DATABSE_URL", "postgresql+psycopg://desk@db.internal/desk")
    assert main(["cases"]) == 2
    assert capsys.readouterr().err == (
        "privacy-desk: PD_DATABSE_URL is not a setting; did you mean PD_DATABASE_URL?\n"
    )
    assert list(workdir.iterdir()) == []  # not the default SQLite file instead
