"""An operator wants a purged case gone from the mailbox too: ``privacy-desk purge --mailbox``
deletes the processed copy of its request and the Sent copy of its answer from the IMAP mailbox,
found by their content hash. Nothing else goes: not another case's mail, not a stranger's mail
that reuses the purged request's Message-ID, and nothing at all without ``--mailbox`` (the desk
otherwise never deletes mail)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.cli import main
from bot.retention import purge

APPROVER = "U0APPROVE1"
PROCESSED = "PrivacyDesk.Processed"  # PD_IMAP_PROCESSED_FOLDER as Dovecot names it


def _folder(dovecot: Any, folder: str) -> list[bytes]:
    with dovecot.client("desk") as imap:
        if not imap.folder_exists(folder):
            return []
        imap.select_folder(folder, readonly=True)
        uids = imap.search(["ALL"])
        fetched = imap.fetch(uids, [b"BODY.PEEK[]"]) if uids else {}
    # The server keeps CRLF line ends; the test built its mail with LF.
    return sorted(data[b"BODY[]"].replace(b"\r\n", b"\n") for data in fetched.values())


def test_purge_mailbox_deletes_only_the_purged_cases_copies_found_by_content(
    engine: Engine,
    dovecot: Any,
    smtp_server: Any,
    make_mail: Callable[..., bytes],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in {
        "PD_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "PD_MAILBOX": dovecot.url("desk"),
        "PD_IMAP_SENT_FOLDER": "Sent",
        "PD_SMTP_URL": smtp_server.url(),
        "PD_FROM_ADDRESS": "privacy@example-hikaku.co.jp",
        "PD_APPROVERS": APPROVER,
    }.items():
        monkeypatch.setenv(name, value)
    asked = make_mail(
        "個人情報の取り扱いについて教えてください。",
        sender="Hanako Sato <hanako@example.jp>",
        message_id="<asked-1@mail.example.jp>",
    )
    other = make_mail("私の個人情報を削除してください。", sender="Taro <taro@example.jp>")
    reused = make_mail(
        "Out of office", sender="mallory@example.net", message_id="<asked-1@mail.example.jp>"
    )
    dovecot.append("desk", asked)
    dovecot.append("desk", other)
    assert main(["fetch"]) == 0
    dovecot.append("desk", reused, folder=PROCESSED)  # the same Message-ID, other bytes
    capsys.readouterr()
    assert main(["cases", "--json"]) == 0
    cases = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    [ref] = [c["ref"] for c in cases if c["intents"] != ["deletion"]]

    assert main(["draft", ref, "inquiry_answer", "--set", "answer_text=はい。",
                 "--as", APPROVER]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["drafts", ref, "--json"]) == 0
    [draft] = [d for d in json.loads(capsys.readouterr().out) if d["template"] == "inquiry_answer"]
    assert main(["approve", str(draft["id"]), "--as", APPROVER]) == 0
    assert main(["send"]) == 0
    assert len(_folder(dovecot, "Sent")) == 1
    assert sorted(_folder(dovecot, PROCESSED)) == sorted([asked, other, reused])

    [done] = purge(engine, datetime.now(UTC) + timedelta(days=400), 365).cases
    assert done.ref == ref
    assert main(["purge"]) == 0  # without --mailbox the mailbox is left alone
    assert len(_folder(dovecot, PROCESSED)) == 3 and len(_folder(dovecot, "Sent")) == 1

    capsys.readouterr()
    assert main(["purge", "--mailbox"]) == 0
    assert "deleted 2 copies of purged cases' mail from the mailbox" in capsys.readouterr().out
    assert _folder(dovecot, PROCESSED) == sorted([other, reused])
    assert _folder(dovecot, "Sent") == []
    assert main(["purge", "--mailbox"]) == 0  # again: nothing more goes
    assert "deleted 0 copies" in capsys.readouterr().out
    assert _folder(dovecot, PROCESSED) == sorted([other, reused])
