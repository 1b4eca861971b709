"""Small helpers the tests share: waiting for something to happen, a free port, letting a Slack
handler's after-ack work finish. (Loaded by tests/conftest.py: ``from support import ...``.)"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import re
import socket
import struct
import threading
import time
import uuid
import zipfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any


def pg_admin() -> str:
    """The libpq connection string of a PostgreSQL role that may create databases: the test
    tooling's ``PDT_PG_ADMIN``, by default the machine's server on 127.0.0.1:5432."""
    return os.environ.get("PDT_PG_ADMIN") or "host=127.0.0.1 port=5432 user=postgres dbname=test"


def eventually(check: Callable[[], Any], what: str = "", *, timeout: float = 90.0) -> Any:
    """Poll ``check`` until it returns something true (returned), failing after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"not within {timeout:.0f} s: {what or check}"
        time.sleep(0.05)
    return found


def growth(work: Callable[[int], object], size: int, factor: int = 10) -> float:
    """How many times more ``work(size * factor)`` costs than ``work(size)``: about ``factor``
    for linear work, ``factor ** 2`` for quadratic. Cost is the least CPU time of this thread over
    five runs, not wall time: another busy process on the machine does not stretch it, and a
    ratio of two costs measured alike does not depend on how fast the machine is."""

    def cost(n: int) -> float:
        least = float("inf")
        for _ in range(5):
            started = time.thread_time()
            work(n)
            least = min(least, time.thread_time() - started)
        return max(least, 1e-6)

    small = cost(size)
    return cost(size * factor) / small


def free_port() -> int:
    """A loopback port nothing listens on (the OS's choice)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def eventually_async(
    check: Callable[[], Any], what: str = "", *, timeout: float = 90.0
) -> Any:
    """``eventually`` inside an event loop: polls without blocking the loop's other tasks."""
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"not within {timeout:.0f} s: {what or check}"
        await asyncio.sleep(0.05)
    return found


async def settle(timeout: float = 30.0) -> None:
    """Wait until the work a Slack handler does after its ack has finished (bolt runs it after
    answering): no other task left in the loop. Fails, naming them, if some are still running
    after ``timeout`` seconds, rather than letting the test go on and race them."""

    def pending() -> list[asyncio.Task[Any]]:
        return [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]

    deadline = time.monotonic() + timeout
    while left := pending():
        assert time.monotonic() < deadline, f"still running after {timeout:.0f} s: {left}"
        await asyncio.sleep(0.02)


def add_case(
    session: Any,
    requester: str,
    *,
    received: datetime,
    due: datetime | None,
    status: str = "in_progress",
    assignee: str | None = None,
    subject: str = "個人情報削除のお願い",
    intents: tuple[str, ...] = ("deletion",),
    draft: bool = False,
    body: str = "",
    name: str = "",
) -> str:
    """A case with its first message, as intake leaves it (and a draft waiting, its subject,
    ``body`` and requester ``name`` in the search index): its reference. Without intake's
    classification or deadline rules: for tests of what staff are shown."""
    from storage import repo, search
    from storage.models import MailMessage

    handle = repo.open_case(
        session,
        kind="privacy",
        intents=intents,
        language="ja",
        requester=requester,
        requester_name=name,
        received_at=received,
        ack_due=None,
        answer_due=due,
        needs_triage=False,
        flags=(),
        status=status,
        assignee=assignee,
    )
    message = MailMessage(
        case_id=handle.id,
        message_id=f"{uuid.uuid4().hex}@mail.example.jp",
        sha256=uuid.uuid4().hex,
        subject=subject,
        sender=requester,
        received_at=received,
    )
    session.add(message)
    session.flush()
    assert message.id is not None
    search.add_message(session, message.id, subject=subject, newest=body)
    repo.audit(session, handle.id, "intake", "case opened")
    if draft:
        repo.add_draft(
            session, handle.id, template="deletion_done", language="ja", subject="件名", body="本文"
        )
    return handle.ref


def outside_address() -> str | None:
    """An address of this machine that is not loopback (the one a route out would use), or
    None. Nothing is sent: connecting a UDP socket only picks the source address."""
    import ipaddress

    for target in ("192.0.2.1", "10.255.255.1"):  # TEST-NET-1, private: only routed, never sent
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.connect((target, 9))
            except OSError:
                continue
            address = str(probe.getsockname()[0])
        if not ipaddress.ip_address(address).is_loopback:
            return address
    return None


class Relay:
    """A TCP relay on ``host`` (an address that is not loopback) to a server on 127.0.0.1, so a
    test reaches a local server the way the desk reaches a remote one: where a password in clear
    is refused unless a setting allows it.

        with Relay(outside_address(), dovecot.port) as relay:
            ...imap://desk@{relay.host}:{relay.port}/INBOX...
    """

    def __init__(self, host: str, target_port: int, target_host: str = "127.0.0.1") -> None:
        import socketserver
        import threading

        target = (target_host, target_port)

        class Pipe(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                with socket.create_connection(target, timeout=30) as upstream:
                    pumps = [
                        threading.Thread(target=_pump, args=(self.request, upstream), daemon=True),
                        threading.Thread(target=_pump, args=(upstream, self.request), daemon=True),
                    ]
                    for pump in pumps:
                        pump.start()
                    for pump in pumps:
                        pump.join()

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server((host, 0), Pipe)
        self.host = host
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Relay:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def _pump(source: socket.socket, sink: socket.socket) -> None:
    """Copy bytes until ``source`` closes, then close ``sink``'s sending side."""
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


class Serving:
    """A ``serve(stop)`` coroutine of the desk run on an event loop in a thread of the test's own,
    so the test can go on with blocking calls; ``stop()`` sets its stop event from outside."""

    def __init__(self, serve: Callable[[asyncio.Event], Any]) -> None:
        self._serve = serve
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
            self._ready.set()
            await self._serve(self._stop)

        try:
            asyncio.run(main())
        except BaseException as exc:  # shown by ``stop``
            self.error = exc

    def start(self) -> Serving:
        self.thread.start()
        assert self._ready.wait(10)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self._loop is not None and self._stop is not None and self.thread.is_alive():
            with contextlib.suppress(RuntimeError):  # the loop has just ended
                self._loop.call_soon_threadsafe(self._stop.set)
        self.thread.join(timeout)

    def is_alive(self) -> bool:
        return self.thread.is_alive()


def served_port(process: Any, stdout: Any, *, timeout: float = 90.0) -> int:
    """The HTTP port a ``privacy-desk serve`` started with ``PD_HTTP_PORT=0`` listens on, read
    from its standard output (a file: ``stdout``, a ``Path``) once it says so; fails with the
    exit code when the service ends before."""
    import re
    from pathlib import Path

    def said() -> int | None:
        text = Path(stdout).read_text(errors="replace")
        if found := re.search(r"^http: listening on \S+:(\d+)$", text, re.MULTILINE):
            return int(found[1])
        assert process.poll() is None, f"serve exited {process.returncode}: {text[-2000:]}"
        return None

    return int(eventually(said, "serve says which HTTP port it listens on", timeout=timeout))


# What may stay in Latin letters in a Japanese text: names of laws and of products, units, the
# time zone as Japanese offices write it, and the names of the letter templates (identifiers
# staff also type: `privacy-desk draft REF ack`).
TEMPLATES = {
    p.name.split(".")[0] for p in (Path(__file__).parents[1] / "templates" / "mail").glob("*.j2")
}
ALLOWED = {
    "PD",
    "APPI",
    "GDPR",
    "CCPA",
    "EU",
    "Slack",
    "ID",
    "PDF",
    "OK",
    "KB",
    "MB",
    "GB",
    "URL",
    "ZIP",
    "HTML",
    "JST",
    "Windows",
    "Linux",
    "macOS",
    "Java",
} | TEMPLATES


def english(text: str) -> list[str]:
    """The English words left in ``text`` once code, links, mentions, emoji, references,
    addresses and identifiers are set aside."""
    text = re.sub(r"```.*?```|`[^`]*`", " ", text, flags=re.DOTALL)  # commands
    text = re.sub(r"<[^<>]*>", " ", text)  # mentions, links
    text = re.sub(r":[a-z0-9_+-]+:", " ", text)  # emoji
    text = re.sub(r"\S*[@/._]\S*", " ", text)  # addresses, URLs, file and template names
    text = re.sub(r"PD-\d{4}-\d+", " ", text)
    return [w for w in re.findall(r"[A-Za-z]{2,}", text) if w not in ALLOWED]


def zip_of(entries: dict[str, bytes]) -> bytes:
    """A ZIP archive (deflated) of ``entries``, made as any zip tool makes one."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def _patched(archive: bytes, signature: bytes, offset: int, fmt: str, value: int) -> bytes:
    data, at = bytearray(archive), archive.find(signature)
    while at >= 0:
        struct.pack_into(fmt, data, at + offset, value)
        at = archive.find(signature, at + 1)
    return bytes(data)


def encrypted(archive: bytes) -> bytes:
    """``archive`` with every entry marked encrypted (general purpose flag bit 0), in its local
    and central headers, as a tool that encrypts them marks them."""
    flags = struct.unpack_from("<H", archive, 6)[0] | 0x1
    data = _patched(archive, b"PK\x03\x04", 6, "<H", flags)
    return _patched(data, b"PK\x01\x02", 8, "<H", flags)


def lying_about_size(archive: bytes, size: int) -> bytes:
    """``archive`` (of one entry) whose headers say it unpacks to ``size`` bytes."""
    data = _patched(archive, b"PK\x03\x04", 22, "<I", size)
    return _patched(data, b"PK\x01\x02", 24, "<I", size)
