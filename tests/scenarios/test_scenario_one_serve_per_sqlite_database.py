"""An operator starts ``serve`` twice on one SQLite database (a second terminal, a unit started
twice): the second exits 2 at once with one line saying another serve holds it, and starts
nothing — two watchers, schedulers and outbox senders on one file would each do everything.
A serve that dies, even by SIGKILL, leaves no stale lock behind: the next one starts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from support import eventually, free_port

COMMAND = [sys.executable, "-c", "from bot.cli import main; raise SystemExit(main())"]


def _up(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
            body = answer.read()
    except urllib.error.HTTPError as exc:
        body = exc.read()
    except OSError:
        return False
    return json.loads(body)["components"].get("mailbox", {}).get("state") == "ok"


def test_a_second_serve_on_one_sqlite_file_is_refused(
    desk_db: tuple[str, Engine], dovecot: Any, tmp_path: Path
) -> None:
    url, _engine = desk_db
    database = Path(url.removeprefix("sqlite:///"))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PD_", "SLACK_"))},
        "PD_DATABASE_URL": url,
        "PD_MAILBOX": dovecot.url("desk"),
        "PD_SMTP_URL": f"file:{tmp_path / 'outbox'}",
        "PD_APPROVERS": "U0APPROVER1",
    }

    def start(port: int) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [*COMMAND, "serve", "--workers", "0"],
            cwd=tmp_path,
            env={**env, "PD_HTTP_PORT": str(port)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )

    first_port = free_port()
    first = start(first_port)
    try:
        eventually(lambda: _up(first_port), "the first serve watching")
        second_port = free_port()
        second = subprocess.run(
            [*COMMAND, "serve", "--workers", "0"],
            cwd=tmp_path,
            env={**env, "PD_HTTP_PORT": str(second_port)},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert second.returncode == 2
        assert second.stdout == ""
        assert second.stderr == (
            f"privacy-desk: another privacy-desk serve is running on {database} "
            f"(it holds {database}.serve.lock)\n"
        )
        assert _up(first_port)  # the first one carries on
    finally:
        first.send_signal(signal.SIGKILL)  # dies without cleaning up
        first.communicate(timeout=20)

    third_port = free_port()
    third = start(third_port)
    try:
        eventually(lambda: _up(third_port), "a new serve after the first died")
    finally:
        third.send_signal(signal.SIGTERM)
        _out, err = third.communicate(timeout=20)
    assert third.returncode == 0, err


def test_one_serve_per_database_not_per_machine(
    tmp_path: Path, dovecot: Any, desk_db: tuple[str, Engine]
) -> None:
    """Two desks with databases of their own run side by side."""
    url, _engine = desk_db
    other = f"sqlite:///{tmp_path / 'other' / 'desk.db'}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PD_", "SLACK_"))},
        "PD_MAILBOX": dovecot.url("desk"),
        "PD_SMTP_URL": f"file:{tmp_path / 'outbox'}",
        "PD_APPROVERS": "U0APPROVER1",
    }
    ports = [free_port(), free_port()]
    desks = [
        subprocess.Popen(
            [*COMMAND, "serve", "--workers", "0"],
            cwd=tmp_path,
            env={**env, "PD_DATABASE_URL": database, "PD_HTTP_PORT": str(port)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for database, port in zip((url, other), ports, strict=True)
    ]
    try:
        for port in ports:
            eventually(lambda port=port: _up(port), f"the desk on port {port}")
    finally:
        for desk in desks:
            desk.send_signal(signal.SIGTERM)
        logs = [desk.communicate(timeout=20)[1] for desk in desks]
    assert [desk.returncode for desk in desks] == [0, 0], logs
