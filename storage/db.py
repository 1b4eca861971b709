"""Open the database a URL names: a SQLite file, or PostgreSQL for production.

SQLite is tuned for one desk on one machine (WAL, foreign keys, a busy timeout) and its schema is
created or upgraded on first use; PostgreSQL is upgraded only by ``privacy-desk db upgrade`` and
refused while its schema is behind.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from storage.errors import (
    ConfigError,
    MissingError,
    ReadOnlyError,
    SchemaError,
    UnavailableError,
)

if TYPE_CHECKING:
    from alembic.config import Config

_SUPPORTED = ("sqlite", "postgresql")


def parse_url(value: str) -> URL:
    """The URL, with ``postgresql://`` read as psycopg 3; a clear error for anything else."""
    try:
        url = make_url(value)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise ConfigError(
            "PD_DATABASE_URL is not a database URL (expected sqlite:///PATH or "
            "postgresql+psycopg://USER@HOST/DB)"
        ) from None
    backend = url.get_backend_name()
    if backend not in _SUPPORTED:
        raise ConfigError(f"PD_DATABASE_URL names {backend!r}; supported: sqlite, postgresql")
    if backend == "postgresql" and url.drivername in ("postgresql", "postgresql+psycopg2"):
        url = url.set(drivername="postgresql+psycopg")
    if backend == "sqlite" and not url.database:
        raise ConfigError("PD_DATABASE_URL names SQLite but no file (sqlite:///PATH)")
    return url


def describe(url: URL) -> str:
    """The URL without its password, for messages."""
    return url.render_as_string(hide_password=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # see the "begin" listener in make_engine
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    # Deleted rows are overwritten with zeros, not left in free pages: a purge really deletes.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


WRITER = "privacy_desk_writer"


def writer(engine: Engine) -> Engine:
    """The engine for code that writes: on SQLite its transactions BEGIN IMMEDIATE."""
    return engine.execution_options(**{WRITER: True})


def _begin(conn: Connection) -> None:
    immediate = conn.get_execution_options().get(WRITER, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _owner_only(path: Path) -> None:
    """A database file (and its WAL and shared-memory files) that others may read, left so by an
    older version or a looser umask, is made the owner's only: it holds personal data."""
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            mode = file.stat().st_mode
        except FileNotFoundError:
            continue
        if mode & 0o077 and file.stat().st_uid == os.getuid():
            with contextlib.suppress(OSError):  # a read-only file system: checked below
                os.chmod(file, mode & 0o700)


def make_engine(value: str, *, create: bool = True) -> Engine:
    """An engine for the URL; raises ``ConfigError``/``ReadOnlyError`` before touching data,
    and ``MissingError`` for a SQLite file that is not there unless ``create``."""
    url = parse_url(value)
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database != ":memory:":
            path = Path(database)
            folder = path.parent
            if not create and not path.is_file():
                raise MissingError(
                    f"no database at {path.absolute()} (PD_DATABASE_URL): `privacy-desk db "
                    "upgrade` creates it, as do `ingest`, `fetch` and `serve`"
                )
            try:
                folder.mkdir(mode=0o700, parents=True, exist_ok=True)
                _owner_only(path)
            except OSError as exc:
                raise ReadOnlyError(
                    f"cannot create the database folder {folder}: {exc.strerror}"
                ) from None
            # Mode bits, not only access(): root may write anything, but a file the operator
            # made read-only is not ours to change.
            if path.exists() and (not os.access(path, os.W_OK) or not path.stat().st_mode & 0o222):
                raise ReadOnlyError(f"the database file {path} is read-only")
            if not os.access(folder, os.W_OK):
                raise ReadOnlyError(f"the database folder {folder} is not writable")
        engine = create_engine(url, connect_args={"timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        # Let SQLAlchemy, not the sqlite3 module, open transactions, so SAVEPOINTs work. A
        # writer (``writer(engine)``) takes the write lock at the start (IMMEDIATE): one that
        # read and then wrote (an approval checks the draft, then claims it) would otherwise
        # fail at once with "database is locked" when another writer got there first. Readers
        # begin DEFERRED and, under WAL, never wait for a writer.
        event.listen(engine, "begin", _begin)
        return engine
    try:
        return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 5})
    except NoSuchModuleError:
        raise ConfigError(f"no driver for {url.drivername}: install psycopg") from None


# Alembic is imported only to migrate or when the schema may be behind: its import costs more
# than a read-only command takes (``privacy-desk cases``).


def _alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "storage:migrations")
    return config


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


_VERSIONS = Path(__file__).resolve().parent / "migrations" / "versions"
_REVISION = re.compile(r'^revision\b[^=\n]*=\s*"(\w+)"\s*$', re.MULTILINE)
_DOWN = re.compile(r'^down_revision\b[^=\n]*=\s*(?:"(\w+)"|None)\s*$', re.MULTILINE)
_PLAIN = re.compile(r"^(?:branch_labels|depends_on)\b[^=\n]*=\s*None\s*$", re.MULTILINE)


def plain_head() -> str | None:
    """The head revision read from the migration files as text, without Alembic; None when any
    file is not a plain link of one chain (a merge, a branch label, a dependency, a form this
    reader does not know) or the chain has no single head: then only Alembic can say."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in _VERSIONS.glob("*.py"):
        if path.name.startswith("_"):
            continue
        source = path.read_text(encoding="utf-8")
        revision, down = _REVISION.findall(source), _DOWN.findall(source)
        if len(revision) != 1 or len(down) != 1 or len(_PLAIN.findall(source)) != 2:
            return None
        revisions.add(revision[0])
        if down[0]:
            parents.add(down[0])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _at_head(engine: Engine) -> bool:
    """Whether the schema is surely at the head, asked without Alembic; False in any doubt
    (no version table, a read that fails, a chain ``plain_head`` cannot read), and then
    Alembic decides."""
    head = plain_head()
    if head is None:
        return False
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    except DBAPIError:
        return False
    return [tuple(row) for row in rows] == [(head,)]


def upgrade(engine: Engine) -> tuple[str | None, str | None]:
    """Bring the schema to the newest revision; returns (before, after)."""
    from alembic import command

    before = _checked(engine, current_revision)
    config = _alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return before, current_revision(engine)


def _checked(engine: Engine, probe: Any) -> Any:
    try:
        return probe(engine)
    except DBAPIError as exc:
        message = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        if "readonly" in message or "read-only" in message:
            raise ReadOnlyError(f"the database is read-only: {message}") from None
        raise UnavailableError(
            f"cannot reach the database {describe(engine.url)}: {message}"
        ) from None


def open_database(value: str, *, auto_upgrade: bool | None = None, create: bool = True) -> Engine:
    """Open, check and (for SQLite by default) upgrade the database the URL names; a SQLite
    file that is not there is made only with ``create`` (else ``MissingError``)."""
    engine = make_engine(value, create=create)
    _checked(engine, lambda e: e.connect().close())
    if _at_head(engine):  # as a rule: answered without loading Alembic
        return engine
    if auto_upgrade is None:
        auto_upgrade = engine.url.get_backend_name() == "sqlite"
    current = _checked(engine, current_revision)
    head = head_revision()
    if current != head:
        if auto_upgrade:
            upgrade(engine)
        else:
            raise SchemaError(
                f"the database schema is at {current or 'nothing'}, this version needs {head}: "
                "run `privacy-desk db upgrade`"
            )
    return engine
