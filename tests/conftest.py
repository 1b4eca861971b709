"""Shared fixtures: a clean environment, and a fresh database on SQLite and on PostgreSQL.

The suite needs PostgreSQL (``PDT_PG_ADMIN``, a libpq connection string; 127.0.0.1:5432 by
default) and Dovecot (/usr/sbin/dovecot). Where one is missing its tests are skipped with the
reason, except with ``CI=true``: there the run fails at once with one line saying what is missing,
so CI cannot pass without them. (``PDT_*`` are the test tooling's variables; ``PD_*`` are the
desk's settings, which no test sees.)
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any, NoReturn

import psycopg
import pytest
from hypothesis import settings
from psycopg.conninfo import conninfo_to_dict
from sqlalchemy import URL, Connection, Engine, event

# pytest put this folder on sys.path to import this file; left there, tests/storage, tests/mail,
# tests/handlers and tests/bot would shadow the packages they test (as namespace packages found
# before the editable install's finder). So nothing from those packages is imported at the top.
if str(Path(__file__).parent) in sys.path:
    sys.path.remove(str(Path(__file__).parent))

_pg_down: str | None = None  # why PostgreSQL could not be reached, found once per run


# The property tests run the same examples on every run (CI must not fail by luck); set
# HYPOTHESIS_PROFILE=explore to search new ones, and keep what they find as @example.
settings.register_profile("ci", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the operator's settings (httpx does the same)."""
    for name in list(os.environ):
        if name.startswith(("PD_", "SLACK_")):
            monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def _umask() -> Iterator[None]:
    """``bot.cli.main`` sets the desk's umask (077) for its process, here pytest's: each test
    starts with the umask the run started with."""
    before = os.umask(0o022)
    os.umask(before)
    yield
    os.umask(before)


@pytest.fixture(autouse=True)
def _close_engines() -> Iterator[None]:
    """Close the engines a test made, including those ``bot.cli.main`` opens and leaves open:
    a psycopg connection garbage-collected while open is a ResourceWarning, an error here."""
    opened: dict[int, Engine] = {}  # strong references: a pool freed with its engine warns

    def seen(connection: Connection) -> None:
        opened[id(connection.engine)] = connection.engine

    event.listen(Engine, "engine_connect", seen)
    yield
    event.remove(Engine, "engine_connect", seen)
    for engine in opened.values():
        engine.dispose()


def in_ci() -> bool:
    """Whether this run is CI's (``CI=true``, as CI services set it)."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def missing(what: str) -> NoReturn:
    """Something the tests need is not here: skip, saying what; with ``CI=true``, fail."""
    if in_ci():
        pytest.fail(f"CI=true and {what}", pytrace=False)
    pytest.skip(what)


def _pg_problem() -> str | None:
    """Why PostgreSQL cannot be used (one line), or None; tried once per process."""
    global _pg_down
    if _pg_down is None:
        try:
            psycopg.connect(pg_admin(), autocommit=True, connect_timeout=3).close()
            _pg_down = ""
        except psycopg.Error as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            _pg_down = f"PostgreSQL not reachable with {pg_admin()!r} (PDT_PG_ADMIN): {first}"
    return _pg_down or None


def _admin() -> psycopg.Connection[tuple[object, ...]]:
    problem = _pg_problem()
    if problem is not None:
        missing(problem)
    return psycopg.connect(pg_admin(), autocommit=True, connect_timeout=10)


def pytest_sessionstart(session: pytest.Session) -> None:
    """With ``CI=true``, stop the run before any test when a server the suite needs is missing:
    one line, instead of every test that needs it failing (xdist: once, in the controller)."""
    if not in_ci() or hasattr(session.config, "workerinput"):
        return
    problems = [p for p in (_pg_problem(), imap_harness().available()) if p is not None]
    if problems:
        pytest.exit("CI=true and " + "; ".join(problems), returncode=pytest.ExitCode.TESTS_FAILED)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``longest`` (the flywheel test trains on the shipped data: about ten minutes,
    the suite's critical path) run first, so the rest run beside them; otherwise the order stays."""
    items.sort(key=lambda item: item.get_closest_marker("longest") is None)


def _database_url(name: str) -> str:
    """The SQLAlchemy URL of database ``name`` on the server of ``PDT_PG_ADMIN``."""
    parts = conninfo_to_dict(pg_admin())
    return URL.create(
        "postgresql+psycopg",
        username=str(parts.get("user") or "postgres"),
        password=str(parts["password"]) if parts.get("password") else None,
        host=str(parts.get("host") or "127.0.0.1"),
        port=int(parts.get("port") or 5432),
        database=name,
    ).render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database (no schema yet): a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'desk.db'}"
        return
    name = f"pd_test_{uuid.uuid4().hex[:12]}"
    with _admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _database_url(name)
    finally:
        with _admin() as admin:
            # FORCE: engines the code under test left open must not keep the database alive.
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def engine(database: str) -> Iterator[Engine]:
    """The ``database`` with its schema at head, closed after the test."""
    from storage.db import open_database  # imported late: see the sys.path note above

    opened = open_database(database, auto_upgrade=True)
    yield opened
    opened.dispose()


@pytest.fixture
def make_mail() -> Callable[..., bytes]:
    """Build one message as a mail client would send it."""

    def build(
        body: str,
        *,
        sender: str = "Hanako Sato <hanako@example.jp>",
        subject: str = "個人情報について",
        date: datetime | None = None,
        message_id: str | None = None,
        **headers: str,
    ) -> bytes:
        msg = EmailMessage()
        msg["From"] = sender
        msg["To"] = "privacy@example-hikaku.co.jp"
        msg["Subject"] = subject
        if date is not None:
            msg["Date"] = format_datetime(date)
        if message_id != "":  # "" leaves it out, as some mailers do
            msg["Message-ID"] = message_id or f"<{uuid.uuid4().hex}@mail.example.jp>"
        for name, value in headers.items():
            msg[name.replace("_", "-")] = value
        msg.set_content(body)
        return msg.as_bytes()

    return build


@pytest.fixture
def deletion_case(engine: Engine, make_mail: Callable[..., bytes]) -> tuple[Any, str]:
    """Hanako's deletion request, taken in: (the intake that took it, its case reference)."""
    from bot.intake import Intake  # imported late: see the sys.path note above

    intake = Intake(engine, clock=lambda: datetime(2026, 3, 3, 0, 5, tzinfo=UTC))
    result = intake.process(
        make_mail(
            "私の個人情報をすべて削除してください。",
            subject="個人情報削除のお願い",
            date=datetime(2026, 3, 2, 23, 0, tzinfo=UTC),
            message_id="<req-1@mail.example.jp>",
        )
    )
    assert result.action == "opened" and result.ref
    return intake, result.ref


def _harness(name: str) -> Any:
    """tests/<name>.py (a server harness), loaded by path: this folder is off sys.path."""
    import importlib.util

    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).parent / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def imap_harness() -> Any:
    """tests/imap_server.py: a Dovecot of the test's own."""
    return _harness("imap_server")


def slack_harness() -> Any:
    """tests/slack_double.py: a local double of the Slack Web API."""
    return _harness("slack_double")


@pytest.fixture
def slack() -> Iterator[Any]:
    """The Slack Web API double, started on a free loopback port (``.base_url``, ``.bot_token``)."""
    with slack_harness().SlackDouble() as double:
        yield double


def smtp_harness() -> Any:
    """tests/smtp_server.py: an aiosmtpd of the test's own."""
    return _harness("smtp_server")


@pytest.fixture
def smtp_server_type() -> Any:
    """``smtp_server.SmtpServer``, for a test that starts servers of its own."""
    return smtp_harness().SmtpServer


@pytest.fixture
def smtp_server(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A real SMTP server (aiosmtpd) on a free loopback port, recording what it receives.
    Parametrize it indirectly with options for ``smtp_server.SmtpServer``
    (``{"user": "desk", "password": "...", "tls": "starttls"}``)."""
    with smtp_harness().SmtpServer(**getattr(request, "param", {})) as server:
        yield server


@pytest.fixture
def dovecot(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A Dovecot of our own on a free loopback port with one user, ``desk``; skipped, with the
    reason, where Dovecot cannot run (a failure with ``CI=true``). Parametrize it indirectly with
    a dict of options for ``imap_server.Dovecot`` (``{"tls": True}``, ``{"without": ["MOVE"]}``)."""
    harness = imap_harness()
    reason = harness.available()
    if reason is not None:
        missing(f"Dovecot not usable here: {reason}")
    with harness.Dovecot(["desk"], **getattr(request, "param", {})) as server:
        yield server


@pytest.fixture
def chromium() -> str:
    """The path of Debian's headless-capable Chromium (``tests/run`` installs it); skipped, with
    the reason, where it is missing (a failure with ``CI=true``)."""
    import shutil

    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        missing("chromium not installed (apt-get install chromium)")
    return found


@pytest.fixture
def desk_db(tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    """A fresh SQLite desk database: its URL (for a subprocess) and an engine on it."""
    from storage.db import open_database  # imported late: see the sys.path note above

    url = f"sqlite:///{tmp_path / 'desk.db'}"
    engine = open_database(url)
    yield url, engine
    engine.dispose()


@pytest.fixture
def unreadable_mail() -> bytes:
    """A MIME structure nested a thousand deep: Python's parser gives up (RecursionError)."""
    body = b"Content-Type: text/plain\r\n\r\nPlease delete my data.\r\n"
    for depth in range(1000):
        b = f"b{depth}".encode()
        body = (
            b'Content-Type: multipart/mixed; boundary="' + b + b'"\r\n\r\n--' + b + b"\r\n"
            + body + b"\r\n--" + b + b"--\r\n"
        )  # fmt: skip
    return b"From: someone@example.jp\r\nSubject: help\r\nMIME-Version: 1.0\r\n" + body


# tests/support.py (waiting, free ports, settling Slack handlers, the PostgreSQL admin
# connection), importable as ``support`` in every test module although this folder is off sys.path.
pg_admin = _harness("support").pg_admin
# tests/casefile_mail.py (a Japanese request and its follow-up with attachments), likewise.
_harness("casefile_mail")
