"""Outages show (DESIGN rule 9): Slack unreachable for a minute and a half turns the poster
``degraded`` and ``/healthz`` 503 with the reason, even with nothing to post, and both recover
when Slack is back; a fetched message that is neither committed nor quarantined shows the mailbox
``degraded`` while an idle mailbox stays well; the states are in the metrics too. Slack is the Web
API double, the mailbox the real Dovecot; the poster's clock is the test's."""

from __future__ import annotations

import itertools
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client.registry import REGISTRY
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine
from support import Serving, eventually, free_port

import bot.intake
from bot.health import Health
from bot.slack.http import serve_http
from bot.slack.poster import CasePoster
from bot.watch import desk_watcher
from handlers.classify import Classification
from mail.imap import parse_mailbox_url
from mail.parse import ParsedMessage

T0 = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)


def _healthz(port: int) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
            return int(answer.status), json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def _metrics(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        return bytes(answer.read()).decode()


@pytest.fixture
def http(request: pytest.FixtureRequest) -> Iterator[tuple[Health, int]]:
    """A Health served on a free port (``/healthz``, ``/metrics``), its states in the metrics."""
    health, started, port = Health(), threading.Event(), free_port()
    states = health.collector()
    REGISTRY.register(states)
    service = Serving(
        lambda stop: serve_http(
            None, stop, port=port, host="127.0.0.1", started=started.set, health=health
        )
    ).start()
    assert started.wait(15)
    yield health, port
    service.stop(10)
    REGISTRY.unregister(states)


def test_slack_down_for_90_seconds_makes_healthz_503_and_it_recovers(
    engine: Engine, slack: Any, http: tuple[Health, int]
) -> None:
    health, port = http
    now = [T0]
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.base_url, retry_handlers=[])
    poster = CasePoster(engine, client, slack.channel, clock=lambda: now[0])
    passes: list[str] = []

    def report(state: str, detail: str = "") -> None:
        passes.append(state)
        health.report("slack-poster", state, detail)

    service = Serving(lambda stop: poster.serve(stop, report, every=0.05, max_backoff=0.2)).start()
    try:
        eventually(lambda: passes[-1:] == ["ok"])
        assert _healthz(port)[0] == 200
        assert "auth.test" in [call.method for call in slack.calls()]

        slack.down()
        now[0] = T0 + timedelta(seconds=30)  # within the minute: nothing asked of Slack yet
        seen = len(passes)
        eventually(lambda: len(passes) >= seen + 3)
        assert _healthz(port)[0] == 200

        now[0] = T0 + timedelta(seconds=90)
        eventually(lambda: _healthz(port)[0] == 503)
        body = _healthz(port)[1]
        assert body["components"]["slack-poster"]["state"] == "degraded"
        assert "Slack unreachable" in body["components"]["slack-poster"]["detail"]
        assert (
            'privacy_desk_component_state{component="slack-poster",state="degraded"} 1.0'
            in _metrics(port)
        )

        slack.up()
        now[0] = T0 + timedelta(seconds=200)
        eventually(lambda: _healthz(port)[0] == 200)
        assert _healthz(port)[1]["components"]["slack-poster"]["state"] == "ok"
    finally:
        service.stop(10)


def test_a_message_stuck_in_intake_shows_the_mailbox_degraded_and_an_idle_one_well(
    dovecot: Any,
    engine: Engine,
    make_mail: Callable[..., bytes],
    http: tuple[Health, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    health, port = http
    release = threading.Event()
    real = bot.intake.classify

    def classify(msg: ParsedMessage) -> Classification:
        if "STUCK" in msg.newest_text:
            for _ in itertools.count():  # a classifier that does not come back...
                if release.is_set():  # ...until the test lets it
                    break
        return real(msg)

    monkeypatch.setattr(bot.intake, "classify", classify)
    watcher, sink = desk_watcher(engine, parse_mailbox_url(dovecot.url("desk")), batch=10)
    health.report("mailbox", "ok", "watching INBOX")
    health.watch("mailbox", lambda: sink.stuck(after=0.5))
    try:
        watcher.run_once()  # an idle mailbox is well
        assert _healthz(port)[0] == 200

        dovecot.append("desk", make_mail("STUCK\n個人情報を削除してください。"))
        passing = threading.Thread(target=watcher.run_once)
        passing.start()
        eventually(lambda: _healthz(port)[0] == 503)
        detail = _healthz(port)[1]["components"]["mailbox"]["detail"]
        assert "neither committed nor quarantined" in detail
        release.set()
        passing.join(30)
        assert _healthz(port)[0] == 200
    finally:
        release.set()
        sink.close()
