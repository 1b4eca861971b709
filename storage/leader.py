"""One replica at a time: PostgreSQL advisory locks for the jobs only one replica may do
(watching the mailbox, posting to Slack, the scheduler). Another replica takes over when the
holder dies: its session ends and PostgreSQL releases the lock. On SQLite, one ``serve`` per
database file (``sole_server``)."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from storage.errors import StorageError

log = logging.getLogger("privacy_desk.leader")


def lock_key(name: str) -> int:
    """The lock number of a job: the same on every replica of a desk's database."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class LeaderLock:
    """Which replica does a job only one may do: a PostgreSQL session-level advisory lock held
    on a dedicated connection (released when that session ends, however it ends); trivially
    held on SQLite, where one process owns the database."""

    def __init__(self, engine: Engine, *, key: int, name: str = "scheduler") -> None:
        self._engine = engine
        self._key = key
        self.name = name
        self._conn: Connection | None = None
        self.pid: int | None = None  # the PostgreSQL backend holding the lock, while we do

    @property
    def shared(self) -> bool:
        return self._engine.dialect.name == "postgresql"

    def acquire(self) -> bool:
        """Whether this replica leads now: keeps the lock it holds (checking its connection is
        alive) or tries to take it."""
        if not self.shared:
            return True
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT 1"))
                return True
            except DBAPIError:
                log.warning("%s: the lock's connection is gone; no longer leading", self.name)
                self._discard()
        try:
            conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except DBAPIError:
            return False
        try:
            held = bool(
                conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": self._key}).scalar()
            )
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar() if held else None
        except DBAPIError:
            conn.invalidate()
            conn.close()
            return False
        if not held:
            conn.close()
            return False
        self._conn, self.pid = conn, int(pid or 0)
        log.info("%s: this replica leads", self.name)
        return True

    def release(self) -> None:
        if self._conn is None:
            return
        try:
            self._conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self._key})
            self._conn.close()
        except DBAPIError:
            self._discard()
        self._conn, self.pid = None, None

    def _discard(self) -> None:
        # Never back into the pool: a pooled connection would keep holding the lock.
        if self._conn is not None:
            self._conn.invalidate()
            self._conn.close()
        self._conn, self.pid = None, None


class AlreadyServing(StorageError):
    """Another ``serve`` holds the SQLite database (its lock file is locked)."""


@contextlib.contextmanager
def sole_server(database: Path) -> Iterator[Path]:
    """Hold ``<database>.serve.lock`` (an exclusive ``flock``) while one ``serve`` runs on a
    SQLite file: on SQLite nothing else stops a second process from watching, posting and
    sending too. The kernel drops the lock when the process ends, however it ends."""
    path = database.with_name(database.name + ".serve.lock")
    handle = path.open("a+")
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AlreadyServing(
                f"another privacy-desk serve is running on {database} (it holds {path})"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield path
    finally:
        handle.close()  # closing the file releases the lock
