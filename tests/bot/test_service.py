"""The service around the parts: components restarted after errors and reported, leader-only
jobs run only while the lock is held, a stop drains within its time, every bad setting listed
at once, and the health and metrics on the HTTP port."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client.registry import REGISTRY
from sqlalchemy import Engine
from sqlmodel import Session, select
from support import eventually, free_port

from bot.cli import main
from bot.health import MESSAGES, Health, watch_database
from bot.service import Component, Supervisor
from bot.slack.http import serve_http
from storage import repo


class Lock:
    """A leader lock a test hands out and takes back."""

    def __init__(self) -> None:
        self.held = False

    def acquire(self) -> bool:
        return self.held

    def release(self) -> None:
        self.held = False


def test_a_component_that_raises_is_reported_and_started_again() -> None:
    health, stop, runs = Health(), threading.Event(), []

    def flaky(until: threading.Event, report: Any) -> None:
        runs.append(1)
        if len(runs) == 1:
            raise RuntimeError("database went away")
        report("ok", "")
        until.wait()

    supervisor = Supervisor([Component("outbox", flaky)], health, stop)
    thread = threading.Thread(target=supervisor.run)
    thread.start()
    eventually(lambda: health.snapshot().get("outbox", {}).get("state") == "ok")
    assert len(runs) == 2
    stop.set()
    thread.join(5)
    assert health.snapshot()["outbox"]["state"] == "stopped"


def test_leader_only_jobs_run_while_the_lock_is_held() -> None:
    health, stop, lock = Health(), threading.Event(), Lock()
    running = threading.Event()

    def watch(until: threading.Event, report: Any) -> None:
        running.set()
        report("ok", "")
        until.wait()
        running.clear()

    supervisor = Supervisor(
        [Component("mailbox", watch, leader_only=True)], health, stop, lock=lock, lead_every=0.05
    )
    thread = threading.Thread(target=supervisor.run)
    thread.start()
    eventually(lambda: health.snapshot().get("mailbox", {}).get("state") == "standby")
    assert not running.is_set() and health.healthy()  # standing by is healthy
    lock.held = True  # the other replica died
    eventually(running.is_set)
    lock.held = False  # this one lost its lock: it stops watching
    eventually(lambda: not running.is_set())
    eventually(lambda: health.snapshot()["mailbox"]["state"] == "standby")
    stop.set()
    thread.join(5)
    assert not thread.is_alive()


def test_a_stop_that_is_not_heard_is_reported_after_the_drain_time() -> None:
    stop, deaf, running = threading.Event(), threading.Event(), threading.Event()

    def stuck(until: threading.Event, report: Any) -> None:
        running.set()
        deaf.wait(5)  # ignores ``until``

    supervisor = Supervisor([Component("stuck", stuck)], Health(), stop, drain=0.3)
    result: list[bool] = []
    thread = threading.Thread(target=lambda: result.append(supervisor.run()))
    thread.start()
    assert running.wait(5)
    stop.set()
    started = time.monotonic()
    thread.join(5)
    assert result == [False] and time.monotonic() - started < 2
    deaf.set()


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
    health, stop, started = Health(), threading.Event(), threading.Event()
    health.report("mailbox", "ok", "watching INBOX")
    health.report("outbox", "degraded", "2 mails deferred (server unavailable)")
    forget = watch_database(engine, lambda: datetime.now(UTC))
    port = free_port()
    thread = threading.Thread(
        target=serve_http,
        args=(None, stop),
        kwargs={"port": port, "host": "127.0.0.1", "started": started, "health": health},
    )
    thread.start()
    try:
        assert started.wait(10)
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
        stop.set()
        thread.join(5)
        forget()
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
    stop, said = threading.Event(), []

    def report(state: str, detail: str = "") -> None:
        said.append((state, detail))
        stop.set()

    _retention(engine, 365)(stop, report)
    assert said == [("ok", "last purge: 1 cases, 1 messages")]
    with Session(engine) as session:
        [message] = session.exec(select(MailMessage)).all()
        case = repo.case_by_ref(session, ref)
    assert message.raw is None and case is not None and case.purged_at is not None
