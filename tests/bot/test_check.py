"""``privacy-desk check`` against the real parts: every connection answers, or its row says why
(and no secret is printed); settings from a ``.env`` file, the environment winning."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.cli import main


@pytest.fixture
def parts(
    engine: Engine, dovecot: Any, smtp_server: Any, slack: Any, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    settings = {
        "PD_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "PD_MAILBOX": dovecot.url("desk"),
        "PD_SMTP_URL": smtp_server.url(),
        "SLACK_BOT_TOKEN": slack.bot_token,
        "PD_SLACK_CHANNEL": slack.channel,
        "PD_SLACK_API_URL": slack.base_url,
        "PD_APPROVERS": "U0APPROVER1",
        "PD_AUTHSERV_ID": "mx.example-hikaku.co.jp",
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    return settings


def table(out: str) -> dict[str, tuple[str, str]]:
    rows = {}
    for line in out.splitlines():
        name, state, said = line.split(None, 2)
        rows[name] = (state, said)
    return rows


def test_every_connection_answers(parts: dict[str, str], capsys: Any) -> None:
    assert main(["check"]) == 0
    rows = table(capsys.readouterr().out)
    assert {name: state for name, (state, _) in rows.items()} == {
        "database": "ok",
        "mailbox": "ok",
        "smtp": "ok",
        "slack": "ok",
        "senders": "ok",
    }
    assert "logged in, 'INBOX' selected" in rows["mailbox"][1]
    assert "answered EHLO (250)" in rows["smtp"][1]
    assert "auth.test" in rows["slack"][1]


def test_check_warns_while_senders_are_not_authenticated(
    parts: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.delenv("PD_AUTHSERV_ID")
    assert main(["check"]) == 0  # a warning, not a failure
    state, said = table(capsys.readouterr().out)["senders"]
    assert state == "warn" and "PD_AUTHSERV_ID is not set" in said


def test_a_failing_connection_is_a_row_that_says_why(
    parts: dict[str, str],
    dovecot: Any,
    slack: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
) -> None:
    wrong = parts["PD_MAILBOX"].replace(dovecot.users["desk"], "not-the-password-42")
    monkeypatch.setenv("PD_MAILBOX", wrong)
    slack.revoke_token(slack.bot_token)
    monkeypatch.setenv("PD_SMTP_URL", "smtp://127.0.0.1:1")  # nothing listens there
    assert main(["check"]) == 1
    out = capsys.readouterr().out
    rows = table(out)
    assert rows["database"][0] == "ok"
    assert rows["mailbox"] == ("FAILED", "IMAP login refused for desk at 127.0.0.1")
    assert rows["smtp"][0] == "FAILED" and rows["slack"] == ("FAILED", "Slack said token_revoked")
    assert "not-the-password-42" not in out and slack.bot_token not in out


def test_settings_come_from_a_dotenv_file_the_environment_winning(
    engine: Engine,
    make_mail: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
) -> None:
    from bot.intake import Intake

    ref = Intake(engine).process(make_mail("私の個人情報を削除してください。")).ref
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PD_DATABASE_URL", raising=False)  # restored (unset) after the test
    url = engine.url.render_as_string(hide_password=False)
    (tmp_path / ".env").write_text(f"PD_DATABASE_URL={url}\nPD_SLACK_MASK=nonsense\n")
    monkeypatch.setenv("PD_SLACK_MASK", "domain")
    assert main(["cases", "--json"]) == 0
    assert ref is not None and ref in capsys.readouterr().out  # the database .env names
    assert os.environ["PD_SLACK_MASK"] == "domain"
    monkeypatch.setenv("PD_ENV_FILE", str(tmp_path / "missing.env"))
    assert main(["cases"]) == 2
    assert "PD_ENV_FILE names no readable file" in capsys.readouterr().err


def test_an_app_installed_without_the_read_scopes_fails_the_check(
    parts: dict[str, str], slack: Any, capsys: Any
) -> None:
    """The manifest before channels:read: ``check`` reads the case channel (conversations.info)
    and staff are its members (conversations.members), so the app must be reinstalled."""
    slack.set_scopes(slack.manifest_scopes() - {"channels:read", "groups:read"})
    assert main(["check"]) == 1
    rows = table(capsys.readouterr().out)
    assert rows["slack"] == (
        "FAILED",
        "Slack said missing_scope (the app needs channels:read: reinstall it from the manifest)",
    )
