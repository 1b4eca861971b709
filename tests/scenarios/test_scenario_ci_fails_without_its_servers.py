"""CI cannot pass without the servers the suite needs: with ``CI=true`` a PostgreSQL that cannot be
reached fails the run before any test, with one line saying what is missing and where it was
looked for; on a developer's machine (no ``CI``) the same tests are skipped with that reason."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# one test on both databases: SQLite runs anywhere, PostgreSQL needs the server
TARGET = "tests/storage/test_database.py::test_migration_creates_every_table_at_head"


@pytest.fixture
def nothing_listens() -> Iterator[str]:
    """A libpq connection string for a loopback port that refuses connections: bound by this
    test (so no other process can listen there meanwhile), never listening."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield f"host=127.0.0.1 port={held.getsockname()[1]} user=postgres dbname=test"


def _pytest(*, ci: bool, pg_admin: str, basetemp: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS")}
    env["PDT_PG_ADMIN"] = pg_admin
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            f"--basetemp={basetemp}",
            TARGET,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_with_ci_true_a_missing_postgresql_fails_the_run_with_one_line(
    nothing_listens: str, tmp_path: Path
) -> None:
    run = _pytest(ci=True, pg_admin=nothing_listens, basetemp=tmp_path / "run")
    assert run.returncode == pytest.ExitCode.TESTS_FAILED, run.stdout + run.stderr
    [line] = [
        line for line in run.stderr.splitlines() if line.startswith("Exit: CI=true and PostgreSQL")
    ]
    assert f"PostgreSQL not reachable with {nothing_listens!r} (PDT_PG_ADMIN)" in line
    assert "Connection refused" in line
    assert " passed" not in run.stdout and " skipped" not in run.stdout  # stopped before any test


def test_without_ci_the_same_tests_are_skipped_with_the_reason(
    nothing_listens: str, tmp_path: Path
) -> None:
    run = _pytest(ci=False, pg_admin=nothing_listens, basetemp=tmp_path / "run")
    assert run.returncode == pytest.ExitCode.OK, run.stdout + run.stderr
    assert "1 passed, 1 skipped" in run.stdout  # SQLite ran; PostgreSQL was skipped, saying why
    assert f"PostgreSQL not reachable with {nothing_listens!r} (PDT_PG_ADMIN)" in run.stdout
