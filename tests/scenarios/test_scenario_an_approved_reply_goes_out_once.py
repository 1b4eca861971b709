"""Staff approve a reply and it reaches the requester once: decoded and threaded in their client,
through SMTP outages and a sender killed mid-send, whatever a requester put in their name or
subject, and only when an approver approves it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.cli import main
from bot.intake import Intake
from bot.replies import Replies, ReplyError, ReplySettings, Sender
from mail.parse import parse_message
from mail.smtp import parse_smtp_url
from storage import repo
from storage.models import AuditEvent, Draft, OutboxItem

ROOT = Path(__file__).resolve().parents[2]
DESK = "privacy@example-hikaku.co.jp"
REQUESTER = "hanako@example.jp"
SETTINGS = {
    "PD_FROM_ADDRESS": DESK,
    "PD_COMPANY_NAME": "株式会社ヒカクプラス",
    "PD_COMPANY_NAME_EN": "HikakuPlus Inc.",
    "PD_APPROVERS": "sato, U0APPROVER",
}
SENT = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)


@pytest.fixture
def desk(monkeypatch: pytest.MonkeyPatch, database: str) -> dict[str, str]:
    env = {**SETTINGS, "PD_DATABASE_URL": database}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def _request(engine: Engine, make_mail: Callable[..., bytes], **headers: Any) -> str:
    raw = make_mail(
        "ヒカクプラス会員の佐藤花子です。\n私の個人情報をすべて削除してください。",
        sender=headers.pop("sender", f"佐藤 花子 <{REQUESTER}>"),
        subject=headers.pop("subject", "個人情報削除のお願い"),
        date=SENT,
        message_id=headers.pop("message_id", "<req-1@mail.example.jp>"),
        **headers,
    )
    result = Intake(engine, replies=ReplySettings.from_env(SETTINGS)).process(raw)
    assert result.action == "opened" and result.ref
    return result.ref


def _answer_draft(ref: str, capsys: pytest.CaptureFixture[str]) -> int:
    """Staff verify the requester and prepare the deletion answer, from the command line."""
    assert main(["verify", ref, "--how", "会員ID と登録電話番号で本人確認", "--as", "sato"]) == 0
    assert (
        main(
            [
                "draft",
                ref,
                "deletion_done",
                "--set",
                "deleted=会員登録情報（氏名・住所・電話番号）",
                "--set",
                "deleted=メールマガジン配信先",
                "--set",
                "done_on=2026-11-25",
                "--as",
                "yamada",
            ]
        )
        == 0
    )
    return int(_drafted(capsys).split()[1])


def _drafted(capsys: pytest.CaptureFixture[str]) -> str:
    """The line `privacy-desk draft` printed: "draft 2 for PD-...: subject"."""
    return [x for x in capsys.readouterr().out.splitlines() if x.startswith("draft ")][-1]


def _approved(
    engine: Engine, make_mail: Callable[..., bytes], capsys: pytest.CaptureFixture[str]
) -> tuple[str, int]:
    """A verified deletion request whose answer an approver has approved (queued, not sent)."""
    ref = _request(engine, make_mail)
    draft_id = _answer_draft(ref, capsys)
    assert main(["approve", str(draft_id), "--as", "sato"]) == 0
    return ref, draft_id


def _outbox(engine: Engine) -> list[OutboxItem]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxItem)))


def test_an_approved_japanese_answer_arrives_decoded_and_threaded(
    desk: dict[str, str],
    engine: Engine,
    smtp_server: Any,
    make_mail: Callable[..., bytes],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ref, draft_id = _approved(engine, make_mail, capsys)
    assert "queued" in capsys.readouterr().out
    assert smtp_server.received == []  # approved is queued, not yet sent

    monkeypatch.setenv("PD_SMTP_URL", smtp_server.url())
    assert main(["send"]) == 0
    assert "1 sent" in capsys.readouterr().out

    [got] = smtp_server.received
    assert (got.sender, got.recipients) == (DESK, (REQUESTER,))
    mail = parse_message(got.data)
    assert ref in mail.subject and "削除" in mail.subject
    assert "会員登録情報（氏名・住所・電話番号）" in mail.text
    assert "メールマガジン配信先" in mail.text
    assert "2026年11月25日" in mail.text
    assert "株式会社ヒカクプラス" in mail.text
    assert mail.in_reply_to == "req-1@mail.example.jp"  # threads under her request
    assert "req-1@mail.example.jp" in mail.references
    assert mail.sender is not None and mail.sender.address == DESK
    # approved by a person: a letter, not an auto-reply (DESIGN rule 2); our loop header only
    assert mail.header("Auto-Submitted") is None
    assert mail.header("X-Auto-Response-Suppress") is None
    assert mail.header("X-Privacy-Desk-Loop") == DESK
    assert all(line.isascii() for line in got.data.splitlines())  # 7-bit clean on the wire

    assert main(["case", ref, "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["status"] == "answered"
    actions = [(e["actor"], e["action"]) for e in record["audit"]]
    assert actions == [
        ("intake", "case opened"),
        ("intake", "draft prepared"),
        ("sato", "identity verified"),
        ("yamada", "draft prepared"),
        ("sato", "draft approved"),
        ("outbox", "mail sent"),
    ]
    approved = record["audit"][4]["detail"]
    assert approved["draft"] == draft_id and approved["revision"] == 1
    assert [m["direction"] for m in record["messages"]] == ["in", "out"]
    assert record["messages"][1]["disposition"] == "sent"

    assert main(["send"]) == 0  # nothing left: sent once
    assert len(smtp_server.received) == 1


def test_smtp_down_then_back_sends_exactly_once(
    desk: dict[str, str],
    engine: Engine,
    smtp_server: Any,
    make_mail: Callable[..., bytes],
    capsys: pytest.CaptureFixture[str],
) -> None:
    _approved(engine, make_mail, capsys)
    clock = [datetime.now(UTC)]
    closed = socket_port()
    down = Sender(engine, parse_smtp_url(f"smtp://127.0.0.1:{closed}"), clock=lambda: clock[0])
    up = Sender(engine, parse_smtp_url(smtp_server.url()), clock=lambda: clock[0])

    # connection refused, then the server answers 421 and 451: each try waits longer
    assert asyncio.run(down.run_once()).deferred == 1
    smtp_server.fail_next(421)
    assert asyncio.run(up.run_once()).sent == 0  # not due yet: nothing is tried
    waits = []
    for code in (421, 451):
        [item] = _outbox(engine)
        waits.append(item.next_attempt_at - clock[0])
        clock[0] = item.next_attempt_at
        if code == 451:
            smtp_server.fail_next(451)
        assert asyncio.run(up.run_once()).deferred == 1
    [item] = _outbox(engine)
    assert item.status == "queued" and item.attempts == 3 and "451" in (item.last_error or "")
    assert waits[1] > waits[0] > timedelta(0)
    clock[0] = item.next_attempt_at
    assert asyncio.run(up.run_once()).sent == 1
    assert asyncio.run(up.run_once()).sent == 0
    assert len(smtp_server.received) == 1
    [item] = _outbox(engine)
    assert (item.status, item.attempts) == ("sent", 4)


def socket_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_a_sender_killed_before_the_servers_answer_sends_once_after_restart(
    desk: dict[str, str],
    engine: Engine,
    smtp_server: Any,
    make_mail: Callable[..., bytes],
    capsys: pytest.CaptureFixture[str],
) -> None:
    _approved(engine, make_mail, capsys)
    env = {**os.environ, **desk, "PD_SMTP_URL": smtp_server.url()}
    command = [sys.executable, "-c", "from bot.cli import main; raise SystemExit(main())", "send"]

    held = smtp_server.hold_next()
    victim = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    assert held.wait(30)  # the message went over the wire; the 250 never came
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(10)
    [item] = _outbox(engine)
    assert item.status == "queued"  # not marked sent: the server never said it took it

    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert len(smtp_server.received) == 1
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert "0 sent" in done.stdout and len(smtp_server.received) == 1


def test_approval_is_refused_to_others_and_counted_once(
    desk: dict[str, str],
    engine: Engine,
    make_mail: Callable[..., bytes],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ref = _request(engine, make_mail)
    draft_id = _answer_draft(ref, capsys)

    assert main(["approve", str(draft_id), "--as", "mallory"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "mallory is not an approver" in err
    assert _outbox(engine) == []

    # four eyes: the last editor may not approve their own text
    monkeypatch.setenv("PD_FOUR_EYES", "1")
    replies = Replies(engine, ReplySettings.from_env({**SETTINGS, "PD_FOUR_EYES": "1"}))
    replies.edit(draft_id, subject="削除完了のお知らせ", body="削除いたしました。", editor="sato")
    with pytest.raises(ReplyError, match="four eyes"):
        replies.approve(draft_id, approver="sato")
    # an approval of the revision someone saw before the edit is refused too
    with pytest.raises(ReplyError, match="you saw revision 1, it is now revision 2"):
        replies.approve(draft_id, approver="U0APPROVER", revision=1)

    # two approvers at once, and a double click: one mail
    results: list[Any] = []

    def approve(who: str) -> None:
        try:
            results.append(replies.approve(draft_id, approver=who, revision=2).outcome)
        except ReplyError as exc:
            results.append(str(exc))

    threads = [threading.Thread(target=approve, args=("U0APPROVER",)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("queued") == 1, results
    assert len(_outbox(engine)) == 1
    assert main(["approve", str(draft_id), "--as", "U0APPROVER"]) == 0
    assert "already approved" in capsys.readouterr().out
    assert len(_outbox(engine)) == 1

    with Session(engine) as session:
        refused = [e for e in session.exec(select(AuditEvent)) if e.action == "approval refused"]
        draft = session.get(Draft, draft_id)
    assert [e.actor for e in refused] == ["mallory", "sato", "U0APPROVER"]
    assert draft is not None and (draft.approved_by, draft.approved_revision) == ("U0APPROVER", 2)


def test_what_a_requester_writes_stays_data_in_the_reply(
    desk: dict[str, str],
    engine: Engine,
    smtp_server: Any,
    make_mail: Callable[..., bytes],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ref = _request(
        engine,
        make_mail,
        sender=f'"{{{{ 7*7 }}}} Bcc: evil@example.net" <{REQUESTER}>',
        subject="{{ company.__class__ }} 削除のお願い",
    )
    with Session(engine) as session:
        case = repo.case_by_ref(session, ref)
        assert case is not None
        [ack] = repo.drafts(session, case_id=case.id)
    assert "{{ 7*7 }}" in ack.body and "49" not in ack.body
    assert main(["approve", str(ack.id), "--as", "sato"]) == 0
    monkeypatch.setenv("PD_SMTP_URL", smtp_server.url())
    assert main(["send"]) == 0
    [got] = smtp_server.received
    assert got.recipients == (REQUESTER,)  # no Bcc reached the envelope
    mail = parse_message(got.data)
    names = [n.lower() for n, _ in mail.headers]
    assert "bcc" not in names and names.count("to") == 1
    assert mail.to[0].address == REQUESTER and "{{ 7*7 }}" in mail.to[0].name
    assert "{{ company.__class__ }}" in mail.text  # her subject, quoted literally
    assert "class '" not in mail.text


def test_a_copy_goes_to_the_sent_folder_and_its_failure_sends_nothing_twice(
    desk: dict[str, str],
    engine: Engine,
    smtp_server: Any,
    dovecot: Any,
    make_mail: Callable[..., bytes],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _approved(engine, make_mail, capsys)
    monkeypatch.setenv("PD_SMTP_URL", smtp_server.url())
    monkeypatch.setenv("PD_MAILBOX", dovecot.url("desk"))
    monkeypatch.setenv("PD_IMAP_SENT_FOLDER", "Sent")
    assert main(["send"]) == 0
    [got] = smtp_server.received
    with dovecot.client("desk") as imap:
        imap.select_folder("Sent")
        [(_uid, data)] = imap.fetch(imap.search(["ALL"]), [b"BODY.PEEK[]", b"FLAGS"]).items()
    assert data[b"BODY[]"] == got.data  # the very bytes the requester received
    assert b"\\Seen" in data[b"FLAGS"]

    # the mailbox is down when the next reply goes: it is sent, once, and staff are told
    ref = _request(engine, make_mail, message_id="<req-2@mail.example.jp>")
    with Session(engine) as session:
        case = repo.case_by_ref(session, ref)
        assert case is not None
        [ack] = repo.drafts(session, case_id=case.id)
    assert main(["approve", str(ack.id), "--as", "sato"]) == 0
    dovecot.stop()
    assert main(["send"]) == 0
    assert "1 sent" in capsys.readouterr().out
    assert main(["send"]) == 0
    assert len(smtp_server.received) == 2
    with Session(engine) as session:
        failed = [e for e in session.exec(select(AuditEvent)) if e.action == "sent copy failed"]
    assert [e.case_id for e in failed] == [case.id]


def test_serve_sends_what_staff_approve_and_stops_on_sigterm(
    desk: dict[str, str],
    engine: Engine,
    smtp_server: Any,
    dovecot: Any,
    make_mail: Callable[..., bytes],
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = {
        **os.environ,
        **desk,
        "PD_SMTP_URL": smtp_server.url(),
        "PD_MAILBOX": dovecot.url("desk"),
    }
    command = [sys.executable, "-c", "from bot.cli import main; raise SystemExit(main())", "serve"]
    service = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        _approved(engine, make_mail, capsys)  # approved while the service runs
        deadline = datetime.now(UTC) + timedelta(seconds=20)
        while not smtp_server.received and datetime.now(UTC) < deadline:
            threading.Event().wait(0.1)
        assert len(smtp_server.received) == 1
    finally:
        service.send_signal(signal.SIGTERM)
        out, err = service.communicate(timeout=20)
    assert service.returncode == 0, err
    assert dovecot.users["desk"] not in out + err
    assert len(smtp_server.received) == 1


def test_a_refused_mail_is_listed_for_staff(
    desk: dict[str, str],
    engine: Engine,
    smtp_server: Any,
    make_mail: Callable[..., bytes],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ref, _draft = _approved(engine, make_mail, capsys)
    monkeypatch.setenv("PD_SMTP_URL", smtp_server.url())
    smtp_server.fail_next(550)
    assert main(["send"]) == 1  # a mail failed: the operator must look
    assert "1 failed" in capsys.readouterr().out
    assert main(["outbox", "--status", "failed"]) == 0
    [line] = capsys.readouterr().out.splitlines()
    assert ref in line and "deletion_done" in line and "550" in line


def test_the_operators_own_template_and_the_answer_the_intents_call_for(
    desk: dict[str, str],
    engine: Engine,
    smtp_server: Any,
    make_mail: Callable[..., bytes],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    folder = tmp_path / "our-templates"
    folder.mkdir()
    (folder / "deletion_done.ja.txt.j2").write_text(
        "{% set subject %}【{{ case_ref }}】削除が完了しました{% endset %}"
        "{{ requester_name }} 様\n\n当社規程第12条に基づき、次の情報を削除しました。\n"
        "{% for item in deleted %}・{{ item }}\n{% endfor %}",
        encoding="utf-8",
    )
    monkeypatch.setenv("PD_TEMPLATES_DIR", str(folder))
    monkeypatch.setenv("PD_SMTP_URL", smtp_server.url())
    ref = _request(engine, make_mail)
    assert main(["verify", ref, "--how", "電話で確認", "--as", "sato"]) == 0
    # no template named: a deletion request is answered by deletion_done
    assert (
        main(
            [
                "draft",
                ref,
                "--set",
                "deleted=会員情報",
                "--set",
                "done_on=2026-11-25",
                "--as",
                "yamada",
            ]
        )
        == 0
    )
    line = _drafted(capsys)
    assert "削除が完了しました" in line
    assert main(["approve", line.split()[1], "--as", "sato"]) == 0
    assert main(["send"]) == 0
    mail = parse_message(smtp_server.received[0].data)
    assert "当社規程第12条" in mail.text and "・会員情報" in mail.text
    assert mail.subject.startswith(f"【{ref}】削除が完了しました")

    monkeypatch.setenv("PD_TEMPLATES_DIR", str(tmp_path / "missing"))
    assert main(["draft", ref, "--as", "yamada"]) == 2  # named in one line, not a traceback
    assert "PD_TEMPLATES_DIR" in capsys.readouterr().err
