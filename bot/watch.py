"""Wire the IMAP watcher (mail/imap.py) to intake and the database: checkpoints and alerts, and
the watcher's place in ``serve`` (a ``pd-imap`` thread, stopped from the event loop)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from bot import threads
from bot.intake import CLASSIFY_TIMEOUT, Intake, Read, new_pool, read_all
from bot.replies import ReplySettings
from handlers import model as learned
from mail.errors import TransientError
from mail.imap import MailboxConfig, Progress, Watcher
from storage import repo
from storage.db import writer
from storage.errors import UnavailableError

log = logging.getLogger("privacy_desk.watch")

STUCK_AFTER = 60.0  # seconds a fetched batch may take before the mailbox is shown degraded


class IntakeSink:
    """Takes a fetched batch in as one transaction (a savepoint per message), parsing and
    classifying in ``workers`` other processes kept for the sink's whole life."""

    def __init__(
        self, intake: Intake, *, workers: int = 0, timeout: float = CLASSIFY_TIMEOUT
    ) -> None:
        self._intake = intake
        self._workers = workers
        self._timeout = timeout
        self._pool: ProcessPoolExecutor | None = new_pool(workers) if workers > 0 else None
        self._model = learned.active_version()  # the model the pool's workers were given
        self._busy_since: float | None = None  # a fetched batch is being taken in since

    def stuck(self, after: float = STUCK_AFTER) -> str | None:
        """Why the mailbox is stuck, when fetched mail has been neither committed nor
        quarantined for ``after`` seconds; None otherwise (an idle mailbox is well)."""
        since = self._busy_since
        if since is None or time.monotonic() - since < after:
            return None
        return (
            f"fetched mail neither committed nor quarantined for {time.monotonic() - since:.0f} s"
        )

    def take(
        self, raws: Sequence[bytes], *, historic: Sequence[datetime | None] | None = None
    ) -> list[str]:
        if self._pool is not None and learned.active_version() != self._model:
            # A newer model was installed (``bot.learning.ModelWatch``): workers that
            # classify with it.
            self.close()
            self._pool = new_pool(self._workers)
        self._model = learned.active_version()
        reads = read_all(raws, pool=self._pool, timeout=self._timeout)
        self._busy_since = time.monotonic()
        if historic is not None:
            reads = _historic(reads, historic)
        try:
            return [r.action for r in self._intake.process_many(reads, batch=max(len(raws), 1))]
        except UnavailableError as exc:
            raise TransientError(str(exc)) from None
        except BrokenProcessPool:
            # A worker died on one of these messages: start fresh ones, and let the watcher
            # find which message it was.
            self.close()
            self._pool = new_pool(self._workers)
            raise
        finally:
            self._busy_since = None

    def quarantine(
        self, raw: bytes, reason: str, *, historic: Sequence[datetime | None] | None = None
    ) -> str:
        arrived = historic[0] if historic else None
        try:
            return self._intake.quarantine(
                raw, reason, historic=historic is not None, arrived=arrived
            ).action
        except UnavailableError as exc:
            raise TransientError(str(exc)) from None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


def _historic(reads: Iterator[Read], arrived: Sequence[datetime | None]) -> Iterator[Read]:
    """The reads marked historic, each with the time the server received it."""
    for read, when in zip(reads, arrived, strict=True):
        yield dataclasses.replace(read, historic=True, arrived=when)


class DatabaseCheckpoints:
    """Mailbox checkpoints and staff alerts, kept in the desk's database."""

    def __init__(self, engine: Engine) -> None:
        self._engine = writer(engine)

    def load(self, key: str) -> Progress:
        with Session(self._engine) as session:
            row = repo.load_checkpoint(session, key)
            return Progress(
                uidvalidity=row.uidvalidity,
                last_uid=row.last_uid,
                in_flight_upto=row.in_flight_upto,
                attempt_uid=row.attempt_uid,
                attempts=row.attempts,
                first_read_at=row.first_read_at,
            )

    def first_read(self, key: str, now: datetime) -> datetime:
        with Session(self._engine) as session:
            when = repo.first_read(session, key, now)
            session.commit()
            return when

    def historic(self, key: str, count: int, backlog: timedelta) -> None:
        with Session(self._engine) as session:
            if count == 0:  # a pass that died after committing historic cases told nobody
                count = repo.historic_untold(session)
                if count == 0:
                    return
            log.warning("%d historic messages taken in from %s", count, key)
            repo.historic_taken(session, count=count, backlog_days=backlog.days, mailbox=key)
            session.commit()

    def save(self, key: str, uidvalidity: int, last_uid: int) -> None:
        with Session(self._engine) as session:
            repo.save_checkpoint(session, key, uidvalidity, last_uid)
            session.commit()

    def begin(self, key: str, uidvalidity: int, upto: int) -> None:
        with Session(self._engine) as session:
            repo.begin_batch(session, key, uidvalidity, upto)
            session.commit()

    def attempt(self, key: str, uidvalidity: int, uid: int) -> int:
        with Session(self._engine) as session:
            count = repo.count_attempt(session, key, uidvalidity, uid)
            session.commit()
            return count

    def forgive(self, key: str, uidvalidity: int, uid: int) -> None:
        with Session(self._engine) as session:
            repo.forgive_attempt(session, key, uidvalidity, uid)
            session.commit()

    def alert(self, key: str, message: str) -> None:
        log.warning("mailbox alert: %s", message)
        with Session(self._engine) as session:
            repo.audit(session, None, "watcher", "mailbox alert", mailbox=key, message=message)
            session.commit()


def desk_watcher(
    engine: Engine,
    config: MailboxConfig,
    *,
    workers: int = 0,
    replies: ReplySettings | None = None,
    classify_timeout: float = CLASSIFY_TIMEOUT,
    **options: Any,
) -> tuple[Watcher, IntakeSink]:
    """A watcher that takes mail into this database; close the sink when done."""
    sink = IntakeSink(Intake(engine, replies=replies), workers=workers, timeout=classify_timeout)
    return Watcher(config, sink, DatabaseCheckpoints(engine), **options), sink


def serve_watcher(
    watcher: Watcher,
) -> Callable[[asyncio.Event, Callable[[str, str], None]], Awaitable[None]]:
    """The watcher as a component of ``serve``: imapclient blocks, so the watcher runs in a
    ``pd-imap`` thread; the loop's ``stop`` reaches it as the ``threading.Event`` it waits on
    (it ends its current batch, then returns). What it raises is raised here."""

    async def serve(stop: asyncio.Event, report: Callable[[str, str], None]) -> None:
        heard = threading.Event()
        watching = asyncio.ensure_future(threads.imap(watcher.run, heard, report))
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({watching, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            heard.set()
            stopping.cancel()
        await watching

    return serve
