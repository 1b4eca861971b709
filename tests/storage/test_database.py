"""The database on SQLite and PostgreSQL: schema by migration, upgrade command, refusal of an old
schema, case references under concurrent writers, and times that come back as UTC."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, inspect
from sqlalchemy.exc import StatementError
from sqlmodel import Session, SQLModel, select

from bot.cli import main
from storage import repo, search
from storage.db import current_revision, head_revision, make_engine, open_database, plain_head
from storage.errors import SchemaError
from storage.models import Case

TOKYO = ZoneInfo("Asia/Tokyo")
postgresql_only = pytest.mark.parametrize("database", ["postgresql"], indirect=True)


def _open_case(session: Session, received_at: datetime, **changes: object) -> repo.CaseHandle:
    values: dict[str, object] = {
        "kind": "privacy",
        "intents": ["deletion"],
        "language": "ja",
        "requester": "hanako@example.jp",
        "requester_name": "Hanako Sato",
        "received_at": received_at,
        "ack_due": None,
        "answer_due": None,
        "needs_triage": False,
        "flags": [],
        **changes,
    }
    return repo.open_case(session, **values)  # type: ignore[arg-type]


def test_migration_creates_every_table_at_head(engine: Engine) -> None:
    head = head_revision()
    assert head is not None
    assert current_revision(engine) == head
    found = inspect(engine)
    # SQLite's FTS5 table of the search index and its shadow tables are no models
    tables = {t for t in found.get_table_names() if not t.startswith(search.FTS)}
    assert tables == set(SQLModel.metadata.tables) | {"alembic_version"}
    for name, table in SQLModel.metadata.tables.items():
        columns = {c["name"] for c in found.get_columns(name)}
        assert columns == {c.name for c in table.columns}, name


def test_the_head_read_without_alembic_is_alembics(tmp_path: Path) -> None:
    # Opening a database at the head skips Alembic (its import is slow) only when the migration
    # files, read as text, name the same head; anything they cannot say is left to Alembic.
    assert plain_head() == head_revision()
    url = f"sqlite:///{tmp_path}/desk.db"
    open_database(url).dispose()
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("UPDATE alembic_version SET version_num = '0001'")
    finally:
        engine.dispose()
    with pytest.raises(SchemaError, match="0001"):
        open_database(url, auto_upgrade=False)


def test_db_upgrade_command_then_already_at_head(
    database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PD_DATABASE_URL", database)
    head = head_revision()
    assert main(["db", "upgrade"]) == 0
    first = capsys.readouterr().out
    assert f"schema upgraded from nothing to {head}" in first
    assert main(["db", "upgrade"]) == 0
    second = capsys.readouterr().out
    assert f"schema already at {head}" in second
    assert "upgraded" not in second
    engine = open_database(database)  # no auto-upgrade needed any more
    try:
        assert current_revision(engine) == head
    finally:
        engine.dispose()


@postgresql_only
def test_postgresql_behind_the_code_is_refused(
    database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SchemaError, match=r"run `privacy-desk db upgrade`"):
        open_database(database)
    monkeypatch.setenv("PD_DATABASE_URL", database)
    assert main(["cases"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "privacy-desk db upgrade" in err
    # Refusing is all it did: still no schema.
    engine = make_engine(database)
    try:
        assert current_revision(engine) is None
        assert inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


def test_sqlite_is_created_on_first_use(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/var/desk.db"
    engine = open_database(url)
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_references_are_numbered_per_year(engine: Engine) -> None:
    received = datetime(2026, 5, 1, 10, 0, tzinfo=TOKYO)
    with Session(engine) as session:
        refs = [_open_case(session, received).ref for _ in range(3)]
        session.commit()
    with Session(engine) as session:
        # The year is Tokyo's: 2026-12-31 16:00 UTC is already New Year's Day in Japan.
        new_year = _open_case(session, datetime(2026, 12, 31, 16, 0, tzinfo=UTC)).ref
        later = _open_case(session, received).ref
        session.commit()
    assert refs == ["PD-2026-000001", "PD-2026-000002", "PD-2026-000003"]
    assert new_year == "PD-2027-000001"
    assert later == "PD-2026-000004"
    with Session(engine) as session:
        stored = session.exec(select(Case.ref)).all()
    assert sorted(stored) == sorted([*refs, new_year, later])


def test_references_unique_under_concurrent_writers(engine: Engine) -> None:
    threads, each = 8, 25
    start = threading.Barrier(threads)
    found: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def writer() -> None:
        try:
            start.wait()
            for _ in range(each):
                with Session(engine) as session:
                    ref = repo.next_reference(session, 2026)
                    session.commit()
                with lock:
                    found.append(ref)
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    workers = [threading.Thread(target=writer) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    assert len(found) == threads * each
    assert len(set(found)) == threads * each, "a reference was handed out twice"
    assert all(re.fullmatch(r"PD-2026-\d{6}", ref) for ref in found)
    with Session(engine) as session:
        assert repo.next_reference(session, 2026) == f"PD-2026-{threads * each + 1:06d}"


def test_aware_datetimes_come_back_as_utc(engine: Engine) -> None:
    received = datetime(2026, 3, 3, 1, 30, 15, 123456, tzinfo=TOKYO)
    due = datetime(2026, 3, 17, 23, 59, 59, 999999, tzinfo=TOKYO)
    ack = datetime(2026, 3, 3, 9, 0, tzinfo=timezone(timedelta(hours=-5)))
    with Session(engine) as session:
        ref = _open_case(session, received, answer_due=due, ack_due=ack).ref
        session.commit()
    with Session(engine) as session:
        case = repo.case_by_ref(session, ref)
        assert case is not None
        for stored, given in (
            (case.received_at, received),
            (case.answer_due, due),
            (case.ack_due, ack),
        ):
            assert stored == given
            assert stored is not None and stored.tzinfo == UTC
        assert case.received_at.isoformat() == "2026-03-02T16:30:15.123456+00:00"


def test_naive_datetime_is_refused(engine: Engine) -> None:
    with Session(engine) as session, pytest.raises(StatementError, match="naive datetime"):
        _open_case(session, datetime(2026, 3, 3, 10, 0))
