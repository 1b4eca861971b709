"""Takahashi Hanako writes to the desk in Japanese (CP50220, with ①㈱髙), then follows up in the
thread with her application form, a photo of her driving licence, and three files staff must be
warned about. A privacy officer reads every word of both mails with `case` and `case --json`
(the quoted history and signature only with `--quoted`), finds the attachments numbered, flagged
and retrievable byte for byte with `attachment` — with the raw mail encrypted too — and finds
cases with `cases` filters. In the Slack thread the follow-up shows who wrote (masked), an
excerpt of its new text, the attachments' names and a Case file button — under `strict` only a
count."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import stat
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from casefile_mail import (
    FILES,
    FIRST_NEWEST,
    FIRST_SIGNATURE,
    FOLLOW_UP_NEWEST,
    FOLLOW_UP_QUOTED,
    LARGE_LIMIT,
    REQUESTER,
    first_mail,
    follow_up,
)
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine
from sqlmodel import Session
from support import add_case

from bot.cli import main
from bot.intake import Intake
from bot.slack.blocks import ACTIONS
from bot.slack.poster import CasePoster
from bot.words import words
from storage import crypto

EN = words("en")  # the staff texts these assertions read

TOKYO = ZoneInfo("Asia/Tokyo")
QUOTED_LINE = FOLLOW_UP_QUOTED.removeprefix("> ")


@pytest.fixture(params=["plain", "PD_RAW_KEYS"])
def desk(
    request: pytest.FixtureRequest,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[str]:
    """The desk's settings, the two mails taken in with `ingest`: the case reference."""
    monkeypatch.setenv("PD_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("PD_ATTACHMENT_MAX_BYTES", str(LARGE_LIMIT))
    monkeypatch.setenv("PD_FROM_ADDRESS", "privacy@example-hikaku.co.jp")
    if request.param == "PD_RAW_KEYS":
        monkeypatch.setenv("PD_RAW_KEYS", crypto.new_key())
    for name, raw in (("1.eml", first_mail()), ("2.eml", follow_up())):
        (tmp_path / name).write_bytes(raw)
    try:
        assert main(["ingest", str(tmp_path / "1.eml")]) == 0
        assert main(["ingest", str(tmp_path / "2.eml")]) == 0
        taken = capsys.readouterr().out
        assert "opened" in taken and "linked" in taken
        assert main(["cases", "--json"]) == 0
        [case] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        yield case["ref"]
    finally:
        crypto.configure(None)  # the commands applied PD_RAW_KEYS to this process


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def test_case_shows_every_word_and_the_quotes_only_when_asked(
    desk: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["case", desk]) == 0
    shown = capsys.readouterr().out
    shown_lines = _lines(shown)
    for line in _lines(FIRST_NEWEST) + _lines(FOLLOW_UP_NEWEST):
        assert line in shown_lines
    assert "①" in shown and "㈱" in shown and "髙橋" in shown
    assert "090-1234-5678" not in shown  # the signature
    assert FOLLOW_UP_QUOTED not in shown
    assert "[1] 申請書.pdf  application/pdf" in shown
    assert "[2] 免許証.png  image/png" in shown
    assert "[3] setup.exe" in shown and "FLAGGED: executable" in shown
    assert "[4] page.html" in shown and "FLAGGED: html" in shown
    assert "[5] scan.pdf" in shown and "FLAGGED: oversized" in shown
    assert "identity    not verified" in shown

    assert main(["case", desk, "--quoted"]) == 0
    quoted = capsys.readouterr().out
    for line in _lines(FIRST_SIGNATURE):
        assert f"| {line}" in quoted
    assert f"| {FOLLOW_UP_QUOTED}" in quoted


def test_case_json_carries_the_texts_and_attachments(
    desk: str, capsys: pytest.CaptureFixture[str]
) -> None:
    need = ["--need", "ご利用のサービス名", "--as", "sato"]
    assert main(["ask", desk, "--kind", "clarification", *need]) == 0
    capsys.readouterr()
    assert main(["case", desk, "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    first, second = record["messages"]
    assert first["text"].strip() == FIRST_NEWEST
    assert FIRST_SIGNATURE in first["quoted"]
    assert second["text"].strip() == FOLLOW_UP_NEWEST
    assert QUOTED_LINE in second["quoted"]
    assert first["subject"] == "個人情報開示のお願い①"
    assert first["attachments"] == []
    assert second["attachments"] == [
        {"n": n, "name": name, "type": ctype, "size": len(data), "flagged": flagged}
        for n, (name, ctype, data), flagged in zip(
            range(1, 6),
            FILES,
            [[], [], ["executable"], ["html"], ["oversized"]],
            strict=True,
        )
    ]
    assert record["requester"] == REQUESTER
    assert record["assignee"] is None
    assert record["verification"]["verified"] is False
    assert record["pauses"] == [] and record["notes"] == []
    # the desk's own acknowledgement (received long ago: the late one) and staff's draft
    [draft] = [d for d in record["drafts"] if d["edited_by"] != "intake"]
    assert [d["template"] for d in record["drafts"] if d["edited_by"] == "intake"] == ["ack"]
    assert (draft["status"], draft["edited_by"]) == ("draft", "sato")
    assert "ご利用のサービス名" in draft["body"] and draft["subject"]
    for key in ("ref", "status", "intents", "answer_due", "overdue", "addresses", "audit"):
        assert key in record


def test_attachments_come_back_byte_for_byte_and_are_audited(
    desk: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for n, (_, _, data) in enumerate(FILES, start=1):
        out = tmp_path / f"out-{n}"
        assert main(["attachment", desk, str(n), "--out", str(out), "--as", "sato"]) == 0
        assert out.read_bytes() == data
        assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert "(flagged: oversized)" in capsys.readouterr().err

    # never over an existing file
    kept = tmp_path / "out-1"
    assert main(["attachment", desk, "2", "--out", str(kept)]) == 2
    assert "exists" in capsys.readouterr().err
    assert kept.read_bytes() == FILES[0][2]

    # to stdout, as bytes
    stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    with monkeypatch.context() as patched:
        patched.setattr(sys, "stdout", stdout)
        assert main(["attachment", desk, "2", "--out", "-"]) == 0
    stdout.flush()
    assert stdout.buffer.getvalue() == FILES[1][2]  # type: ignore[attr-defined]

    assert main(["attachment", desk, "6", "--out", str(tmp_path / "none")]) == 2
    assert f"no attachment 6 in {desk}" in capsys.readouterr().err
    assert main(["attachment", desk, "0", "--out", "-"]) == 2
    assert main(["attachment", "PD-2026-999999", "1", "--out", "-"]) == 2
    capsys.readouterr()

    assert main(["case", desk, "--json"]) == 0
    exported = [
        e
        for e in json.loads(capsys.readouterr().out)["audit"]
        if e["action"] == "attachment exported"
    ]
    assert [e["detail"]["n"] for e in exported] == [1, 2, 3, 4, 5, 2]
    assert exported[0]["actor"] == "sato"
    assert len(exported[0]["detail"]["sha256"]) == 64
    assert all("name" not in e["detail"] for e in exported)


def test_cases_are_found_by_filters_and_listed_a_page_at_a_time(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PD_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    soon = datetime.now(UTC) + timedelta(days=3)
    with Session(engine) as session:
        early = add_case(
            session,
            "a@example.jp",
            received=datetime(2026, 3, 1, 0, 10, tzinfo=TOKYO),  # 28 Feb in UTC
            due=soon,
            assignee="U0SATO",
        )
        before = add_case(
            session,
            "b@example.jp",
            received=datetime(2026, 2, 28, 23, 50, tzinfo=TOKYO),
            due=soon + timedelta(days=1),
            intents=("disclosure",),
        )
        late = add_case(
            session,
            "c@example.jp",
            received=datetime(2026, 3, 5, 9, 0, tzinfo=TOKYO),
            due=soon + timedelta(days=2),
            intents=("stop_use", "complaint"),
            assignee="U0SATO",
            status="closed",
        )
        session.commit()

    def listed(*args: str) -> list[str]:
        assert main(["cases", "--json", *args]) == 0
        return [json.loads(line)["ref"] for line in capsys.readouterr().out.splitlines()]

    assert listed() == [early, before, late]  # the soonest deadline first
    assert listed("--assignee", "U0SATO") == [early, late]
    assert listed("--intent", "disclosure", "--intent", "complaint") == [before, late]
    assert listed("--intent", "stop_provision") == []
    assert listed("--since", "2026-03-01") == [early, late]  # the Tokyo day
    assert listed("--status", "closed") == [late]
    assert listed("--limit", "2") == [early, before]

    assert main(["cases", "--limit", "2"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[-1] == "2 of 3 cases"
    assert [line.split()[0] for line in table[1:-1]] == [early, before]
    assert main(["cases", "--limit", "0"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "3 cases"

    for bad, said in (
        (["--status", "waiting"], "invalid choice: 'waiting'"),
        (["--since", "2026-13-01"], "not a day as YYYY-MM-DD"),
        (["--limit", "-1"], "not a whole number of cases"),
        (["--intent", "everything"], "invalid choice: 'everything'"),
    ):
        assert main(["cases", *bad]) == 2
        err = capsys.readouterr().err
        assert said in err and len(err.splitlines()) == 1


def _follow_up_line(engine: Engine, slack: Any, mask: str) -> dict[str, Any]:
    """The request and its follow-up taken in and posted under ``mask``: the follow-up's line
    as the channel's history holds it."""
    intake = Intake(engine)
    opened = intake.process(first_mail())
    assert opened.action == "opened" and opened.ref
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.base_url, retry_handlers=[])
    poster = CasePoster(
        engine, client, slack.channel, mask_mode=mask, case_file=True, words=words("en")
    )
    asyncio.run(poster.run_once())
    assert intake.process(follow_up()).action == "linked"
    asyncio.run(poster.run_once())
    [parent] = slack.messages()
    lines = [
        m for m in slack.thread(slack.channel, parent["ts"])[1:] if "joined the case" in m["text"]
    ]
    assert len(lines) == 1
    return lines[0]


def test_the_follow_up_shows_in_the_thread_with_its_files_and_the_case_file_button(
    engine: Engine, slack: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="privacy_desk")
    line = _follow_up_line(engine, slack, "partial")
    text = line["text"]
    assert "From: t***@example.jp" in text
    assert "> 追加のお願いです。利用停止もお願いします。" in text  # the new text, not the quote
    assert "個人情報の開示をお願いします" not in text
    assert "Attachments (5): 申請書.pdf, 免許証.png, setup.exe, page.html, scan.pdf" in text
    [button] = [e for b in line["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert button["action_id"] == "pd.case.file" == ACTIONS["case_file"]
    assert "Case file" in button["text"]["text"]
    assert REQUESTER not in json.dumps(line, ensure_ascii=False)
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("privacy_desk"))
    assert "PD-2026-" in logged  # the desk's own log says what it did, by case reference
    for personal in (REQUESTER, "申請書", "免許証", "追加のお願い"):
        assert personal not in logged


def test_under_strict_the_follow_up_line_only_counts_its_files(engine: Engine, slack: Any) -> None:
    line = _follow_up_line(engine, slack, "strict")
    shown = json.dumps(line, ensure_ascii=False)
    assert "Attachments: 5 (their names are in the case file)" in line["text"]
    for personal in ("申請書", "免許証", "追加のお願い", "髙橋", "example.jp", "From:"):
        assert personal not in shown
    assert "pd.case.file" in shown
