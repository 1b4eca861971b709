"""Hand the desk's outgoing mail to an SMTP server (aiosmtplib), or write it as .eml files.

``PD_SMTP_URL`` chooses where mail goes; ``send`` says what the server answered or raises one of

    ConfigError      PD_SMTP_URL cannot be used (raised by ``parse_smtp_url``)
    TransientError   4xx, a refused, reset or timed-out connection: try again later
                     (``retry_delay`` says when)
    PermanentError   5xx, a refused login, an untrusted certificate, a server without the
                     STARTTLS or AUTH it needs, an invalid envelope address: retrying will not help

No password appears in a repr or an error message, nor any envelope address in an error message.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import re
import ssl
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import aiosmtplib

from mail.errors import ConfigError as ConfigError  # re-exported: callers catch it here
from mail.errors import PermanentError, TransientError, TransportError
from mail.outgoing import InvalidAddress, as_bytes, check_address
from mail.tls import is_loopback, verified_context

DEFAULT_SMTP_URL = "file:var/outbox"
DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}
DEFAULT_TIMEOUT = 30.0

_ADDRESS = re.compile(r"<?[^\s<>@]+@[^\s<>]+>?")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._@+=-]")


@dataclass(frozen=True)
class SmtpConfig:
    scheme: str  # smtp | smtp+starttls | smtps | file
    host: str = ""
    port: int = 0
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    path: Path | None = None  # file: the folder the .eml files go to
    ca_file: str | None = None  # a private CA to trust instead of the system's
    timeout: float = DEFAULT_TIMEOUT

    def tls_context(self) -> ssl.SSLContext:
        """Certificates verified, host names checked: against ``ca_file`` when set."""
        return verified_context(self.ca_file, "SMTP ")

    @property
    def url(self) -> str:
        """The URL without the password, for logs and ``check``."""
        if self.scheme == "file":
            return f"file:{self.path}"
        user = f"{self.user}@" if self.user else ""
        return f"{self.scheme}://{user}{self.host}:{self.port}"

    def __repr__(self) -> str:  # never print the password
        return f"SmtpConfig({self.url!r})"


@dataclass(frozen=True)
class SendResult:
    reply: str  # the server's answer to the message (``file:``: what was done)
    message_id: str | None = None
    refused: Mapping[str, str] = field(default_factory=dict)  # recipients refused, others taken
    path: Path | None = None  # ``file:``: the .eml file


def _parse_file_url(text: str) -> SmtpConfig:
    rest = text.partition(":")[2]
    if rest.startswith("//"):
        parts = urlsplit(text)
        if parts.netloc not in ("", "localhost"):
            raise ConfigError("a file: PD_SMTP_URL names a folder on this machine: file:/path")
        rest = parts.path
    folder = unquote(rest)
    if not folder.strip():
        raise ConfigError("a file: PD_SMTP_URL needs a folder, e.g. file:var/outbox")
    return SmtpConfig(scheme="file", path=Path(folder))


def parse_smtp_url(
    value: str = DEFAULT_SMTP_URL,
    *,
    password: str | None = None,
    ca_file: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    allow_plaintext: bool = False,
) -> SmtpConfig:
    """``smtp://``, ``smtp+starttls://`` or ``smtps://[user[:password]@]host[:port]``, or
    ``file:PATH``; the password may come apart. ``smtp://`` is plain SMTP: with a login it is
    refused except on loopback or with ``allow_plaintext``, as it would send the password in
    clear."""
    text = value.strip()
    scheme = text.partition(":")[0].lower()
    if scheme == "file":
        return _parse_file_url(text)
    if scheme not in DEFAULT_PORTS:
        raise ConfigError(
            "PD_SMTP_URL must start with smtp://, smtp+starttls://, smtps:// or file:"
        )
    try:
        parts = urlsplit(text)
        host, port = parts.hostname, parts.port
    except ValueError:
        raise ConfigError(
            "PD_SMTP_URL has a malformed host or a port that is not a number"
        ) from None
    if not host:
        raise ConfigError(f"PD_SMTP_URL needs a host: {scheme}://host:port")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ConfigError(
            f"PD_SMTP_URL takes no path or options: {scheme}://[user:password@]host[:port]"
        )
    user = unquote(parts.username) if parts.username else None
    secret = unquote(parts.password) if parts.password is not None else password
    if secret and not user:
        raise ConfigError("PD_SMTP_URL has a password but no user")
    if user and not secret:
        raise ConfigError("no SMTP password: put it in PD_SMTP_URL or pass it apart")
    if user and scheme == "smtp" and not (is_loopback(host) or allow_plaintext):
        raise ConfigError(
            "smtp:// would send the SMTP password in clear: use smtp+starttls:// or smtps://"
        )
    if not 0 < timeout < float("inf"):
        raise ConfigError("the SMTP timeout must be a positive number of seconds")
    if ca_file and scheme == "smtp":
        raise ConfigError("an SMTP CA file needs TLS: use smtp+starttls:// or smtps://")
    config = SmtpConfig(
        scheme=scheme,
        host=host,
        port=port or DEFAULT_PORTS[scheme],
        user=user,
        password=secret or None,
        ca_file=ca_file,
        timeout=timeout,
    )
    config.tls_context()  # a CA file that cannot be read is a setting error, said now
    return config


def _redact(text: str) -> str:
    """A server's reply without the addresses servers like to repeat."""
    return _ADDRESS.sub("<address>", " ".join(text.split()))[:300]


def _reply_error(code: int, text: str, what: str) -> TransportError:
    kind = PermanentError if 500 <= code < 600 else TransientError
    return kind(f"{what}: {code} {_redact(text)}")


def _cert_refused(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate error behind ``exc`` (aiosmtplib wraps the one of an implicit TLS
    connection), if there is one."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None or isinstance(seen, ssl.SSLCertVerificationError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _classify(exc: Exception, config: SmtpConfig) -> TransportError:
    """The error ``send`` raises for what aiosmtplib or the network raised."""
    server = f"{config.host}:{config.port}"
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        first = exc.recipients[0] if exc.recipients else None
        text = _redact(first.message) if first else ""
        kind = PermanentError if codes and all(500 <= c < 600 for c in codes) else TransientError
        return kind(f"{server} refused every recipient: {first.code if first else ''} {text}")
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        kind = TransientError if 400 <= exc.code < 500 else PermanentError
        return kind(f"SMTP login refused for {config.user} at {server}: {exc.code}")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return _reply_error(exc.code, exc.message, f"{server} answered")
    untrusted = _cert_refused(exc)
    if untrusted is not None:
        return PermanentError(
            f"the certificate of {server} is not trusted ({untrusted.verify_message}); "
            "set the SMTP CA file to the CA that issued it"
        )
    if isinstance(exc, TimeoutError):  # aiosmtplib's timeouts are TimeoutErrors too
        return TransientError(f"{server} timed out")
    if isinstance(exc, OSError):  # refused, reset, unreachable; aiosmtplib's connect errors
        return TransientError(f"cannot talk to {server}: {_redact(str(exc))}")
    if isinstance(exc, aiosmtplib.SMTPException):  # no STARTTLS, no AUTH, no SMTPUTF8
        return PermanentError(f"{server} cannot take our mail: {_redact(exc.message)}")
    raise exc


def _envelope(sender: str, recipients: str | Sequence[str]) -> tuple[str, list[str]]:
    wanted = [recipients] if isinstance(recipients, str) else list(recipients)
    if not wanted:
        raise PermanentError("no recipients")
    try:
        return check_address(sender, "sender"), [check_address(r, "recipient") for r in wanted]
    except InvalidAddress as exc:
        raise PermanentError(str(exc)) from None


def _message_id(data: bytes) -> str | None:
    value = BytesHeaderParser().parsebytes(data).get("Message-ID")
    return str(value).strip() if value else None


def eml_name(message_id: str | None, data: bytes) -> str:
    """The file name of a message in a ``file:`` outbox: its Message-ID, made safe."""
    if not message_id:
        return f"sha256-{hashlib.sha256(data).hexdigest()[:32]}.eml"
    bare = message_id.strip().removeprefix("<").removesuffix(">")
    safe = _UNSAFE_NAME.sub("_", bare)[:150].lstrip(".")
    if safe != bare:  # two ids that clean to the same text must not share a file
        safe = f"{safe}-{hashlib.sha256(bare.encode()).hexdigest()[:16]}"
    return f"{safe}.eml"


def write_eml(folder: Path, data: bytes) -> SendResult:
    """Write one message into ``folder`` atomically; a message already there is left alone."""
    message_id = _message_id(data)
    target = folder / eml_name(message_id, data)
    if target.exists():
        return SendResult(reply="already written", message_id=message_id, path=target)
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)  # mkstemp's files are 0600
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".eml")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise TransientError(f"cannot write to the outbox folder: {exc.strerror}") from None
    return SendResult(reply="written", message_id=message_id, path=target)


async def send(
    config: SmtpConfig,
    message: EmailMessage | bytes,
    *,
    sender: str,
    recipients: str | Sequence[str],
) -> SendResult:
    """Send one message with the envelope given (never read from its headers)."""
    data = as_bytes(message) if isinstance(message, EmailMessage) else message
    envelope_from, envelope_to = _envelope(sender, recipients)
    if config.scheme == "file":
        assert config.path is not None
        return await asyncio.to_thread(write_eml, config.path, data)
    try:
        refused, reply = await aiosmtplib.send(
            data,
            sender=envelope_from,
            recipients=envelope_to,
            hostname=config.host,
            port=config.port,
            username=config.user,
            password=config.password,
            local_hostname=envelope_from.rpartition("@")[2],  # not getfqdn(): it can block
            timeout=config.timeout,
            use_tls=config.scheme == "smtps",
            start_tls=config.scheme == "smtp+starttls",
            tls_context=config.tls_context() if config.scheme != "smtp" else None,
        )
    except Exception as exc:
        raise _classify(exc, config) from exc
    return SendResult(
        reply=reply,
        message_id=_message_id(data),
        refused={rcpt: f"{r.code} {r.message}" for rcpt, r in refused.items()},
    )


async def probe(config: SmtpConfig) -> str:
    """Connect, say EHLO (and STARTTLS, and log in, as sending would) and quit: what the server
    said, or ``TransportError``. For ``file:`` the folder must be writable."""
    if config.scheme == "file":
        assert config.path is not None
        config.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not os.access(config.path, os.W_OK):
            raise PermanentError(f"{config.path} is not writable")
        return f"writes .eml files to {config.path}"
    client = aiosmtplib.SMTP(
        hostname=config.host,
        port=config.port,
        username=config.user,
        password=config.password,
        timeout=config.timeout,
        use_tls=config.scheme == "smtps",
        start_tls=config.scheme == "smtp+starttls",
        tls_context=config.tls_context() if config.scheme != "smtp" else None,
    )
    try:
        await client.connect()
        reply = await client.ehlo()
        await client.quit()
    except Exception as exc:
        raise _classify(exc, config) from exc
    return f"{config.scheme}://{config.host}:{config.port} answered EHLO ({reply.code})"


def retry_delay(
    attempt: int,
    base: float = 30.0,
    cap: float = 3600.0,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait before try ``attempt + 1`` after ``attempt`` failed tries (from 1):
    doubling from ``base`` up to ``cap``, then spread over its upper half so that messages
    that failed together do not all come back at once."""
    if attempt < 1:
        raise ValueError("attempt counts failed tries, from 1")
    ceiling = min(cap, base * 2.0 ** min(attempt - 1, 64))
    return ceiling * (0.5 + 0.5 * rand())
