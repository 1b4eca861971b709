"""Every case appears in the Slack channel once, edited in place when it changes — whatever
Slack does: rate limits, 5xx after posting, being down — and nothing from an email pings anyone.
Slack is the local Web API double (tests/slack_double.py)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine
from sqlmodel import Session, select
from support import eventually

from bot.intake import Intake
from bot.replies import Replies, ReplySettings
from bot.slack.poster import EVENT_TYPE, CasePoster, PostSummary
from bot.words import words
from storage.models import Case

EN = words("en")  # the staff texts these assertions read

SETTINGS = {"PD_FROM_ADDRESS": "privacy@example-hikaku.co.jp", "PD_APPROVERS": "sato"}


def _poster(engine: Engine, slack: Any) -> CasePoster:
    # No retry handlers: the poster alone decides what may be sent again.
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.base_url, retry_handlers=[])
    return CasePoster(engine, client, slack.channel, words=words("en"))


def _take(engine: Engine, make_mail: Callable[..., bytes], n: int, body: str = "") -> list[str]:
    intake = Intake(engine, replies=ReplySettings.from_env(SETTINGS))
    refs = []
    for i in range(n):
        result = intake.process(
            make_mail(
                body or f"私の個人情報を削除してください。会員番号 {i}",
                sender=f"user{i}@example.jp",
                message_id=f"<slack-{i}@example.jp>",
            )
        )
        assert result.ref
        refs.append(result.ref)
    return refs


def _cases(engine: Engine) -> list[Case]:
    with Session(engine) as session:
        return list(session.exec(select(Case).order_by(Case.id)))


def _posted_refs(slack: Any) -> list[str]:
    return [m["blocks"][0]["text"]["text"].split(" · ")[0] for m in slack.messages()]


def run(poster: CasePoster) -> PostSummary:
    return asyncio.run(poster.run_once())


def test_a_case_appears_once_and_is_edited_in_place(
    engine: Engine, slack: Any, make_mail: Callable[..., bytes]
) -> None:
    [ref] = _take(engine, make_mail, 1)
    poster = _poster(engine, slack)
    assert run(poster).posted == 1
    [message] = slack.messages()
    shown = json.dumps(message["blocks"], ensure_ascii=False)
    assert f"{ref} · deletion" in shown and "u***@example.jp" in shown
    assert "私の個人情報を削除してください。" in shown
    [case] = _cases(engine)
    assert (case.slack_ts, case.slack_state) == (message["ts"], "posted")
    call, drafted = slack.calls("chat.postMessage")
    metadata = call.params["metadata"]
    assert (json.loads(metadata) if isinstance(metadata, str) else metadata) == {
        "event_type": EVENT_TYPE,
        "event_payload": {"ref": ref},
    }

    # the acknowledgement drafted at intake waits in the thread, with its buttons
    [_parent, ack] = slack.thread(slack.channel, message["ts"])
    assert drafted.params["thread_ts"] == message["ts"]
    assert "Approve and send" in json.dumps(ack["blocks"]) and "ack" in ack["text"]

    assert run(poster) == PostSummary()  # nothing changed: nothing sent
    Replies(engine, ReplySettings.from_env(SETTINGS)).mark_verified(ref, actor="sato", how="電話")
    assert run(poster).updated == 1
    [message] = slack.messages()  # the same message, edited
    assert "identity verified" in json.dumps(message["blocks"])
    # no new parent: the verification is told in the case's thread
    assert len(slack.calls("chat.postMessage")) == 3
    assert slack.thread(slack.channel, message["ts"])[-1]["text"] == (
        "sato verified the identity: 電話."
    )


def test_a_burst_of_200_cases_through_a_429_storm_loses_and_doubles_nothing(
    engine: Engine, slack: Any, make_mail: Callable[..., bytes]
) -> None:
    refs = _take(engine, make_mail, 200)
    poster = _poster(engine, slack)
    slack.rate_limit("chat.postMessage", retry_after=2, times=6)
    waits = []
    for _ in range(20):
        summary = run(poster)
        if summary.retry_after:
            waits.append(summary.retry_after)  # the serving loop sleeps this long
        elif len(slack.messages()) == 200:
            break
    assert waits == [2.0] * 6  # each 429 stopped a pass and was honoured
    assert sorted(_posted_refs(slack)) == sorted(refs)
    assert len(slack.messages()) == 200
    # 200 parent messages, 200 acknowledgement drafts in their threads, the 6 refused
    assert len(slack.calls("chat.postMessage")) == 406
    assert all(len(slack.thread(slack.channel, m["ts"])) == 2 for m in slack.messages())
    assert {c.slack_state for c in _cases(engine)} == {"posted"}


@pytest.mark.parametrize("after_effect", [True, False], ids=["posted anyway", "not posted"])
def test_a_5xx_is_never_blindly_retried(
    after_effect: bool, engine: Engine, slack: Any, make_mail: Callable[..., bytes]
) -> None:
    [ref] = _take(engine, make_mail, 1)
    poster = _poster(engine, slack)
    slack.fail("chat.postMessage", status=500, after_effect=after_effect)
    summary = run(poster)
    assert summary.uncertain == 1 and summary.posted == 0
    assert _cases(engine)[0].slack_state == "uncertain"
    # the next pass looks in the channel before posting again
    summary = run(poster)
    assert (summary.found, summary.posted) == ((1, 0) if after_effect else (0, 1))
    assert _posted_refs(slack) == [ref]
    [case] = _cases(engine)
    assert case.slack_ts == slack.messages()[0]["ts"] and case.slack_state == "posted"


def test_slack_down_delays_nothing_at_intake_and_catches_up(
    engine: Engine, slack: Any, make_mail: Callable[..., bytes]
) -> None:
    poster = _poster(engine, slack)
    slack.down()
    refs = _take(engine, make_mail, 3)  # intake does not wait for Slack
    summary = run(poster)
    assert summary.posted == 0 and summary.errors
    slack.up()
    for _ in range(3):
        run(poster)
    assert sorted(_posted_refs(slack)) == sorted(refs)


def test_mail_text_cannot_ping_the_channel(
    engine: Engine, slack: Any, make_mail: Callable[..., bytes]
) -> None:
    _take(
        engine,
        make_mail,
        1,
        body="<!channel> 至急 <@U0DESKBOT1> 私のデータを削除して <https://evil.example|銀行>",
    )
    run(_poster(engine, slack))
    [message] = slack.messages()
    shown = json.dumps(message, ensure_ascii=False)
    assert "<!channel>" not in shown and "<@U0DESKBOT1>" not in shown and "<https://" not in shown
    assert "&lt;!channel&gt;" in shown


def test_serve_puts_new_mail_in_the_channel(
    desk_db: tuple[str, Engine], slack: Any, dovecot: Any, make_mail: Callable[..., bytes]
) -> None:
    url, _engine = desk_db
    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "PD_DATABASE_URL": url,
        "PD_MAILBOX": dovecot.url("desk"),
        "PD_SMTP_URL": f"file:{Path(url.removeprefix('sqlite:///')).parent / 'outbox'}",
        "PD_APPROVERS": "U0APPROVER1",
        "SLACK_BOT_TOKEN": slack.bot_token,
        "PD_SLACK_CHANNEL": slack.channel,
        "PD_SLACK_API_URL": slack.base_url,
    }
    command = [sys.executable, "-c", "from bot.cli import main; raise SystemExit(main())", "serve"]
    service = subprocess.Popen(
        command, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        dovecot.append(
            "desk", make_mail("私の個人情報を開示してください。", message_id="<serve-1@example.jp>")
        )

        def cases() -> list[Any]:  # the scheduler may post the day's digest there too
            return [m for m in slack.messages() if m.get("text", "").startswith("PD-")]

        [message] = eventually(cases, "the case in the channel", timeout=60)
        # serve speaks the default staff language, Japanese
        [header] = [b["text"]["text"] for b in message["blocks"] if b["type"] == "header"]
        assert re.fullmatch(r"PD-\d{4}-\d{6} · 開示", header)
    finally:
        service.send_signal(signal.SIGTERM)
        out, err = service.communicate(timeout=20)
    assert service.returncode == 0, err
    assert slack.bot_token not in out + err


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"SLACK_BOT_TOKEN": "xoxb-secret"}, "PD_SLACK_CHANNEL"),
        ({"PD_SLACK_CHANNEL": "C0DESK0001"}, "SLACK_BOT_TOKEN"),
        (
            {"SLACK_BOT_TOKEN": "xoxb-secret", "PD_SLACK_CHANNEL": "C1", "PD_SLACK_MASK": "some"},
            "PD_SLACK_MASK",
        ),
    ],
)
def test_half_a_slack_setting_is_refused_in_one_line(
    settings: dict[str, str],
    named: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bot.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PD_MAILBOX", "imap://desk:pw@127.0.0.1:1/INBOX")
    monkeypatch.setenv("PD_SMTP_URL", "smtp://127.0.0.1:1")
    monkeypatch.setenv("PD_APPROVERS", "U0APPROVER1")
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and named in err and "xoxb-secret" not in err
    assert not (tmp_path / "var").exists()
