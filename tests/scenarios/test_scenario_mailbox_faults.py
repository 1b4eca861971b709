"""What goes wrong between the desk and its mailbox gets a clear answer: a wrong password, a
folder that is not there, a server that never answers, a connection cut mid-FETCH."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, select
from support import eventually

from bot.cli import main
from bot.watch import desk_watcher
from mail.imap import parse_mailbox_url
from storage.db import open_database
from storage.models import MailMessage


@pytest.fixture
def desk_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    monkeypatch.setenv("PD_DATABASE_URL", url)
    return url


def _refused(capsys: pytest.CaptureFixture[str], *words: str) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    for word in words:
        assert word in err, err
    return err


def test_a_wrong_password_is_one_line_and_exit_2(
    dovecot: Any, desk_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PD_MAILBOX", f"imap://desk:not-the-password@127.0.0.1:{dovecot.port}/INBOX")
    assert main(["fetch"]) == 2
    err = _refused(capsys, "login refused")
    assert "not-the-password" not in err


def test_a_folder_that_does_not_exist_is_named(
    dovecot: Any, desk_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PD_MAILBOX", dovecot.url("desk", folder="Nowhere"))
    assert main(["fetch"]) == 2
    _refused(capsys, "Nowhere")


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A server that accepts connections and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


def test_a_server_that_never_answers_times_out(
    silent_server: int,
    desk_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PD_MAILBOX", f"imap://desk:pw@127.0.0.1:{silent_server}/INBOX")
    monkeypatch.setenv("PD_IMAP_TIMEOUT", "1")
    # Ended by the desk's own timeout, which it names; 120 s is far above any load: only a
    # fetch that hangs fails it.
    done: list[int] = []
    fetch = threading.Thread(target=lambda: done.append(main(["fetch"])), daemon=True)
    fetch.start()
    fetch.join(120)
    assert done == [2], "fetch hangs on a server that never answers"
    _refused(capsys, "127.0.0.1", "timed out")


class CuttingProxy:
    """Forwards to Dovecot; the first connection is cut after ``limit`` bytes from the server."""

    def __init__(self, port: int, limit: int) -> None:
        self.target = port
        self.limit = limit
        self.cuts = 0
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        self.port = self.listener.getsockname()[1]
        self.stop = threading.Event()
        self.accepting = threading.Thread(target=self._serve, daemon=True)
        self.accepting.start()

    def _serve(self) -> None:
        self.listener.settimeout(0.2)
        first = True
        while not self.stop.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:  # the listener was closed
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            limit = self.limit if first else None
            first = False
            threading.Thread(target=self._pipe, args=(client, upstream, None), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, limit), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, limit: int | None) -> None:
        sent = 0
        try:
            while data := source.recv(65536):
                if limit is not None and sent + len(data) > limit:
                    sink.sendall(data[: limit - sent])
                    self.cuts += 1
                    break
                sink.sendall(data)
                sent += len(data)
        except OSError:
            pass
        for s in (source, sink):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def close(self) -> None:
        self.stop.set()
        self.accepting.join(10)  # the accept loop has seen it before the socket goes
        self.listener.close()


def test_a_connection_cut_mid_fetch_is_resumed_and_nothing_is_lost(
    dovecot: Any, desk_url: str, make_mail: Callable[..., bytes]
) -> None:
    raws = [
        make_mail(f"データを削除してください {i}" + "。" * 2000, message_id=f"<cut-{i}@example.jp>")
        for i in range(40)
    ]
    dovecot.append_many("desk", raws)
    proxy = CuttingProxy(dovecot.port, limit=20_000)  # well into the first FETCH answer
    engine: Engine = open_database(desk_url)
    mailbox = dovecot.url("desk").replace(f":{dovecot.port}/", f":{proxy.port}/")
    watcher, _sink = desk_watcher(engine, parse_mailbox_url(mailbox), batch=10, max_backoff=1)
    stop = threading.Event()
    thread = threading.Thread(target=watcher.run, args=(stop,), daemon=True)
    thread.start()

    def taken() -> int:
        with Session(engine) as session:
            return int(session.exec(select(func.count()).select_from(MailMessage)).one())

    try:
        eventually(lambda: taken() >= 40, "all 40 taken in after the cut", timeout=60)
    finally:
        stop.set()
        thread.join(10)
        proxy.close()
    assert taken() == 40
    assert proxy.cuts == 1 and watcher.reconnects >= 1
    engine.dispose()
