"""An operator tries the desk without a mail server: ``PD_SMTP_URL=file:FOLDER``. ``serve`` says
at start and in ``/healthz`` that mail is only written there; an approved answer lands in the
folder as ``.eml`` and the case moves on as if it had been sent — yet nothing anywhere (outbox,
audit trail, case file, drafts, Slack thread wording, the ``send`` command) reports it as sent.
Without ``PD_SMTP_URL`` at all, ``serve`` refuses to start instead of writing to a folder."""

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
from support import eventually, served_port

from bot.cli import main
from bot.intake import Intake
from bot.replies import ReplySettings
from storage import repo
from storage.models import AuditEvent, Draft, OutboxItem

ROOT = Path(__file__).resolve().parents[2]
APPROVER = "U0APPROVER1"
SETTINGS = {
    "PD_FROM_ADDRESS": "privacy@example-hikaku.co.jp",
    "PD_COMPANY_NAME": "株式会社ヒカクプラス",
    "PD_APPROVERS": APPROVER,
}
ANSWER = "当社は、お客様の同意なく第三者へ個人情報を提供しておりません。"


def _answer_approved(engine: Engine, make_mail: Callable[..., bytes]) -> tuple[str, int]:
    """A question to the desk, answered and approved on the command line (queued, not sent)."""
    raw = make_mail("個人情報の取り扱いについて教えてください。", subject="お問い合わせ")
    result = Intake(engine, replies=ReplySettings.from_env(SETTINGS)).process(raw)
    assert result.action == "opened" and result.ref
    assert main(["draft", result.ref, "inquiry_answer", "--set", f"answer_text={ANSWER}",
                 "--as", APPROVER]) == 0  # fmt: skip
    with Session(engine) as session:
        [draft] = [
            d for d in repo.drafts(session, status="draft") if d.template == "inquiry_answer"
        ]
    assert main(["approve", str(draft.id), "--as", APPROVER]) == 0
    assert draft.id is not None
    return result.ref, draft.id


def _healthz(port: int) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
            found: dict[str, Any] = json.loads(answer.read())
    except urllib.error.HTTPError as exc:  # 503 while a component is still starting
        found = json.loads(exc.read())
    except OSError:  # not listening yet
        return {}
    return found


def test_serve_writes_to_a_named_file_outbox_and_never_calls_it_sent(
    desk_db: tuple[str, Engine],
    dovecot: Any,
    make_mail: Callable[..., bytes],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, engine = desk_db
    outbox, printed = tmp_path / "outbox", tmp_path / "serve.out"
    desk = {
        **SETTINGS,
        "PD_DATABASE_URL": url,
        "PD_MAILBOX": dovecot.url("desk"),
        "PD_SMTP_URL": f"file:{outbox}",
        "PD_HTTP_PORT": "0",  # the OS chooses a free port; serve prints it
    }
    for name, value in desk.items():
        monkeypatch.setenv(name, value)
    command = [sys.executable, "-c", "from bot.cli import main; raise SystemExit(main())", "serve"]
    with printed.open("w") as stdout:
        service = subprocess.Popen(
            command,
            cwd=tmp_path,
            env={**os.environ, **desk},
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
        )
    try:
        port = served_port(service, printed)
        detail = eventually(
            lambda: _healthz(port).get("components", {}).get("outbox", {}).get("detail"),
            "the outbox's detail in /healthz",
        )
        assert detail == f"file: outbox: mail is written to {outbox}, never sent"
        ref, draft_id = _answer_approved(engine, make_mail)
        capsys.readouterr()

        def item() -> OutboxItem | None:
            with Session(engine) as session:
                found = session.exec(select(OutboxItem)).first()
            return found if found is not None and found.status != "queued" else None

        written = eventually(item, "the approved answer taken from the outbox")
    finally:
        service.send_signal(signal.SIGTERM)
        _, err = service.communicate(timeout=20)
        out = printed.read_text()
    assert service.returncode == 0, err
    assert f"outbox: mail is written to {outbox}, never sent (PD_SMTP_URL=file:{outbox})" in out

    # The mail is in the folder, and it is "written", never "sent".
    [eml] = list(outbox.glob("*.eml"))
    assert written.status == "written" and written.sent_at is not None
    with Session(engine) as session:
        case = repo.case_by_ref(session, ref)
        assert case is not None
        actions = [
            (e.action, e.detail)
            for e in session.exec(select(AuditEvent).where(AuditEvent.case_id == case.id))
        ]
        draft = session.get(Draft, draft_id)
    assert case.status == "answered"  # the case moves on as if the answer had gone out
    assert draft is not None and draft.status == "written"
    assert "mail sent" not in [a for a, _ in actions]
    [(_, said)] = [(a, d) for a, d in actions if a == "mail written"]
    assert said["file"] == str(eml.absolute())

    # What staff read says where it went and never that it was sent.
    assert main(["case", ref]) == 0
    shown = capsys.readouterr().out
    assert f"mail written to {eml.absolute()} (not sent)" in shown
    assert "mail sent" not in shown
    assert main(["outbox", "--json"]) == 0
    assert [row["status"] for row in json.loads(capsys.readouterr().out)] == ["written"]
    assert main(["outbox", "--status", "sent"]) == 0
    assert capsys.readouterr().out == "the outbox is empty\n"


def test_the_send_command_says_written_not_sent(
    desk_db: tuple[str, Engine],
    make_mail: Callable[..., bytes],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, engine = desk_db
    for name, value in {**SETTINGS, "PD_DATABASE_URL": url}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PD_SMTP_URL", f"file:{tmp_path / 'outbox'}")
    _answer_approved(engine, make_mail)
    capsys.readouterr()
    assert main(["send"]) == 0
    assert capsys.readouterr().out == (
        f"file:{tmp_path / 'outbox'}: 1 written (not sent), 0 deferred, 0 failed\n"
    )


def test_serve_without_an_smtp_url_writes_nowhere_and_refuses_to_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for name, value in SETTINGS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PD_MAILBOX", "imap://desk:pw@127.0.0.1:1/INBOX")
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("privacy-desk: PD_SMTP_URL is not set: serve sends mail only where")
    assert err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []  # no outbox folder, no database
