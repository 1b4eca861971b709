"""The command line as a person at a terminal meets it: progress on long work, Ctrl-C that stops
cleanly and can be taken up again, usage when called bare, ``--version``, help for every option.

Progress and Ctrl-C are seen as an operator sees them: the real command in another process, on a
pseudo-terminal or a pipe, and SIGINT sent to its whole process group as a terminal sends it."""

from __future__ import annotations

import argparse
import contextlib
import io
import mailbox
import os
import re
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import make_url
from support import eventually

from bot.cli import build_parser, main
from bot.learning import TRAIN_STEPS
from mail import sources

COMMAND = [sys.executable, "-c", "from bot.cli import main; raise SystemExit(main())"]


def _hears_ctrl_c() -> None:
    """In the command's process before it starts: SIGINT as a terminal's foreground job has it.
    A suite started in the background of a non-interactive shell (``nohup ... &``) passes SIGINT
    on ignored, and Python then installs no KeyboardInterrupt at all: Ctrl-C would be lost."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@contextlib.contextmanager
def _sqlite_write_lock(path: Path) -> Iterator[None]:
    """Hold a SQLite database's write lock (readers go on; the desk's sessions, which begin
    IMMEDIATE, and its commits wait)."""
    lock = sqlite3.connect(path, isolation_level=None, timeout=60)
    try:
        lock.execute("BEGIN IMMEDIATE")
        yield
    finally:
        lock.close()  # rolls back: the lock is let go


@contextlib.contextmanager
def _cases_locked(url: str) -> Iterator[None]:
    """Hold a PostgreSQL lock on the case table that lets readers through and makes any
    insert wait (no timeout: the desk waits as long as it is held)."""
    with psycopg.connect(_conninfo(url)) as lock:
        lock.execute('LOCK TABLE "case" IN EXCLUSIVE MODE')
        yield
        lock.rollback()


def _conninfo(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _interrupted_mid_work(
    argv: list[str],
    env: dict[str, str],
    cwd: Path,
    total: int,
    held: contextlib.AbstractContextManager[None],
) -> tuple[int, str, str]:
    """Run ``argv`` (its database made already) and press Ctrl-C while it is provably mid-work.

    While ``held`` (a lock the test holds) the command can store no case and cannot finish,
    however busy the machine or slow the test; its stderr is a terminal, so it shows its bar, and
    the bar with the total (``0/TOTAL [``) says the work is under way. Then Ctrl-C (to its process
    group: the command and its reading processes, as a terminal's foreground job), then the lock
    is let go. Returns the exit status, stdout and what the terminal showed."""
    import pty
    import threading

    leader, follower = pty.openpty()
    shown: list[bytes] = []
    with held:
        running = subprocess.Popen(
            argv,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=follower,
            start_new_session=True,  # its own process group, as a terminal's foreground job
            preexec_fn=_hears_ctrl_c,
        )
        os.close(follower)
        reader = threading.Thread(target=_read_all, args=(leader, shown), daemon=True)
        reader.start()
        try:
            bar = f"0/{total} [".encode()
            eventually(lambda: bar in b"".join(shown) or running.poll() is not None, "the bar")
            assert running.poll() is None, b"".join(shown).decode("utf-8", "replace")
            os.killpg(running.pid, signal.SIGINT)  # Ctrl-C
        except BaseException:
            running.kill()
            raise
    # The lock is let go: the command may store what it holds, then stops.
    try:
        out, _ = running.communicate(timeout=120)
        reader.join(timeout=120)
    finally:
        if running.poll() is None:
            running.kill()
        os.close(leader)
    return running.returncode, out.decode(), b"".join(shown).decode("utf-8", "replace")


def _last_line(shown: str) -> str:
    """The last line a terminal shows (the bar's redraws and clearing aside)."""
    lines = [line.split("\r")[-1].strip() for line in shown.replace("\r\n", "\n").split("\n")]
    return [line for line in lines if line][-1]


INTERRUPTED = re.compile(r"^interrupted after (\d+) of (\d+); run again to continue$")


def _options(parser: argparse.ArgumentParser, path: str) -> Iterator[tuple[str, argparse.Action]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _options(child, f"{path} {name}")
        elif action.option_strings:
            yield path, action


def test_every_option_of_every_command_has_help() -> None:
    found = list(_options(build_parser(), "privacy-desk"))
    assert len(found) > 50  # the walk reached the subcommands
    bare = [
        f"{path} {'/'.join(action.option_strings)}"
        for path, action in found
        if not action.help or action.help == argparse.SUPPRESS
    ]
    assert bare == []


def test_the_bare_command_prints_the_usage_and_the_commands(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main([]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("usage: privacy-desk")
    for command in ("ingest", "fetch", "cases", "check"):
        assert f"\n    {command} " in err


def test_version_is_the_installed_one(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--version"])
    assert stopped.value.code == 0
    assert capsys.readouterr().out == f"privacy-desk {version('privacy-desk')}\n"


# ---- long work: ingest -----------------------------------------------------------------------


def _mbox(path: Path, make_mail: Callable[..., bytes], n: int) -> Path:
    box = mailbox.mbox(path)
    for i in range(n):
        box.add(
            make_mail(
                f"私の個人情報を削除してください。会員番号 {i}",
                sender=f"user{i}@example.jp",
                message_id=f"<friendly-{i}@mail.example.jp>",
            )
        )
    box.close()
    return path


def _env(tmp_path: Path, **settings: str) -> dict[str, str]:
    return dict(os.environ, PD_DATABASE_URL=f"sqlite:///{tmp_path / 'desk.db'}", **settings)


def _cases(tmp_path: Path) -> int:
    """Cases committed so far, read as another program would (0 before the schema exists)."""
    try:
        with sqlite3.connect(f"file:{tmp_path / 'desk.db'}?mode=ro", uri=True) as db:
            return int(db.execute('SELECT count(*) FROM "case"').fetchone()[0])
    except sqlite3.Error:
        return 0


def _on_terminal(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str]:
    """Run on a pseudo-terminal (stdin, stdout and stderr); its exit status and all it showed."""
    import pty

    leader, follower = pty.openpty()
    child = subprocess.Popen(
        argv, stdin=follower, stdout=follower, stderr=follower, env=env, cwd=cwd
    )
    os.close(follower)
    shown: list[bytes] = []
    _read_all(leader, shown)
    os.close(leader)
    return child.wait(60), b"".join(shown).decode("utf-8", "replace")


def _read_all(terminal: int, into: list[bytes]) -> None:
    """What a pseudo-terminal shows, chunk by chunk, until the program on it is gone."""
    while True:
        try:
            chunk = os.read(terminal, 65536)
        except OSError:  # EIO: the program is gone and the terminal closed
            return
        if not chunk:
            return
        into.append(chunk)


def test_ingest_shows_progress_on_a_terminal(
    tmp_path: Path, make_mail: Callable[..., bytes]
) -> None:
    mbox = _mbox(tmp_path / "archive.mbox", make_mail, 30)
    code, shown = _on_terminal(
        [*COMMAND, "ingest", "--quiet", "--workers", "0", str(mbox)], _env(tmp_path), tmp_path
    )
    assert code == 0, shown
    assert re.search(r"\d+/30 \[", shown), shown  # count of the known total, then the times
    assert "msg/s" in shown or "s/msg" in shown  # the rate
    assert "30 messages: 30 opened" in shown


def test_ingest_off_a_terminal_prints_only_what_it_did(
    tmp_path: Path, make_mail: Callable[..., bytes]
) -> None:
    mbox = _mbox(tmp_path / "archive.mbox", make_mail, 30)
    done = subprocess.run(
        [*COMMAND, "ingest", "--workers", "0", str(mbox)],
        env=_env(tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    assert len(lines) == 31 and lines[-1] == "30 messages: 30 opened"
    for n, line in enumerate(lines[:-1], start=1):
        assert re.fullmatch(rf"PD-\d{{4}}-\d{{6}} +opened +deletion +due \S+ +{mbox}#{n}", line)


def test_ctrl_c_stops_ingest_cleanly_and_a_second_run_takes_the_rest(
    tmp_path: Path, make_mail: Callable[..., bytes]
) -> None:
    total = 600
    mbox = _mbox(tmp_path / "archive.mbox", make_mail, total)
    argv = [*COMMAND, "ingest", "--quiet", "--batch", "10", "--workers", "1", str(mbox)]
    env = _env(tmp_path)
    subprocess.run([*COMMAND, "db", "upgrade"], env=env, cwd=tmp_path, check=True)
    code, out, shown = _interrupted_mid_work(
        argv, env, tmp_path, total, _sqlite_write_lock(tmp_path / "desk.db")
    )
    assert code == 130, shown
    assert "Traceback" not in shown
    said = INTERRUPTED.match(_last_line(shown))
    assert said is not None, shown
    taken = _cases(tmp_path)
    assert int(said[2]) == total
    # Stopped half-way; what it counted is committed (a batch committed just as Ctrl-C came may
    # not be counted yet: the second run finds it stored).
    assert 0 <= int(said[1]) <= taken < total
    assert out == ""  # --quiet: no summary of a run that did not finish

    again = subprocess.run(argv, env=env, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert again.returncode == 0, again.stderr
    done = [f"{taken} duplicate"] if taken else []  # what the first run stored
    assert again.stdout == f"{total} messages: {', '.join([*done, f'{total - taken} opened'])}\n"
    assert _cases(tmp_path) == total


def test_the_count_of_a_source_is_what_is_read(
    tmp_path: Path, make_mail: Callable[..., bytes]
) -> None:
    mbox = _mbox(tmp_path / "archive.mbox", make_mail, 5)
    with mbox.open("ab") as fh:  # a body line that starts "From " is escaped: not a message
        fh.write(b"From x@example.jp Thu Jan  1 00:00:00 2026\nSubject: six\n\n>From me\n\n")
    folder = tmp_path / "folder"
    folder.mkdir()
    for name in ("a.eml", "b.EML", "notes.txt"):
        (folder / name).write_bytes(make_mail("hello"))
    paths = [str(mbox), str(folder)]
    assert sources.count(paths) == len(list(sources.iter_sources(paths))) == 8
    assert sources.count([str(tmp_path / "gone")]) is None


def test_another_command_interrupted_says_so_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot import settings

    def ctrl_c(**_: object) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(settings, "read", ctrl_c)
    assert main(["cases"]) == 130
    assert capsys.readouterr().err == "interrupted\n"


# ---- long work: fetch ------------------------------------------------------------------------


def _mails(make_mail: Callable[..., bytes], n: int) -> list[bytes]:
    return [
        make_mail(
            f"私の個人情報を削除してください。会員番号 {i}",
            sender=f"user{i}@example.jp",
            message_id=f"<fetch-{i}@mail.example.jp>",
        )
        for i in range(n)
    ]


def test_fetch_tells_its_progress_batch_by_batch(
    dovecot: Any, tmp_path: Path, make_mail: Callable[..., bytes]
) -> None:
    from bot.watch import desk_watcher
    from mail.imap import parse_mailbox_url
    from storage.db import open_database

    dovecot.append_many("desk", _mails(make_mail, 5))
    engine = open_database(f"sqlite:///{tmp_path / 'desk.db'}")
    watcher, sink = desk_watcher(engine, parse_mailbox_url(dovecot.url("desk")), batch=2)
    told: list[tuple[int, int]] = []
    try:
        watcher.run_once(on_progress=lambda done, total: told.append((done, total)))
    finally:
        sink.close()
        engine.dispose()
    assert told == [(0, 5), (2, 5), (4, 5), (5, 5)]


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_fetch_shows_progress_on_a_terminal_and_stops_cleanly_on_ctrl_c(
    dovecot: Any, database: str, tmp_path: Path, make_mail: Callable[..., bytes]
) -> None:
    # On PostgreSQL: the test can hold back the storing of cases alone, while the desk reads
    # its checkpoint and the mailbox and shows its bar (SQLite has one lock for everything).
    total = 400
    env = dict(_env(tmp_path, PD_MAILBOX=dovecot.url("desk")), PD_DATABASE_URL=database)
    argv = [*COMMAND, "fetch", "--batch", "10", "--workers", "0"]
    subprocess.run([*COMMAND, "db", "upgrade"], env=env, cwd=tmp_path, check=True)
    # A first pass over the empty mailbox marks the desk's first read.
    first = subprocess.run(argv, env=env, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert first.returncode == 0, first.stderr
    dovecot.append_many("desk", _mails(make_mail, total))
    code, out, shown = _interrupted_mid_work(argv, env, tmp_path, total, _cases_locked(database))
    assert code == 130, shown
    assert "Traceback" not in shown
    said = INTERRUPTED.match(_last_line(shown))
    assert said is not None, shown
    taken = _pg_cases(database)
    assert int(said[2]) == total and 0 <= int(said[1]) <= taken < total
    assert out == ""

    code, shown = _on_terminal(argv, env, tmp_path)  # the rest, on a terminal
    assert code == 0, shown
    bar = re.search(r"\d+/(\d+) \[", shown)  # the rest: from the last checkpoint on
    assert bar is not None, shown
    assert total - taken <= int(bar[1]) <= total - int(said[1])
    assert _pg_cases(database) == total


def _pg_cases(url: str) -> int:
    with psycopg.connect(_conninfo(url)) as db:
        row = db.execute('SELECT count(*) FROM "case"').fetchone()
    assert row is not None
    return int(row[0])


def test_fetch_from_a_database_locked_by_another_program_says_so_in_one_line(
    dovecot: Any, tmp_path: Path, make_mail: Callable[..., bytes]
) -> None:
    env = _env(tmp_path, PD_MAILBOX=dovecot.url("desk"))
    subprocess.run([*COMMAND, "db", "upgrade"], env=env, cwd=tmp_path, check=True)
    dovecot.append_many("desk", _mails(make_mail, 3))
    with _sqlite_write_lock(tmp_path / "desk.db"):  # held past the desk's busy timeout
        fetched = subprocess.run(
            [*COMMAND, "fetch"], env=env, cwd=tmp_path, capture_output=True, text=True, check=False
        )
    assert fetched.returncode == 2
    assert fetched.stderr == "privacy-desk: the database failed: database is locked\n"
    assert _cases(tmp_path) == 0
    again = subprocess.run([*COMMAND, "fetch"], env=env, cwd=tmp_path, capture_output=True)
    assert again.returncode == 0 and _cases(tmp_path) == 3  # nothing lost: taken once free


# ---- long work: keys rotate, purge ------------------------------------------------------------


def _ingested(tmp_path: Path, make_mail: Callable[..., bytes], n: int) -> dict[str, str]:
    env = _env(tmp_path)
    mbox = _mbox(tmp_path / "archive.mbox", make_mail, n)
    subprocess.run(
        [*COMMAND, "ingest", "--quiet", "--workers", "0", str(mbox)],
        env=env,
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    return env


def _sealed(tmp_path: Path) -> int:
    with sqlite3.connect(f"file:{tmp_path / 'desk.db'}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT raw FROM message WHERE raw IS NOT NULL").fetchall()
    from storage.crypto import is_sealed

    return sum(1 for (raw,) in rows if is_sealed(bytes(raw)))


def test_keys_rotate_shows_progress_on_a_terminal(
    tmp_path: Path, make_mail: Callable[..., bytes]
) -> None:
    from storage.crypto import new_key

    env = _ingested(tmp_path, make_mail, 30)
    code, shown = _on_terminal(
        [*COMMAND, "keys", "rotate"], dict(env, PD_RAW_KEYS=new_key()), tmp_path
    )
    assert code == 0, shown
    assert re.search(r"\d+/30 \[", shown), shown  # the rows of raw mail, counted
    assert "row/s" in shown or "s/row" in shown
    assert "0 rows re-encrypted and 30 rows encrypted" in shown
    assert _sealed(tmp_path) == 30


def test_ctrl_c_stops_keys_rotate_after_a_batch_and_a_second_run_finishes(
    tmp_path: Path,
    make_mail: Callable[..., bytes],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from storage import crypto

    env = _ingested(tmp_path, make_mail, 25)
    for name in ("PD_DATABASE_URL",):
        monkeypatch.setenv(name, env[name])
    monkeypatch.setenv("PD_RAW_KEYS", crypto.new_key())
    monkeypatch.chdir(tmp_path)
    rotate = crypto.rotate

    def stopped_after_a_batch(*args: Any, **kwargs: Any) -> Any:
        told = kwargs.pop("progress")

        def ctrl_c(done: int, total: int) -> None:
            told(done, total)
            raise KeyboardInterrupt  # as Ctrl-C would, once the first batch is committed

        return rotate(*args, batch=10, progress=ctrl_c, **kwargs)

    monkeypatch.setattr(crypto, "rotate", stopped_after_a_batch)
    assert main(["keys", "rotate"]) == 130
    out, err = capsys.readouterr()
    assert err == "interrupted after 10 of 25; run again to continue\n"
    assert "Traceback" not in out + err
    assert _sealed(tmp_path) == 10  # the committed batch stays encrypted

    monkeypatch.setattr(crypto, "rotate", rotate)
    assert main(["keys", "rotate"]) == 0
    assert "10 rows re-encrypted and 15 rows encrypted" in capsys.readouterr().out
    assert _sealed(tmp_path) == 25


def _close_long_ago(tmp_path: Path) -> None:
    """Every case closed, and all its mail, two years ago: due for purging."""
    long_ago = "2024-01-01 00:00:00"
    with sqlite3.connect(tmp_path / "desk.db") as db:
        db.execute('UPDATE "case" SET status = ?, closed_at = ?', ("closed", long_ago))
        db.execute("UPDATE message SET received_at = ?", (long_ago,))


def test_purge_shows_progress_on_a_terminal(
    tmp_path: Path, make_mail: Callable[..., bytes]
) -> None:
    env = _ingested(tmp_path, make_mail, 12)
    _close_long_ago(tmp_path)
    code, shown = _on_terminal([*COMMAND, "purge"], env, tmp_path)
    assert code == 0, shown
    assert re.search(r"\d+/12 \[", shown), shown
    assert "case/s" in shown or "s/case" in shown
    assert "purged 12 cases closed more than 365 days ago" in shown


def test_ctrl_c_stops_purge_between_cases_and_a_second_run_purges_the_rest(
    tmp_path: Path,
    make_mail: Callable[..., bytes],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bot import retention

    env = _ingested(tmp_path, make_mail, 6)
    _close_long_ago(tmp_path)
    monkeypatch.setenv("PD_DATABASE_URL", env["PD_DATABASE_URL"])
    monkeypatch.chdir(tmp_path)
    purge = retention.purge

    def stopped_after_two(*args: Any, **kwargs: Any) -> Any:
        told = kwargs.pop("progress")

        def ctrl_c(done: int, total: int) -> None:
            told(done, total)
            if done == 2:
                raise KeyboardInterrupt

        return purge(*args, progress=ctrl_c, **kwargs)

    monkeypatch.setattr(retention, "purge", stopped_after_two)
    assert main(["purge"]) == 130
    assert capsys.readouterr().err == "interrupted after 2 of 6; run again to continue\n"

    def purged() -> int:
        with sqlite3.connect(f"file:{tmp_path / 'desk.db'}?mode=ro", uri=True) as db:
            return int(
                db.execute('SELECT count(*) FROM "case" WHERE purged_at IS NOT NULL').fetchone()[0]
            )

    assert purged() == 2
    monkeypatch.setattr(retention, "purge", purge)
    assert main(["purge"]) == 0
    assert "purged 4 cases" in capsys.readouterr().out
    assert purged() == 6


# ---- the progress helper itself --------------------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_draws_on_a_terminal_only() -> None:
    from bot.cli.output import Progress

    terminal, pipe = _Terminal(), io.StringIO()
    for stream in (terminal, pipe):
        with Progress(len(TRAIN_STEPS), unit="step", stream=stream) as progress:
            for n, what in enumerate(TRAIN_STEPS):
                progress.step(n, what)
    assert pipe.getvalue() == ""
    for what in TRAIN_STEPS:
        assert f"{what}:" in terminal.getvalue()
    assert "/5 [" in terminal.getvalue() and "step" in terminal.getvalue()
    assert Progress(None, stream=pipe).interrupted() == (
        "interrupted after 0 messages; run again to continue"
    )


# ---- start-up --------------------------------------------------------------------------------

HEAVY = ("numpy", "jinja2", "slack_sdk", "slack_bolt", "sklearn", "alembic", "aiohttp", "tqdm")

PROBE = f"""
import json, sys
from bot.cli import main
code = main(["cases"])
print(json.dumps({{"code": code, "loaded": sorted(m for m in {HEAVY!r} if m in sys.modules)}}))
"""


def test_cases_loads_the_orm_and_nothing_heavier(tmp_path: Path) -> None:
    # What the command does not need, it does not import (bench/cli_start.py times it).
    env = _env(tmp_path)
    subprocess.run(
        [*COMMAND, "db", "upgrade"], env=env, cwd=tmp_path, check=True, capture_output=True
    )
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == '{"code": 0, "loaded": []}'


def test_a_library_logging_the_interrupt_it_was_in_prints_no_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """SQLAlchemy's pool logs the KeyboardInterrupt that lands while it returns a connection;
    the command line keeps that traceback off the operator's terminal, and nothing else."""
    import logging

    assert main([]) == 2  # the command line as it starts
    monkeypatch.setattr(logging.root, "handlers", [])  # no handler: Python's last resort
    capsys.readouterr()
    pool = logging.getLogger("sqlalchemy.pool.impl.QueuePool")
    try:
        raise KeyboardInterrupt
    except KeyboardInterrupt:
        pool.error("Exception during reset or similar", exc_info=True)
    assert capsys.readouterr().err == ""
    try:
        raise RuntimeError("a real fault")
    except RuntimeError:
        pool.error("Exception during reset or similar", exc_info=True)
    assert "Traceback" in capsys.readouterr().err  # real faults still show


def test_ctrl_c_while_the_command_line_is_imported_says_interrupted(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The console script's first tenth of a second is spent importing the command line: Ctrl-C
    there ends as it does later, with "interrupted" and 130, not an import's traceback."""
    import builtins

    from bot import entry

    real_import = builtins.__import__

    def interrupted_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "bot.cli":
            raise KeyboardInterrupt
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", interrupted_import)
    assert entry.main() == 130
    assert capsys.readouterr().err == "interrupted\n"
