"""A company that cannot expose an HTTP endpoint runs the desk in Socket Mode: with SLACK_APP_TOKEN
set, ``serve`` opens a WebSocket to Slack and takes no Slack requests over HTTP; a mail becomes a case and a
draft in the channel, an approver's click arrives over the socket and queues the mail, Slack's
routine ``disconnect`` is followed by a new connection that keeps working, and a token Slack
refuses stops ``serve`` at once with one line. The HTTP port has only health and metrics. Slack is the double in tests/slack_double.py."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from support import eventually, free_port

from bot.cli import main
from bot.slack.blocks import ACTIONS
from storage.models import Case, OutboxItem

APPROVER = "U0APPROVE1"
SETTINGS = {"PD_FROM_ADDRESS": "privacy@example-hikaku.co.jp", "PD_APPROVERS": APPROVER}


def double() -> Any:
    return sys.modules["slack_double"]


def test_staff_work_the_case_over_socket_mode(
    desk_db: tuple[str, Engine], slack: Any, dovecot: Any, make_mail: Callable[..., bytes]
) -> None:
    url, engine = desk_db
    port = free_port()
    env = {
        **os.environ,
        **SETTINGS,
        "PD_DATABASE_URL": url,
        "PD_MAILBOX": dovecot.url("desk"),
        "PD_SMTP_URL": f"file:{Path(url.removeprefix('sqlite:///')).parent / 'outbox'}",
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_APP_TOKEN": slack.app_token,  # and no SLACK_SIGNING_SECRET
        "PD_SLACK_CHANNEL": slack.channel,
        "PD_SLACK_API_URL": slack.base_url,
        "PD_HTTP_PORT": str(port),
    }
    slack.add_user(APPROVER, name="approver")
    command = [sys.executable, "-c", "from bot.cli import main; raise SystemExit(main())", "serve"]
    root = Path(__file__).resolve().parents[2]
    service = subprocess.Popen(
        command, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )

    def click(action: str, value: str, message_ts: str) -> str:
        payload = double().block_actions(
            user_id=APPROVER,
            action_id=ACTIONS[action],
            value=value,
            trigger_id=slack.new_trigger_id(APPROVER),
            message_ts=message_ts,
        )
        return str(slack.push("interactive", payload))

    def acked(envelope_id: str) -> Any:
        [ack] = eventually(lambda: [a for a in slack.acks() if a.envelope_id == envelope_id])
        return ack

    def outbox() -> list[OutboxItem]:
        with Session(engine) as session:
            return list(session.exec(select(OutboxItem)))

    try:
        eventually(lambda: slack.socket_connections() == 1)
        # the port has the health and metrics only: no Slack endpoint to expose; the socket is
        # reported ok once Slack's hello has come over it (moments after the connection opens)
        eventually(lambda: _socket_state(port) == "ok", "the socket reported ok in /healthz")
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/slack/events", data=b"{}", method="POST"
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=5)
        assert refused.value.code == 404
        # a rate question: its first reply (the redirect) needs no identity check
        dovecot.append(
            "desk", make_mail("電気料金のプランについて教えてください。", subject="料金")
        )

        def approve_button() -> tuple[str, str, str] | None:
            """(the case message's ts, the draft message's ts, the button's value)"""
            for parent in slack.messages():
                for reply in slack.thread(slack.channel, parent["ts"])[1:]:
                    for block in reply.get("blocks", []):
                        for element in block.get("elements", []):
                            if element.get("action_id") == ACTIONS["approve"]:
                                return parent["ts"], reply["ts"], element["value"]
            return None

        parent_ts, draft_ts, value = eventually(approve_button)
        assert acked(click("approve", value, draft_ts)).connection == 1
        [item] = eventually(outbox, timeout=90)
        assert item.template == "rate_redirect" and item.status in ("queued", "sent")

        # Slack refreshes the connection; the desk opens a new one and keeps working on it
        opened = len(slack.calls("apps.connections.open"))
        slack.disconnect_sockets("refresh_requested")
        eventually(lambda: slack.socket_connections() == 2, timeout=90)
        assert len(slack.calls("apps.connections.open")) == opened + 1
        with Session(engine) as session:
            case = session.get(Case, item.case_id)
        assert case is not None
        assert acked(click("assign_me", case.ref, parent_ts)).connection == 2

        def assignee() -> str | None:
            with Session(engine) as session:
                taken = session.get(Case, item.case_id)
                return taken.assignee if taken else None

        assert eventually(assignee, timeout=90) == APPROVER
        assert len(outbox()) == 1
    finally:
        service.send_signal(signal.SIGTERM)
        out, err = service.communicate(timeout=90)
    # Exit 0: every component stopped within serve's own 10-second drain (past it, serve logs
    # "not stopped within" and exits 1); no wall clock, which a loaded machine stretches.
    assert service.returncode == 0, err
    assert "not stopped within" not in err, err[-3000:]
    assert slack.open_sockets() == 0  # the desk closed its connection on the way out
    assert slack.app_token not in out + err and slack.bot_token not in out + err


@pytest.fixture
def serve_env(
    tmp_path: Path, slack: Any, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., tuple[int, str]]:
    """Run ``privacy-desk serve`` in an empty folder with Slack set up as given."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PD_MAILBOX", "imaps://desk:not-tried@127.0.0.1:1/INBOX")
    monkeypatch.setenv("PD_SMTP_URL", "smtp://127.0.0.1:1")
    monkeypatch.setenv("PD_APPROVERS", APPROVER)
    monkeypatch.setenv("PD_SLACK_API_URL", slack.base_url)

    def serve(capsys: pytest.CaptureFixture[str], **settings: str) -> tuple[int, str]:
        for name, value in settings.items():
            monkeypatch.setenv(name, value)
        code = main(["serve"])
        captured = capsys.readouterr()
        assert captured.out == "" and captured.err.count("\n") == 1
        assert not (tmp_path / "var").exists()  # nothing started, nothing written
        return code, captured.err

    return serve


def test_a_token_slack_refuses_stops_serve_with_one_line(
    serve_env: Callable[..., tuple[int, str]], slack: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = "xapp-1-A0DESK0001-9-not-ours"
    code, err = serve_env(
        capsys,
        SLACK_BOT_TOKEN=slack.bot_token,
        PD_SLACK_CHANNEL=slack.channel,
        SLACK_APP_TOKEN=wrong,
    )
    assert code == 2
    assert err.startswith("privacy-desk: Slack refused SLACK_APP_TOKEN (invalid_auth)")
    assert "connections:write" in err and wrong not in err
    assert slack.socket_connections() == 0


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        (
            {"SLACK_APP_TOKEN": "xoxb-the-bot-token", "SLACK_BOT_TOKEN": "xoxb-b"},
            "SLACK_APP_TOKEN must be the app-level token (xapp-...)",
        ),
        (
            {"SLACK_APP_TOKEN": "xapp-1-A0DESK0001-1-double"},
            "SLACK_APP_TOKEN needs SLACK_BOT_TOKEN and PD_SLACK_CHANNEL too",
        ),
    ],
    ids=["not an app-level token", "no bot token or channel"],
)
def test_socket_mode_settings_that_cannot_work_are_refused(
    serve_env: Callable[..., tuple[int, str]],
    slack: Any,
    capsys: pytest.CaptureFixture[str],
    settings: dict[str, str],
    named: str,
) -> None:
    if "SLACK_BOT_TOKEN" in settings:
        settings["PD_SLACK_CHANNEL"] = slack.channel
    code, err = serve_env(capsys, **settings)
    assert code == 2 and err == f"privacy-desk: {named}\n"
    assert slack.calls("apps.connections.open") == []


def _socket_state(port: int) -> str | None:
    """The state ``/healthz`` gives the Socket Mode component, or None before it has one."""
    body = _get(f"http://127.0.0.1:{port}/healthz")
    found = json.loads(body)["components"].get("slack-socket") if body else None
    return str(found["state"]) if found else None


def _get(url: str) -> str | None:
    """The body of a GET (whatever the status), or None while nothing listens."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return str(response.read().decode())
    except urllib.error.HTTPError as exc:
        return str(exc.read().decode())
    except OSError:
        return None
