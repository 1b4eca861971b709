"""The service around the parts: components restarted after errors and reported, leader-only
jobs run only while the lock is held, a stop drains within its time, every bad setting listed
at once, and the health and metrics on the HTTP port."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.registry import REGISTRY
from sqlalchemy import Engine
from sqlmodel import Session, select
from support import Serving, eventually, served_port

from bot.cli import main
from bot.health import MESSAGES, Health, watch_database
from bot.service import Component, Supervisor
from bot.slack.http import serve_http
from storage import repo


async def until(check: Callable[[], Any], timeout: float = 30.0) -> None:
    """Wait on the event loop until ``check()`` holds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not within the time"
        await asyncio.sleep(0.01)


class Lock:
    """A leader lock a test hands out and takes back."""

    def __init__(self) -> None:
        self.held = False

    def acquire(self) -> bool:
        return self.held

    def release(self) -> None:
        self.held = False


async def test_a_component_that_raises_is_reported_and_started_again() -> None:
    health, stop, runs = Health(), asyncio.Event(), []

    async def flaky(until: asyncio.Event, report: Any) -> None:
        runs.append(1)
        if len(runs) == 1:
            raise RuntimeError("database went away")
        report("ok", "")
        await until.wait()

    supervisor = asyncio.create_task(Supervisor([Component("outbox", flaky)], health, stop).run())
    await until(lambda: health.snapshot().get("outbox", {}).get("state") == "ok")
    assert len(runs) == 2
    stop.set()
    assert await asyncio.wait_for(supervisor, 5) is True
    assert health.snapshot()["outbox"]["state"] == "stopped"


async def test_leader_only_jobs_run_while_the_lock_is_held() -> None:
    health, stop, lock = Health(), asyncio.Event(), Lock()
    running = asyncio.Event()

    async def watch(until: asyncio.Event, report: Any) -> None:
        running.set()
        report("ok", "")
        await until.wait()
        running.clear()

    supervisor = asyncio.create_task(
        Supervisor(
            [Component("mailbox", watch, leader_only=True)],
            health,
            stop,
            lock=lock,
            lead_every=0.05,
        ).run()
    )
    await until(lambda: health.snapshot().get("mailbox", {}).get("state") == "standby")
    assert not running.is_set() and health.healthy()  # standing by is healthy
    lock.held = True  # the other replica died
    await until(running.is_set)
    lock.held = False  # this one lost its lock: it stops watching
    await until(lambda: not running.is_set())
    await until(lambda: health.snapshot()["mailbox"]["state"] == "standby")
    stop.set()
    assert await asyncio.wait_for(supervisor, 5) is True


async def test_a_stop_that_is_not_heard_is_reported_after_the_drain_time(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stop, deaf, running, cut = asyncio.Event(), asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def stuck(until: asyncio.Event, report: Any) -> None:
        running.set()
        try:
            await deaf.wait()  # ignores ``until``; ``deaf`` is never set
        except asyncio.CancelledError:
            cut.set()
            raise

    supervisor = asyncio.create_task(
        Supervisor([Component("stuck", stuck)], Health(), stop, drain=0.3).run()
    )
    await asyncio.wait_for(running.wait(), 5)
    stop.set()
    # The supervisor returns while the component still waits (it can end no other way than by
    # being cut off), saying so. 60 s is far above any load: only a supervisor that waits for
    # the component fails it.
    assert await asyncio.wait_for(supervisor, 60) is False
    assert cut.is_set() and not deaf.is_set()
    said = [r.getMessage() for r in caplog.records if "not stopped within" in r.getMessage()]
    assert [m.endswith(": stuck") for m in said] == [True], said


async def test_a_lock_that_cannot_be_asked_for_stops_the_supervisor_with_its_error() -> None:
    class Broken:
        def acquire(self) -> bool:
            raise RuntimeError("the database refused the lock's connection")

        def release(self) -> None:
            pass

    async def watch(until: asyncio.Event, report: Any) -> None:
        await until.wait()

    health = Health()
    supervisor = Supervisor(
        [Component("mailbox", watch, leader_only=True), Component("outbox", watch)],
        health,
        asyncio.Event(),
        lock=Broken(),
    )
    with pytest.raises(RuntimeError, match="lock's connection"):
        await asyncio.wait_for(supervisor.run(), 5)
    assert health.snapshot()["outbox"]["state"] == "stopped"  # the others were drained first


def test_every_bad_setting_is_listed_at_once_and_no_secret_shown(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PD_MAILBOX", "pop3://desk:hunter2-secret@mail.example.jp/INBOX")
    monkeypatch.setenv("PD_HTTP_PORT", "eighty")
    monkeypatch.setenv("PD_DIGEST_TIME", "25:99")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-secret-token")  # but no channel
    monkeypatch.setenv("PD_AUTO_MAIL_DAILY_CAP", "-1")
    monkeypatch.setenv("PD_SMTP_URL", "smtp+starttls://desk:hunter2-secret@mail.example.jp:587")
    monkeypatch.setenv("PD_APPROVERS", "U0APPROVER1")
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("privacy-desk: 5 settings are not usable:")
    for named in (
        "PD_MAILBOX",
        "PD_HTTP_PORT",
        "PD_DIGEST_TIME",
        "PD_SLACK_CHANNEL",
        "PD_AUTO_MAIL_DAILY_CAP",
    ):
        assert named in err
    assert "hunter2" not in err and "xoxb-secret" not in err


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read().decode()


def test_health_and_metrics_on_the_http_port(engine: Engine, make_mail: Any) -> None:
    from bot.intake import Intake

    received = datetime.now(UTC) - timedelta(days=30)
    opened_before = MESSAGES.labels("opened")._value.get()  # a process-wide counter
    Intake(engine, clock=lambda: received).process(make_mail("私の個人情報を削除してください。"))
    assert MESSAGES.labels("opened")._value.get() == opened_before + 1
    health, started = Health(), threading.Event()
    health.report("mailbox", "ok", "watching INBOX")
    health.report("outbox", "degraded", "2 mails deferred (server unavailable)")
    forget = watch_database(engine, lambda: datetime.now(UTC))
    bound: list[int] = []  # port 0: the OS chooses, serve_http tells which
    service = Serving(
        lambda stop: serve_http(
            None,
            stop,
            port=0,
            host="127.0.0.1",
            started=started.set,
            listening=lambda _host, port: bound.append(port),
            health=health,
        )
    ).start()
    try:
        assert started.wait(10)
        port = bound[0]
        status, body = _get(f"http://127.0.0.1:{port}/healthz")
        found = json.loads(body)
        assert status == 503 and found["healthy"] is False  # the outbox is not well
        assert found["components"]["outbox"]["detail"].startswith("2 mails deferred")
        health.report("outbox", "ok")
        assert _get(f"http://127.0.0.1:{port}/healthz")[0] == 200
        status, metrics = _get(f"http://127.0.0.1:{port}/metrics")
        assert status == 200
        assert "privacy_desk_cases_overdue 1.0" in metrics  # received 30 days ago, unanswered
        assert "privacy_desk_outbox_queued 0.0" in metrics
        assert (
            f'privacy_desk_messages_ingested_total{{action="opened"}} {opened_before + 1}'
            in metrics
        )
        assert 'privacy_desk_cases_opened_total{intent="deletion"}' in metrics
        with Session(engine) as session:
            [case] = repo.list_cases(session)
        assert case.ref not in metrics and "hanako" not in metrics
        assert _get(f"http://127.0.0.1:{port}/slack/events")[0] in (404, 405)  # not here
    finally:
        service.stop(5)
        forget()
    assert not service.is_alive() and service.error is None
    # The database's gauges leave the registry with the service that registered them.
    assert REGISTRY.get_sample_value("privacy_desk_cases_overdue") is None
    counted = REGISTRY.get_sample_value(
        "privacy_desk_messages_ingested_total", {"action": "opened"}
    )
    assert counted == opened_before + 1  # the counters stay: they belong to the process


def test_the_retention_job_purges_cases_past_the_period(engine: Engine, make_mail: Any) -> None:
    from bot.cases import CaseDesk
    from bot.intake import Intake
    from bot.replies import Replies, ReplySettings
    from bot.service import _retention
    from storage.models import MailMessage

    long_ago = datetime.now(UTC) - timedelta(days=400)
    settings = ReplySettings.from_env({"PD_APPROVERS": "yamada"})
    ref = Intake(engine, clock=lambda: long_ago).process(make_mail("配信を停止してください。")).ref
    assert ref is not None
    desk = CaseDesk(engine, Replies(engine, settings), clock=lambda: long_ago)
    desk.close(ref, reason="電話で対応済み", actor="yamada")
    said: list[tuple[str, str]] = []

    async def purge_once() -> None:
        stop = asyncio.Event()

        def report(state: str, detail: str = "") -> None:
            said.append((state, detail))
            stop.set()

        await _retention(engine, 365)(stop, report)

    asyncio.run(purge_once())
    assert said == [("ok", "last purge: 1 cases, 1 messages")]
    with Session(engine) as session:
        [message] = session.exec(select(MailMessage)).all()
        case = repo.case_by_ref(session, ref)
    assert message.raw is None and case is not None and case.purged_at is not None


# Run as ``python -c`` by the test below: ``serve`` in the main thread, as an operator runs it,
# and the test's own look-out beside it. Once the test says so (it creates the file ``look``),
# the look-out writes every other thread of the process to ``found`` and stops the desk.
SERVE_AND_LOOK = """
import json, os, signal, sys, threading, time
from concurrent.futures.process import _ExecutorManagerThread
from pathlib import Path
from bot.cli import main

look, found = Path(sys.argv[1]), Path(sys.argv[2])

def look_out():
    while not look.exists():
        time.sleep(0.05)
    me = threading.current_thread()
    threads = [
        {"name": t.name, "manager": isinstance(t, _ExecutorManagerThread)}
        for t in threading.enumerate() if t is not me
    ]
    found.write_text(json.dumps(threads))
    os.kill(os.getpid(), signal.SIGTERM)

threading.Thread(target=look_out, name="the-test-s-look-out", daemon=True).start()
raise SystemExit(main(["serve", "--workers", "1"]))
"""

# what the desk's threads may be: its worker pools, the loop's default executor, and the intake
# process pool's manager thread and queue feeder (the intake workers are processes)
MAY_RUN = ("pd-db_", "pd-imap_", "asyncio_")


def test_serve_is_one_event_loop_and_named_worker_threads(
    engine: Engine,
    dovecot: Any,
    smtp_server: Any,
    slack: Any,
    make_mail: Any,
    tmp_path: Path,
) -> None:
    env = {
        **os.environ,
        "PD_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "PD_MAILBOX": dovecot.url("desk"),
        "PD_SMTP_URL": smtp_server.url(),
        "PD_FROM_ADDRESS": "privacy@example-hikaku.co.jp",
        "PD_APPROVERS": "U0APPROVE1",
        "PD_AUTO_ACK": "1",  # the outbox sends, and keeps a copy in the mailbox's Sent folder
        "PD_IMAP_SENT_FOLDER": "Sent",
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": "signing-secret-of-the-thread-test",
        "PD_SLACK_CHANNEL": slack.channel,
        "PD_SLACK_API_URL": slack.base_url,
        "PD_HTTP_PORT": "0",  # the OS chooses a free port; serve prints it
    }
    look, found = tmp_path / "look", tmp_path / "found"
    dovecot.append("desk", make_mail("私の個人情報を削除してください。"))
    root = Path(__file__).resolve().parents[2]
    with (tmp_path / "out").open("wb") as out, (tmp_path / "err").open("wb") as err:
        service = subprocess.Popen(
            [sys.executable, "-c", SERVE_AND_LOOK, str(look), str(found)],
            cwd=root,
            env=env,
            stdout=out,
            stderr=err,
        )
    try:
        port = served_port(service, tmp_path / "out")

        def all_up() -> bool:
            assert service.poll() is None, (tmp_path / "err").read_text()[-3000:]
            status, body = _get(f"http://127.0.0.1:{port}/healthz") if _listening(port) else (0, "")
            if status != 200:
                return False
            states = {k: v["state"] for k, v in json.loads(body)["components"].items()}
            return states == dict.fromkeys(
                ("http", "mailbox", "model", "outbox", "retention", "scheduler", "slack-poster"),
                "ok",
            )

        eventually(all_up, "every component ok in /healthz", timeout=90)
        # the mail went through the intake workers, its case to the channel, the acknowledgement
        # to the requester and its copy to the Sent folder
        eventually(lambda: slack.messages(), "the case in the channel", timeout=60)
        eventually(lambda: smtp_server.received, "the acknowledgement sent", timeout=60)
        eventually(lambda: _sent_copies(dovecot) == 1, "its copy in Sent", timeout=60)
        look.touch()
        code = service.wait(60)
    finally:
        if service.poll() is None:
            service.kill()
            service.wait(10)
    assert code == 0, (tmp_path / "err").read_text()[-3000:]
    threads = json.loads(found.read_text())
    names = [t["name"] for t in threads]
    others = [
        t["name"]
        for t in threads
        if not (
            t["name"] == "MainThread"
            or t["name"].startswith(MAY_RUN)
            or t["manager"]
            or t["name"] == "QueueFeederThread"
        )
    ]
    assert not others, f"threads other than the named pools: {names}"
    assert "MainThread" in names
    assert any(n.startswith("pd-db_") for n in names), names
    assert any(n.startswith("pd-imap_") for n in names), names  # the watcher
    assert any(t["manager"] for t in threads), names  # the intake workers' pool


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _sent_copies(dovecot: Any) -> int:
    with dovecot.client("desk") as imap:
        if not imap.folder_exists("Sent"):
            return 0
        imap.select_folder("Sent", readonly=True)
        return len(imap.search(["ALL"]))


def test_metrics_want_their_bearer_token_when_one_is_set() -> None:
    started, bound = threading.Event(), list[int]()
    service = Serving(
        lambda stop: serve_http(
            None,
            stop,
            port=0,
            started=started.set,
            listening=lambda _host, port: bound.append(port),
            health=Health(),
            metrics_token="s3cret-token",
        )
    ).start()
    try:
        assert started.wait(10)
        port = bound[0]
        assert _get(f"http://127.0.0.1:{port}/metrics")[0] == 401
        request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics")
        request.add_header("Authorization", "Bearer s3cret-token")
        with urllib.request.urlopen(request, timeout=5) as answer:
            assert answer.status == 200
        assert _get(f"http://127.0.0.1:{port}/healthz")[0] != 401  # health needs no token
    finally:
        service.stop(5)
    assert not service.is_alive() and service.error is None


def test_http_mode_needs_the_signing_secret() -> None:
    def build() -> Any:
        raise AssertionError("not built without a secret")

    with pytest.raises(ValueError, match="signing secret"):
        asyncio.run(serve_http(build, asyncio.Event(), port=0))
