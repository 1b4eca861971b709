"""The watcher holds at most ``batch_bytes`` of mail at a time, however few messages that is: a
backlog of large mails is fetched in small batches (a larger one alone), and all of it taken in."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Engine, func
from sqlmodel import Session, select

from bot.watch import desk_watcher
from mail.imap import parse_mailbox_url
from storage.models import MailMessage


def test_batches_are_bounded_by_bytes_as_well_as_by_count(
    dovecot: Any, engine: Engine, make_mail: Callable[..., bytes]
) -> None:
    sizes = [400_000, 10_000, 400_000, 1_500_000, 10_000, 400_000]
    raws = [
        make_mail(
            "個人情報を削除してください。\n" + os.urandom(n // 2).hex(), sender=f"u{i}@example.jp"
        )
        for i, n in enumerate(sizes)
    ]
    dovecot.append_many("desk", raws)
    watcher, sink = desk_watcher(
        engine, parse_mailbox_url(dovecot.url("desk")), batch=100, batch_bytes=1_000_000
    )
    held: list[list[int]] = []
    take = sink.take

    def recording(batch: Sequence[bytes]) -> list[str]:
        held.append([len(raw) for raw in batch])
        return take(batch)

    sink.take = recording  # type: ignore[method-assign]
    try:
        result = watcher.run_once()
    finally:
        sink.close()
    assert result.taken == len(raws)
    assert sum(len(batch) for batch in held) == len(raws) and len(held) > 1
    for batch in held:
        assert len(batch) == 1 or sum(batch) <= 1_000_000, held
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(MailMessage)).one() == len(raws)
