"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, a port the OS picks, in its own thread.

    with SmtpServer() as server:                 # plain, anyone may send
        ...send to server.host, server.port...
        server.received                          # [Received(sender, recipients, data), ...]
        server.fail_next(451, count=2)           # the next two messages get 451 at DATA
        server.fail_next(550, stage="RCPT")      # the next recipient is refused

    with SmtpServer(user="desk", password="s3cret", tls="starttls") as server:
        server.ca_file                           # the trustme CA that signed its certificate

``tls`` is None (plain), "starttls" (offered, not required) or "implicit" (TLS from the first
byte, as on port 465). With a user, AUTH PLAIN and LOGIN are offered and MAIL is refused with
530 until the client has logged in. Loopback tests have no TLS to demand before AUTH, so
``auth_require_tls`` is off.
"""

from __future__ import annotations

import asyncio
import ssl
import tempfile
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

HOST = "127.0.0.1"

REPLIES = {
    421: "421 4.3.2 Service not available, closing transmission channel",
    450: "450 4.2.1 Mailbox busy, try again later",
    451: "451 4.3.0 Local error in processing",
    452: "452 4.3.1 Insufficient system storage",
    550: "550 5.1.1 Mailbox unavailable",
    552: "552 5.3.4 Message too big",
    554: "554 5.7.1 Transaction failed",
}


@dataclass(frozen=True)
class Received:
    sender: str
    recipients: tuple[str, ...]
    data: bytes  # as the server read it, dot-unstuffed, CRLF line ends
    authenticated_as: str | None


class _Handler:
    """aiosmtpd hooks: they answer with protocol replies, as aiosmtpd's own handlers do."""

    def __init__(self, user: str | None, password: str | None) -> None:
        self.user = user
        self.password = password
        self.received: list[Received] = []
        self.failures: dict[str, deque[int]] = {"RCPT": deque(), "DATA": deque()}
        self.holds = 0  # DATA commands to take in and never answer
        self.held = threading.Event()  # set once a DATA is being held
        self.lock = threading.Lock()

    def _failure(self, stage: str) -> str | None:
        with self.lock:
            queue = self.failures[stage]
            return REPLIES[queue.popleft()] if queue else None

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == self.user
            and data.password.decode() == self.password
        )
        # handled=False: aiosmtpd then answers 535 itself (True would leave the client waiting).
        return AuthResult(success=ok, handled=False, auth_data=data.login.decode() if ok else None)

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.user is not None and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        failure = self._failure("RCPT")
        if failure:
            return failure
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        failure = self._failure("DATA")
        if failure:
            return failure
        with self.lock:
            hold, self.holds = self.holds > 0, max(self.holds - 1, 0)
        if hold:  # the message is read, the 250 never comes: a sender dies waiting for it
            self.held.set()
            await asyncio.sleep(3600)
            return "421 4.3.2 Closing"
        data = envelope.original_content
        assert isinstance(data, bytes) and envelope.mail_from is not None
        login = session.auth_data if session.authenticated else None
        with self.lock:
            self.received.append(
                Received(envelope.mail_from, tuple(envelope.rcpt_tos), data, login)
            )
        return "250 2.0.0 OK queued"


class _Controller(Controller):
    """aiosmtpd's Controller on port 0: the port is read back from the bound socket before
    the controller's own readiness check connects to it."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SmtpServer:
    def __init__(
        self,
        *,
        user: str | None = None,
        password: str | None = None,
        tls: Literal["starttls", "implicit"] | None = None,
    ) -> None:
        self.handler = _Handler(user, password)
        self.tls = tls
        self._folder = tempfile.TemporaryDirectory(prefix="pd-smtp-")
        self.ca_file: Path | None = None
        kwargs: dict[str, Any] = {
            "server_hostname": "smtp.test",  # not the default getfqdn(): it can block
            "authenticator": self.handler.authenticate if user is not None else None,
            "auth_require_tls": False,
        }
        if tls is not None:
            ca = trustme.CA()
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ca.issue_cert(HOST, "localhost").configure_cert(context)
            self.ca_file = Path(self._folder.name) / "ca.pem"
            ca.cert_pem.write_to_path(str(self.ca_file))
            kwargs["ssl_context" if tls == "implicit" else "tls_context"] = context
        self.controller = _Controller(self.handler, hostname=HOST, port=0, **kwargs)

    @property
    def host(self) -> str:
        return HOST

    @property
    def port(self) -> int:
        return int(self.controller.port)

    @property
    def received(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.received)

    def fail_next(self, code: int, *, count: int = 1, stage: str = "DATA") -> None:
        """Answer ``code`` (a key of ``REPLIES``) to the next ``count`` DATA or RCPT commands."""
        with self.handler.lock:
            self.handler.failures[stage].extend([code] * count)

    def hold_next(self, count: int = 1) -> threading.Event:
        """Read the next ``count`` messages and never answer them (nothing is recorded); the
        event is set once one is being held."""
        with self.handler.lock:
            self.handler.holds += count
            self.handler.held.clear()
        return self.handler.held

    def url(self, scheme: str = "smtp", *, user: str | None = None, password: str = "") -> str:
        login = f"{user}:{password}@" if user else ""
        return f"{scheme}://{login}{HOST}:{self.port}"

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
        self._folder.cleanup()

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
