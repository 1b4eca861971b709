"""The service watches the privacy mailbox on a real Dovecot: every message becomes exactly one
record, whatever happens to the service, the server or the mailbox in between."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from bot.cli import main
from bot.watch import desk_watcher
from mail.imap import parse_mailbox_url
from storage.models import AuditEvent, Case, MailMessage

ROOT = Path(__file__).resolve().parent.parent.parent


Dovecot = Any  # tests/imap_server.Dovecot, through the ``dovecot`` fixture of conftest.py


def _count(engine: Engine, model: type) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


def _distinct_message_ids(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count(func.distinct(MailMessage.message_id)))).one())


def _wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def _mails(make_mail: Callable[..., bytes], n: int, prefix: str = "m") -> list[bytes]:
    return [
        make_mail(
            f"私の個人情報を削除してください。会員番号 {i}",
            sender=f"user{i}@example.jp",
            message_id=f"<{prefix}-{i}@mail.example.jp>",
        )
        for i in range(n)
    ]


def test_fetch_takes_every_message_once_and_moves_it_aside(
    dovecot: Dovecot,
    unreadable_mail: bytes,
    desk_db: tuple[str, Engine],
    make_mail: Callable[..., bytes],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, engine = desk_db
    no_id = make_mail("Please delete my account.", sender="anon@example.com", message_id="")
    unreadable = unreadable_mail
    big = make_mail("see attachment", sender="big@example.jp") + b"X" * (25 * 1024 * 1024)
    dovecot.append_many("desk", [*_mails(make_mail, 3), no_id, unreadable, big])
    monkeypatch.setenv("PD_DATABASE_URL", url)
    monkeypatch.setenv("PD_MAILBOX", dovecot.url("desk"))

    code = main(["fetch"])
    out = capsys.readouterr().out
    assert "6 messages" in out
    assert code == 1  # one message could not be read: kept, quarantined, and said so
    assert _count(engine, MailMessage) == 6
    with Session(engine) as session:
        statuses = sorted(c.status for c in session.exec(select(Case)))
    assert statuses.count("quarantined") == 1
    with dovecot.client("desk") as imap:
        imap.select_folder("INBOX")
        assert imap.search(["ALL"]) == []  # moved aside, never deleted:
        imap.select_folder("PrivacyDesk.Processed")  # Debian's Dovecot separates with "."
        assert len(imap.search(["ALL"])) == 6

    assert main(["fetch"]) == 0
    assert "none new" in capsys.readouterr().out
    assert _count(engine, MailMessage) == 6


def test_a_changed_uidvalidity_imports_nothing_twice(
    dovecot: Dovecot,
    desk_db: tuple[str, Engine],
    make_mail: Callable[..., bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, engine = desk_db
    mails = _mails(make_mail, 5)
    dovecot.append_many("desk", mails)
    monkeypatch.setenv("PD_DATABASE_URL", url)
    monkeypatch.setenv("PD_MAILBOX", dovecot.url("desk"))
    assert main(["fetch"]) == 0
    before = dovecot.uidvalidity("desk")
    # The mailbox is recreated and the same mail restored into it.
    assert dovecot.recreate_inbox("desk", keep_messages=False) != before
    dovecot.append_many("desk", mails)
    assert main(["fetch"]) == 0
    assert _count(engine, Case) == 5
    assert _count(engine, MailMessage) == 5
    with Session(engine) as session:
        alerts = [e.detail for e in session.exec(select(AuditEvent)) if e.action == "mailbox alert"]
    assert any("UIDVALIDITY changed" in a["message"] for a in alerts)


class Reports:
    """What the watcher has said of itself (``report(state, detail)``), in order."""

    def __init__(self) -> None:
        self.states: list[str] = []

    def __call__(self, state: str, detail: str = "") -> None:
        self.states.append(state)


def _watch(
    url: str, engine: Engine, mailbox: str, reports: Reports | None = None
) -> tuple[threading.Thread, threading.Event]:
    watcher, _sink = desk_watcher(
        engine, parse_mailbox_url(mailbox), idle_seconds=30, max_backoff=2
    )
    stop = threading.Event()
    thread = threading.Thread(target=watcher.run, args=(stop, reports or Reports()), daemon=True)
    thread.start()
    return thread, stop


def test_mail_appended_while_idling_becomes_a_case(
    dovecot: Dovecot, desk_db: tuple[str, Engine], make_mail: Callable[..., bytes]
) -> None:
    url, engine = desk_db
    reports = Reports()
    thread, stop = _watch(url, engine, dovecot.url("desk"), reports)
    try:
        # it has caught up on the empty mailbox (and waits in IDLE from there)
        assert _wait_for(lambda: "ok" in reports.states, 30)
        dovecot.append("desk", _mails(make_mail, 1)[0])
        # IDLE wakes the watcher well before its 30 s IDLE ends; the latency itself is measured
        # in bench/imap.py.
        assert _wait_for(lambda: _count(engine, Case) == 1, 20)
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()


def test_the_watcher_reconnects_after_the_server_restarts(
    dovecot: Dovecot, desk_db: tuple[str, Engine], make_mail: Callable[..., bytes]
) -> None:
    url, engine = desk_db
    reports = Reports()
    thread, stop = _watch(url, engine, dovecot.url("desk"), reports)
    try:
        dovecot.append("desk", _mails(make_mail, 1, "before")[0])
        assert _wait_for(lambda: _count(engine, Case) == 1, 30)
        dovecot.stop()
        # Mail the MTA delivers into the Maildir while IMAP is down.
        for raw in _mails(make_mail, 2, "during"):
            dovecot.deliver("desk", raw)
        # the watcher has found the server gone before it comes back
        assert _wait_for(lambda: "degraded" in reports.states, 30)
        dovecot.start()
        assert _wait_for(lambda: _count(engine, Case) == 3, 30)
    finally:
        stop.set()
        thread.join(10)


def test_a_fetch_killed_mid_backlog_loses_and_doubles_nothing(
    dovecot: Dovecot, desk_db: tuple[str, Engine], make_mail: Callable[..., bytes]
) -> None:
    url, engine = desk_db
    dovecot.append_many("desk", _mails(make_mail, 2000, "backlog"))
    env = dict(os.environ, PD_DATABASE_URL=url, PD_MAILBOX=dovecot.url("desk"))
    command = [sys.executable, "-c", "from bot.cli import main; raise SystemExit(main())", "fetch"]
    victim = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    assert _wait_for(lambda: _count(engine, MailMessage) >= 300, 60)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(10)
    taken = _count(engine, MailMessage)
    assert 0 < taken < 2000  # killed in the middle
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert _count(engine, MailMessage) == 2000
    assert _distinct_message_ids(engine) == 2000
    assert _count(engine, Case) == 2000


def test_serve_watches_until_sigterm(
    dovecot: Dovecot,
    desk_db: tuple[str, Engine],
    make_mail: Callable[..., bytes],
    tmp_path: Path,
) -> None:
    url, engine = desk_db
    env = dict(
        os.environ,
        PD_DATABASE_URL=url,
        PD_MAILBOX=dovecot.url("desk"),
        PD_SMTP_URL=f"file:{tmp_path / 'outbox'}",
        PD_APPROVERS="U0APPROVER1",
    )
    command = [sys.executable, "-c", "from bot.cli import main; raise SystemExit(main())", "serve"]
    service = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        dovecot.append("desk", _mails(make_mail, 1, "served")[0])
        # serve has started (on a busy machine that alone takes a while) and taken it in
        assert _wait_for(lambda: _count(engine, Case) == 1, 60)
        service.send_signal(signal.SIGTERM)
        out, err = service.communicate(timeout=15)
    finally:
        if service.poll() is None:
            service.kill()
            service.wait()
    assert service.returncode == 0, err
    assert "watching imap://desk@127.0.0.1" in out
    assert dovecot.users["desk"] not in out + err  # the password never reaches the logs
