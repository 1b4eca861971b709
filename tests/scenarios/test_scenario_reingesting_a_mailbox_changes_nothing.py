"""The operator runs `privacy-desk ingest` over the same mailbox twice: the second run finds every
message already stored and changes nothing, whether a message has a Message-ID or not."""

from __future__ import annotations

import mailbox
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, SQLModel, select

from bot.cli import main
from storage.models import AuditEvent, Case, CaseAddress, Draft, MailMessage


def _counts(engine: Engine) -> dict[str, int]:
    models: list[type[SQLModel]] = [Case, CaseAddress, MailMessage, AuditEvent, Draft]
    with Session(engine) as session:
        return {m.__name__: session.exec(select(func.count()).select_from(m)).one() for m in models}


@pytest.mark.parametrize("kind", ["mbox", "maildir"])
def test_ingesting_the_same_mailbox_twice_changes_nothing(
    kind: str,
    database: str,
    engine: Engine,
    make_mail: Callable[..., bytes],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sent = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    mails = [
        make_mail("私の個人情報をすべて削除してください。", date=sent),
        make_mail(
            "Please stop sharing my data with third parties.",
            sender="jiro@example.com",
            subject="Opt out",
            date=sent,
        ),
        make_mail("不在です。", subject="自動応答", date=sent, Auto_Submitted="auto-replied"),
        make_mail("Please delete my account data.", subject="no id", date=sent, message_id=""),
    ]
    mails.append(mails[0])  # the same message filed twice in the mailbox
    if kind == "mbox":
        path = tmp_path / "inbox.mbox"
        box: mailbox.Mailbox[mailbox.Message] = mailbox.mbox(path)
    else:
        path = tmp_path / "Maildir"
        box = mailbox.Maildir(path)
    for raw in mails:
        box.add(raw)
    box.close()
    monkeypatch.setenv("PD_DATABASE_URL", database)

    assert main(["ingest", str(path)]) == 0
    first = capsys.readouterr().out
    assert first.splitlines()[-1] == "5 messages: 1 archived, 1 duplicate, 3 opened"
    before = _counts(engine)
    assert before["Case"] == 3 and before["MailMessage"] == 4

    assert main(["ingest", str(path)]) == 0
    second = capsys.readouterr().out
    assert second.splitlines()[-1] == "5 messages: 5 duplicate"
    assert "opened" not in second
    assert _counts(engine) == before
