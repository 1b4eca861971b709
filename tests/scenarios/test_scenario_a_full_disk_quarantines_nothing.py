"""A full disk quarantines nothing: while the database cannot store a fetched request, every pass
of the watcher fails as an outage (the request stays in the mailbox, unmarked, and no try counts
against it); once there is room again it is taken in as the request it is — with its requester,
Message-ID and deadline — not as an unreadable message. The desk's SQLite database lives on a
small tmpfs of the test's own; the mailbox is the real Dovecot."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from bot.watch import desk_watcher
from mail.errors import TransientError
from mail.imap import MAX_ATTEMPTS, parse_mailbox_url
from storage.db import open_database
from storage.models import Case, MailMessage


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs mounted for this test alone."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root and mount(8)")
    where = tmp_path / "disk"
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _fill(disk: Path, leave: int) -> Path:
    """Take all the room on ``disk`` but ``leave`` bytes."""
    filler = disk / "filler"
    free = shutil.disk_usage(disk).free
    with filler.open("wb") as out:
        out.write(b"\0" * max(free - leave, 0))
    return filler


def test_a_request_that_cannot_be_stored_waits_in_the_mailbox_and_is_never_quarantined(
    dovecot: Any, small_disk: Path, make_mail: Callable[..., bytes]
) -> None:
    engine = open_database(f"sqlite:///{small_disk / 'desk.db'}")
    attachment = os.urandom(300_000).hex()  # ~600 KB of text the disk will not hold
    dovecot.append(
        "desk",
        make_mail(
            "私の個人情報をすべて削除してください。\n\n" + attachment,
            sender="hanako@example.jp",
            message_id="<full-disk-1@mail.example.jp>",
        ),
    )
    watcher, sink = desk_watcher(engine, parse_mailbox_url(dovecot.url("desk")), batch=10)
    try:
        filler = _fill(small_disk, leave=64 * 1024)
        for _ in range(MAX_ATTEMPTS + 2):
            with pytest.raises(TransientError):
                watcher.run_once()
        with Session(engine) as session:
            assert session.exec(select(Case)).all() == []  # nothing quarantined meanwhile

        filler.unlink()
        watcher.run_once()
        with Session(engine) as session:
            [case] = session.exec(select(Case)).all()
            [stored] = session.exec(select(MailMessage)).all()
        assert case.status == "new" and "unreadable" not in case.flags
        assert case.intents == ["deletion"] and case.requester == "hanako@example.jp"
        assert case.answer_due is not None
        assert stored.message_id == "full-disk-1@mail.example.jp"
    finally:
        sink.close()
        engine.dispose()
