"""The command line as a person at a terminal meets it: progress on long work, Ctrl-C that stops
cleanly and can be taken up again, usage when called bare, ``--version``, help for every option.

Progress and Ctrl-C are seen as an operator sees them: the real command in another process, on a
pseudo-terminal or a pipe, and SIGINT sent to its whole process group as a terminal sends it."""

from __future__ import annotations

import argparse
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

import pytest
from support import eventually

from bot.cli import build_parser, main
from bot.learning import TRAIN_STEPS
from mail import sources

COMMAND = [sys.executable, "-c", "from bot.cli import main; raise SystemExit(main())"]


def _behind() -> None:
    """Run the interrupted command at the lowest CPU priority, so that the test, at normal
    priority, sees the first commit and presses Ctrl-C while the command is still at work even
    when other CPU-bound processes share the machine (without it, seen under load: the command
    finished all its work, exit 0, before the polling test got the CPU)."""
    os.nice(19)


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
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child is gone and the terminal closed
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    return child.wait(60), shown.decode("utf-8", "replace")


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
    running = subprocess.Popen(
        argv,
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
        preexec_fn=_behind,  # the test sees the first commit while the command is still busy
    )
    try:
        eventually(lambda: _cases(tmp_path) > 0, "the first cases committed", timeout=120)
        os.killpg(running.pid, signal.SIGINT)  # Ctrl-C: the command and its worker
        out, err = running.communicate(timeout=120)
    finally:
        if running.poll() is None:
            running.kill()
    assert running.returncode == 130, err
    assert "Traceback" not in err
    said = INTERRUPTED.match(err.strip())
    assert said is not None, err
    taken = _cases(tmp_path)
    assert int(said[2]) == total
    # Stopped half-way; what it counted is committed (a batch committed just as Ctrl-C came may
    # not be counted yet: the second run finds it stored).
    assert 0 <= int(said[1]) <= taken < total
    assert out == ""  # --quiet: no summary of a run that did not finish

    again = subprocess.run(argv, env=env, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert again.returncode == 0, again.stderr
    assert again.stdout == f"{total} messages: {taken} duplicate, {total - taken} opened\n"
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


def test_fetch_shows_progress_on_a_terminal_and_stops_cleanly_on_ctrl_c(
    dovecot: Any, tmp_path: Path, make_mail: Callable[..., bytes]
) -> None:
    total = 400
    dovecot.append_many("desk", _mails(make_mail, total))
    env = _env(tmp_path, PD_MAILBOX=dovecot.url("desk"))
    argv = [*COMMAND, "fetch", "--batch", "10", "--workers", "0"]
    running = subprocess.Popen(
        argv,
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=_behind,  # the test sees the first commit while the command is still busy
    )
    try:
        eventually(lambda: _cases(tmp_path) > 0, "the first cases committed", timeout=120)
        os.killpg(running.pid, signal.SIGINT)
        out, err = running.communicate(timeout=120)
    finally:
        if running.poll() is None:
            running.kill()
    assert running.returncode == 130, err
    assert "Traceback" not in err
    said = INTERRUPTED.match(err.strip())
    assert said is not None, err
    taken = _cases(tmp_path)
    assert int(said[2]) == total and 0 <= int(said[1]) <= taken < total
    assert out == ""

    code, shown = _on_terminal(argv, env, tmp_path)  # the rest, on a terminal
    assert code == 0, shown
    bar = re.search(r"\d+/(\d+) \[", shown)  # the rest: from the last checkpoint on
    assert bar is not None, shown
    assert total - taken <= int(bar[1]) <= total - int(said[1])
    assert _cases(tmp_path) == total


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


def test_ctrl_c_at_once_after_start_prints_no_traceback(tmp_path: Path) -> None:
    """SIGINT the moment the console script starts, wherever it lands: no traceback."""
    script = Path(sys.executable).with_name("privacy-desk")
    assert script.exists(), f"{script} not installed: pip install -e ."
    for _ in range(5):
        process = subprocess.Popen(
            [str(script), "cases"],
            env={**os.environ, "PD_DATABASE_URL": f"sqlite:///{tmp_path / 'none.db'}"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=60)
        assert "Traceback" not in err, err
        assert process.returncode in (130, -signal.SIGINT, 2), (process.returncode, err)
