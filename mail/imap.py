"""Watch the privacy mailbox over IMAP and hand each new message to intake exactly once.

The loop that talks to the server owns failure: it reconnects with backoff and jitter on any
network or server error, and one message that cannot be taken in never stops it. Exactly-once
rests on three things, in this order for every batch: the messages are fetched with
``BODY.PEEK[]`` (nothing is marked read), their cases are committed, and only then are they
marked (moved to the processed folder where the server has MOVE, else flagged ``$PrivacyDesk``)
and the checkpoint (UIDVALIDITY, last UID) advanced. A crash between those steps makes the next
pass fetch the same messages again, and the Message-ID makes them duplicates. Nothing is ever
expunged or deleted, with one exception an operator asks for: ``privacy-desk purge --mailbox``
deletes the copies of purged cases' mail, found by their content (``delete_copies``).

A first start on a mailbox with history: the time the desk first read the folder is kept with
its checkpoint, and a message the server received (its INTERNALDATE, set by the server, never
the sender's ``Date:``) more than ``backlog`` before that is historic. Historic messages are
handed to the sink as such, and the checkpoints hear how many a pass took (one summary for
staff instead of a post per case).

imapclient is blocking: this module is synchronous and runs in a thread of its own.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import random
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from imapclient import DELETED, IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from mail.errors import ConfigError as ConfigError  # re-exported: callers catch it here
from mail.errors import PermanentError, TransientError
from mail.tls import is_loopback, verified_context

log = logging.getLogger("privacy_desk.imap")

PROCESSED_FLAG = b"$PrivacyDesk"
DEFAULT_PROCESSED_FOLDER = "PrivacyDesk/Processed"
MAX_ATTEMPTS = 3
# Mail fetched and held at once, whatever the count: a batch of large mails costs memory in
# proportion (raw bytes, the parsed message, its decoded text), so it is bounded by bytes too.
BATCH_BYTES = 32 * 1024 * 1024
BACKLOG = timedelta(days=14)  # PD_BACKLOG_DAYS


@dataclass(frozen=True)
class MailboxConfig:
    scheme: str  # imap | imaps
    host: str
    port: int
    user: str
    password: str
    folder: str
    processed_folder: str = DEFAULT_PROCESSED_FOLDER
    allow_plaintext: bool = False
    timeout: float = 30.0
    ca_file: str | None = None  # a private CA to trust instead of the system's

    def tls_context(self) -> ssl.SSLContext:
        """Certificates verified, host names checked: against ``ca_file`` when set."""
        return verified_context(self.ca_file, "")

    @property
    def key(self) -> str:
        """The checkpoint's name for this folder (no password)."""
        return f"{self.scheme}://{self.user}@{self.host}:{self.port}/{self.folder}"

    def __repr__(self) -> str:  # never print the password
        return f"MailboxConfig({self.key!r})"


def parse_mailbox_url(
    value: str,
    *,
    password: str | None = None,
    password_file: str | None = None,
    allow_plaintext: bool = False,
    processed_folder: str = DEFAULT_PROCESSED_FOLDER,
    timeout: float = 30.0,
    ca_file: str | None = None,
) -> MailboxConfig:
    """``imaps://user:password@host:993/INBOX`` or ``imap://...``; the password may come apart."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("imap", "imaps"):
        raise ConfigError("PD_MAILBOX must start with imap:// or imaps://")
    if not parts.hostname or not parts.username:
        raise ConfigError("PD_MAILBOX needs a user and a host: imaps://user@host/INBOX")
    try:
        port = parts.port or (993 if parts.scheme == "imaps" else 143)
    except ValueError:
        raise ConfigError("PD_MAILBOX has a port that is not a number") from None
    secret = unquote(parts.password) if parts.password else password
    if secret is None and password_file:
        try:
            secret = Path(password_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"cannot read the IMAP password file: {exc.strerror}") from None
    if not secret:
        raise ConfigError("no IMAP password: put it in PD_MAILBOX, PD_IMAP_PASSWORD or a file")
    folder = unquote(parts.path.lstrip("/")) or "INBOX"
    config = MailboxConfig(
        scheme=parts.scheme,
        host=parts.hostname,
        port=port,
        user=unquote(parts.username),
        password=secret,
        folder=folder,
        processed_folder=processed_folder,
        allow_plaintext=allow_plaintext,
        timeout=timeout,
        ca_file=ca_file,
    )
    config.tls_context()  # a CA file that cannot be read is a setting error, said now
    return config


class Sink(Protocol):
    """Where fetched messages go: ``bot.watch`` adapts an ``Intake`` to this."""

    def take(
        self, raws: Sequence[bytes], *, historic: Sequence[datetime | None] | None = None
    ) -> list[str]:
        """Take the messages in, committed, and say what happened to each (action words).

        ``historic``, when given, says the messages are historic and when the server received
        each one (the watcher passes it only for historic messages).

        Raises ``TransientError`` when the failure is not the messages' fault (the database is
        down): they are tried again later and no attempt is counted against them.
        """
        ...

    def quarantine(
        self, raw: bytes, reason: str, *, historic: Sequence[datetime | None] | None = None
    ) -> str:
        """Keep a message that could not be taken in as it is, for staff; its action word."""
        ...


@dataclass(frozen=True)
class Fetched:
    """One message as the server handed it over: its bytes and when the server received it."""

    raw: bytes
    arrived: datetime | None  # INTERNALDATE (aware); None when the server gave none


@dataclass(frozen=True)
class Progress:
    """What the checkpoints know of a folder."""

    uidvalidity: int | None = None
    last_uid: int = 0  # everything up to here is taken in and marked
    in_flight_upto: int | None = None  # a pass died while taking in messages up to here
    attempt_uid: int | None = None  # the message being taken in alone...
    attempts: int = 0  # ...and how many times that was tried
    first_read_at: datetime | None = None  # when the desk first read the folder


class Checkpoints(Protocol):
    def load(self, key: str) -> Progress: ...

    def first_read(self, key: str, now: datetime) -> datetime:
        """When the desk first read the folder: ``now``, kept durably, the first time asked."""
        ...

    def historic(self, key: str, count: int, backlog: timedelta) -> None:
        """A pass took ``count`` historic messages in (received more than ``backlog`` before the
        first read): staff are told once, in a summary. Also called with 0 by the first pass of
        a process, for historic mail an earlier process took in but died before telling of."""
        ...

    def save(self, key: str, uidvalidity: int, last_uid: int) -> None:
        """Everything up to ``last_uid`` is taken in and marked."""
        ...

    def begin(self, key: str, uidvalidity: int, upto: int) -> None:
        """Messages up to ``upto`` are about to be taken in (kept until ``save`` passes them)."""
        ...

    def attempt(self, key: str, uidvalidity: int, uid: int) -> int:
        """Count one more try at message ``uid`` alone, durably; the count, this one included."""
        ...

    def forgive(self, key: str, uidvalidity: int, uid: int) -> None:
        """Take back the try just counted at ``uid``: it failed for a reason not its own (the
        database down, the disk full), so it must not bring the message nearer quarantine."""
        ...

    def alert(self, key: str, message: str) -> None:
        """Tell staff something they must know (a changed UIDVALIDITY)."""
        ...


@dataclass
class PassResult:
    fetched: int = 0
    taken: int = 0
    historic: int = 0  # of those taken, how many were historic
    actions: dict[str, int] = field(default_factory=dict)


class Connection:
    """One logged-in IMAP connection with the folder selected."""

    def __init__(self, config: MailboxConfig, connect: Callable[..., Any] = IMAPClient) -> None:
        self.config = config
        use_ssl = config.scheme == "imaps"
        context = config.tls_context()
        try:
            self.client = connect(
                config.host,
                port=config.port,
                ssl=use_ssl,
                ssl_context=context if use_ssl else None,
                timeout=config.timeout,
            )
        except ssl.SSLCertVerificationError as exc:
            raise _untrusted(config, exc) from None
        except (OSError, IMAPClientError) as exc:
            raise TransientError(f"cannot connect to {config.host}:{config.port}: {exc}") from None
        try:
            if not use_ssl:
                if self.client.has_capability("STARTTLS"):
                    self.client.starttls(context)
                elif not (is_loopback(config.host) or config.allow_plaintext):
                    raise PermanentError(
                        f"{config.host} offers no STARTTLS: refusing to send the password in "
                        "clear (set PD_IMAP_ALLOW_PLAINTEXT=1 to allow it)"
                    )
            self.client.login(config.user, config.password)
        except LoginError:
            self.close()
            raise PermanentError(f"IMAP login refused for {config.user} at {config.host}") from None
        except ssl.SSLCertVerificationError as exc:
            self.close()
            raise _untrusted(config, exc) from None
        except (OSError, IMAPClientError, ssl.SSLError) as exc:
            self.close()
            raise TransientError(f"IMAP login to {config.host} failed: {exc}") from None
        except PermanentError:  # no STARTTLS where the password may not travel in clear
            self.close()
            raise
        try:
            selected = self.client.select_folder(config.folder)
        except IMAPClientError as exc:
            self.close()
            raise PermanentError(f"cannot open folder {config.folder!r}: {exc}") from None
        # INTERNALDATE as an aware datetime, not the machine's local wall time.
        self.client.normalise_times = False
        self.uidvalidity = int(selected[b"UIDVALIDITY"])
        self.can_move = bool(self.client.has_capability("MOVE"))
        self.can_idle = bool(self.client.has_capability("IDLE"))
        # "PrivacyDesk/Processed" is written with "/"; the server may use "." between levels.
        listed = self.client.list_folders(directory="", pattern="")
        separator = listed[0][1] if listed and listed[0][1] else b"/"
        sep = separator.decode() if isinstance(separator, bytes) else str(separator)
        self.separator = sep
        self.processed_folder = config.processed_folder.replace("/", sep)
        if self.can_move and not self.client.folder_exists(self.processed_folder):
            self.client.create_folder(self.processed_folder)

    def new_uids(self, after: int) -> list[int]:
        """UIDs above ``after`` not yet marked processed (a server may return ``after`` itself)."""
        self._forget_arrivals()
        criteria: list[Any] = ["UID", f"{after + 1}:*"]
        if not self.can_move:
            criteria += ["NOT", "KEYWORD", PROCESSED_FLAG.decode()]
        return sorted(uid for uid in self.client.search(criteria) if uid > after)

    def sizes(self, uids: Sequence[int]) -> dict[int, int]:
        """Each message's size as the server counts it (RFC822.SIZE), in one round trip."""
        if not uids:
            return {}
        response = self.client.fetch(list(uids), [b"RFC822.SIZE"])
        return {uid: int(data.get(b"RFC822.SIZE") or 0) for uid, data in response.items()}

    def fetch(self, uids: Sequence[int]) -> dict[int, Fetched]:
        """The messages and their INTERNALDATE, in one FETCH (nothing is marked read)."""
        response = self.client.fetch(list(uids), [b"BODY.PEEK[]", b"INTERNALDATE"])
        return {
            uid: Fetched(bytes(data.get(b"BODY[]") or b""), _aware(data.get(b"INTERNALDATE")))
            for uid, data in response.items()
        }

    def mark(self, uids: Sequence[int]) -> None:
        if not uids:
            return
        if self.can_move:
            self.client.move(list(uids), self.processed_folder)
        else:
            self.client.add_flags(list(uids), [PROCESSED_FLAG])

    def wait(
        self, seconds: float, stop: threading.Event, *, after: int = 0, recheck: float = 1.0
    ) -> bool:
        """Wait up to ``seconds`` for new mail; True as soon as there is some.

        IDLE announces most arrivals within a fraction of a second, but not every one: mail that
        lands while we are between commands can go unannounced (seen with Dovecot). So IDLE runs
        in slices of ``recheck`` seconds with a UID SEARCH between them, which bounds the wait
        for any message to about ``recheck`` seconds. Without IDLE this is polling.
        """
        deadline = time.monotonic() + seconds
        while not stop.is_set():
            if self.new_uids(after):
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if not self.can_idle:
                stop.wait(min(left, max(recheck, 1.0)))
                continue
            if self._idle(min(left, recheck), stop):
                return True
        return False

    def _idle(self, seconds: float, stop: threading.Event) -> bool:
        self._forget_arrivals()
        self.client.idle()
        try:
            if self._arrivals_told():  # announced as IDLE started, before its "+ idling"
                return True
            deadline = time.monotonic() + seconds
            while not stop.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                responses = self.client.idle_check(timeout=min(left, 0.5))
                if any(b"EXISTS" in r or b"RECENT" in r for r in map(_flat, responses)):
                    return True
            return False
        finally:
            self.client.idle_done()

    def _untagged(self) -> dict[str, Any]:
        # imapclient keeps imaplib's store of untagged responses; it is where an EXISTS that
        # came with another command's answer ends up.
        store: dict[str, Any] = self.client._imap.untagged_responses
        return store

    def _forget_arrivals(self) -> None:
        store = self._untagged()
        for name in ("EXISTS", "RECENT"):
            store.pop(name, None)

    def _arrivals_told(self) -> bool:
        store = self._untagged()
        return bool(store.get("EXISTS") or store.get("RECENT"))

    def close(self) -> None:
        try:
            self.client.logout()
        except Exception:  # a broken connection cannot be logged out of; that is fine
            with contextlib.suppress(Exception):
                self.client.shutdown()


def append_copy(
    config: MailboxConfig,
    folder: str,
    raw: bytes,
    when: datetime,
    connect: Callable[..., Any] = IMAPClient,
) -> None:
    """Put a copy of a mail the desk sent into ``folder`` (a Sent folder, created if missing),
    marked read, so the mailbox shows the conversation as a person's client would."""
    conn = Connection(config, connect)
    try:
        name = folder.replace("/", conn.separator)
        if not conn.client.folder_exists(name):
            conn.client.create_folder(name)
        conn.client.append(name, raw, flags=[b"\\Seen"], msg_time=when)
    except (OSError, IMAPClientError) as exc:
        raise TransientError(f"cannot keep a copy in {folder!r}: {exc}") from None
    finally:
        conn.close()


def delete_copies(
    config: MailboxConfig,
    folders: Sequence[str],
    wanted: Mapping[str, int],
    connect: Callable[..., Any] = IMAPClient,
    *,
    batch: int = 50,
) -> dict[str, int]:
    """Delete from ``folders`` the messages whose bytes hash (SHA-256) to a key of ``wanted``
    (hash -> size in bytes): the one time the desk deletes mail (``purge --mailbox``). Found by
    content, never by Message-ID (anyone can reuse one); only messages of a wanted size are
    fetched, and only the UIDs found are expunged (UID EXPUNGE), so nothing else a person
    marked deleted goes with them. How many went, per folder; a folder that is not there is
    skipped."""
    sizes = set(wanted.values())
    gone: dict[str, int] = {}
    conn = Connection(config, connect)
    try:
        if not conn.client.has_capability("UIDPLUS"):
            raise PermanentError(
                f"{config.host} has no UIDPLUS: deleting only the purged copies is not possible"
            )
        for folder in dict.fromkeys(folders):
            name = folder.replace("/", conn.separator)
            if not conn.client.folder_exists(name):
                continue
            conn.client.select_folder(name)
            uids = conn.client.search("ALL")
            by_size = conn.client.fetch(uids, ["RFC822.SIZE"]) if uids else {}
            candidates = [u for u, data in by_size.items() if data.get(b"RFC822.SIZE") in sizes]
            found = []
            for start in range(0, len(candidates), batch):
                bodies = conn.client.fetch(candidates[start : start + batch], ["BODY.PEEK[]"])
                for uid, data in bodies.items():
                    if hashlib.sha256(data.get(b"BODY[]", b"")).hexdigest() in wanted:
                        found.append(uid)
            if found:
                conn.client.add_flags(found, [DELETED])
                conn.client.uid_expunge(found)
            gone[folder] = len(found)
    except (OSError, IMAPClientError) as exc:
        raise TransientError(f"cannot delete the purged copies: {exc}") from None
    finally:
        conn.close()
    return gone


def _untrusted(config: MailboxConfig, exc: ssl.SSLCertVerificationError) -> PermanentError:
    return PermanentError(
        f"the certificate of {config.host} is not trusted ({exc.verify_message}); "
        "set PD_IMAP_CA_FILE to the CA that issued it"
    )


def _aware(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def _flat(response: Any) -> bytes:
    return b" ".join(x if isinstance(x, bytes) else str(x).encode() for x in response)


def _before(arrived: datetime | None, cutoff: datetime) -> bool:
    """Received before ``cutoff`` by the server's own clock (no INTERNALDATE: not historic)."""
    return arrived is not None and arrived < cutoff


def _split(order: list[int], old: set[int]) -> list[tuple[list[int], bool]]:
    """The historic messages of a batch and the others, each a transaction of its own."""
    parts = [([u for u in order if u in old], True), ([u for u in order if u not in old], False)]
    return [(part, historic) for part, historic in parts if part]


def _batches(
    items: Sequence[int], size: int, sizes: dict[int, int] | None = None, max_bytes: int = 0
) -> Iterator[Sequence[int]]:
    """``items`` in order, at most ``size`` at a time and, when ``sizes`` are known, at most
    ``max_bytes`` of mail at a time (a message larger than that comes alone)."""
    batch: list[int] = []
    held = 0
    for uid in items:
        weight = (sizes or {}).get(uid, 0)
        if batch and (len(batch) >= size or (max_bytes and held + weight > max_bytes)):
            yield batch
            batch, held = [], 0
        batch.append(uid)
        held += weight
    if batch:
        yield batch


class Watcher:
    """Reads a folder to the end, then waits for more; reconnects after every failure."""

    def __init__(
        self,
        config: MailboxConfig,
        sink: Sink,
        checkpoints: Checkpoints,
        *,
        batch: int = 100,
        batch_bytes: int = BATCH_BYTES,
        idle_seconds: float = 240.0,
        poll_seconds: float = 30.0,
        max_backoff: float = 300.0,
        recheck_seconds: float = 1.0,
        backlog: timedelta = BACKLOG,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        connect: Callable[..., Any] = IMAPClient,
    ) -> None:
        self.config = config
        self.backlog = backlog
        self._clock = clock
        self.sink = sink
        self.checkpoints = checkpoints
        self.batch = batch
        self.batch_bytes = batch_bytes
        self.idle_seconds = idle_seconds
        self.poll_seconds = poll_seconds
        self.max_backoff = max_backoff
        self.recheck_seconds = recheck_seconds
        self._connect = connect
        self._failures: dict[tuple[int, int], int] = {}
        self._told_historic = False  # this process has told of historic mail at least once
        self.reconnects = 0

    def open(self) -> Connection:
        return Connection(self.config, self._connect)

    def catch_up(
        self, conn: Connection, *, on_progress: Callable[[int, int], None] | None = None
    ) -> PassResult:
        """Take in everything not yet processed, batch by batch; ``on_progress(done, total)`` is
        told of the new messages found, then of each batch once it is committed and marked."""
        key = self.config.key
        progress = self.checkpoints.load(key)
        last_uid, careful_upto = progress.last_uid, progress.in_flight_upto or 0
        if progress.uidvalidity is not None and progress.uidvalidity != conn.uidvalidity:
            # The folder was recreated: UIDs mean nothing now. Read it again from the start;
            # the Message-IDs keep anything already taken in from being taken in twice.
            self.checkpoints.alert(
                key, f"UIDVALIDITY changed from {progress.uidvalidity} to {conn.uidvalidity}"
            )
            last_uid = careful_upto = 0
        result = PassResult()
        # Mail the server received this long before the desk first read the folder is historic.
        cutoff = self.checkpoints.first_read(key, self._clock()) - self.backlog
        uids = conn.new_uids(last_uid)
        sizes = conn.sizes(uids) if self.batch_bytes else None
        done = 0
        if on_progress is not None:
            on_progress(done, len(uids))
        for batch in _batches(uids, self.batch, sizes, self.batch_bytes):
            fetched = conn.fetch(batch)
            order = [uid for uid in batch if fetched.get(uid) and fetched[uid].raw]
            missing = [uid for uid in batch if uid not in order]
            old = {uid for uid in order if _before(fetched[uid].arrived, cutoff)}
            actions: list[str] = []
            if order:
                # The last pass died in this range (a crash, a kill): one message at a time.
                careful = order[0] <= careful_upto
                for part, historic in ((order, False),) if not old else _split(order, old):
                    actions += self._take(conn, part, fetched, careful=careful, historic=historic)
                result.historic += len(old)
            result.fetched += len(order)
            result.taken += len(actions)
            for action in actions:
                result.actions[action] = result.actions.get(action, 0) + 1
            # The checkpoint stops before a message the server did not hand over, so the next
            # pass asks again; after three refusals staff are told and the watcher moves on
            # (the message stays in the mailbox, unmarked: nothing is lost).
            del fetched  # before the next batch is fetched: a batch of mail is held at a time
            stuck = [uid for uid in missing if not self._gave_up(conn.uidvalidity, uid, key)]
            last_uid = min(stuck) - 1 if stuck else max(batch)
            self.checkpoints.save(key, conn.uidvalidity, last_uid)
            if stuck:
                break
            done += len(batch)
            if on_progress is not None:
                on_progress(done, len(uids))
        if progress.uidvalidity != conn.uidvalidity and not uids:
            self.checkpoints.save(key, conn.uidvalidity, last_uid)
        if result.historic or not self._told_historic:
            self.checkpoints.historic(key, result.historic, self.backlog)
            self._told_historic = True
        return result

    def _give(self, raws: list[bytes], arrived: list[datetime | None] | None) -> list[str]:
        # ``historic`` only when there is something to say: a sink written before historic
        # mail existed still takes everything else.
        if arrived is None:
            return self.sink.take(raws)
        return self.sink.take(raws, historic=arrived)

    def _take(
        self,
        conn: Connection,
        order: list[int],
        fetched: dict[int, Fetched],
        *,
        careful: bool,
        historic: bool = False,
    ) -> list[str]:
        """Take the messages in and mark them; on return every one is committed and marked.

        A batch is one transaction. When it fails for a reason of its own (not a database
        outage), or when the last pass died in it, its messages are taken one at a time, each
        try counted durably before it starts, so a message that kills the process counts too.
        A message that has failed ``MAX_ATTEMPTS`` times is kept as it is, quarantined for staff,
        and the watcher goes on.
        """
        key = self.config.key
        if not careful:
            self.checkpoints.begin(key, conn.uidvalidity, max(order))
            arrived = [fetched[uid].arrived for uid in order] if historic else None
            try:
                actions = self._give([fetched[uid].raw for uid in order], arrived)
            except TransientError:
                raise
            except Exception as exc:
                log.error(
                    "a batch of %d failed (%s); taking them one at a time",
                    len(order),
                    type(exc).__name__,
                )
            else:
                conn.mark(order)
                return actions
        return [self._take_one(conn, uid, fetched[uid], historic=historic) for uid in order]

    def _take_one(self, conn: Connection, uid: int, message: Fetched, *, historic: bool) -> str:
        key = self.config.key
        raw, arrived = message.raw, [message.arrived] if historic else None
        while True:
            count = self.checkpoints.attempt(key, conn.uidvalidity, uid)
            if count > MAX_ATTEMPTS:
                why = f"processing failed {MAX_ATTEMPTS} times; kept as received"
                if arrived is None:
                    action = self.sink.quarantine(raw, why)
                else:
                    action = self.sink.quarantine(raw, why, historic=arrived)
                self.checkpoints.alert(
                    key, f"message UID {uid} failed processing {MAX_ATTEMPTS} times: quarantined"
                )
                break
            try:
                (action,) = self._give([raw], arrived)
                break
            except (TransientError, KeyboardInterrupt):
                # Not the message's fault (the storage, or the operator's Ctrl-C): the try does
                # not count. (If even this cannot be written, the storage is down and the next
                # pass counts again from here.)
                with contextlib.suppress(Exception):
                    self.checkpoints.forgive(key, conn.uidvalidity, uid)
                raise
            except Exception as exc:
                log.error(
                    "message UID %d failed processing (try %d of %d): %s",
                    uid,
                    count,
                    MAX_ATTEMPTS,
                    type(exc).__name__,
                )
        conn.mark([uid])
        self.checkpoints.save(key, conn.uidvalidity, uid)
        return action

    def _gave_up(self, uidvalidity: int, uid: int, key: str) -> bool:
        count = self._failures.get((uidvalidity, uid), 0) + 1
        self._failures[(uidvalidity, uid)] = count
        if count >= MAX_ATTEMPTS:
            self.checkpoints.alert(
                key, f"message UID {uid} could not be fetched {count} times; left in the mailbox"
            )
            return True
        return False

    def run_once(self, *, on_progress: Callable[[int, int], None] | None = None) -> PassResult:
        """One pass over the folder (``privacy-desk fetch``); ``on_progress`` as ``catch_up``."""
        conn = self.open()
        try:
            return self.catch_up(conn, on_progress=on_progress)
        except (OSError, IMAPClientError) as exc:
            raise TransientError(f"IMAP connection failed: {exc}") from None
        finally:
            conn.close()

    def run(
        self,
        stop: threading.Event,
        report: Callable[[str, str], None] = lambda state, detail: None,
    ) -> None:
        """Watch until ``stop`` is set (``privacy-desk serve``); ``report(state, detail)`` says
        how it goes (``GET /healthz``)."""
        delay = 1.0
        while not stop.is_set():
            try:
                conn = self.open()
            except PermanentError as exc:
                log.error("%s; retrying in %.0f s", exc, self.max_backoff)
                report("failed", str(exc))
                stop.wait(self.max_backoff)
                continue
            except TransientError as exc:
                log.warning("%s; retrying in %.1f s", exc, delay)
                report("degraded", str(exc))
                stop.wait(delay * random.uniform(0.5, 1.5))
                delay = min(delay * 2, self.max_backoff)
                continue
            delay = 1.0
            try:
                while not stop.is_set():
                    self.catch_up(conn)
                    report("ok", f"watching {self.config.folder}")
                    wait = self.idle_seconds if conn.can_idle else self.poll_seconds
                    last_uid = self.checkpoints.load(self.config.key).last_uid
                    # a full catch-up every few minutes whatever happens
                    conn.wait(wait, stop, after=last_uid, recheck=self.recheck_seconds)
            except (TimeoutError, OSError, IMAPClientError) as exc:
                self.reconnects += 1
                log.warning("IMAP connection lost (%s); reconnecting", type(exc).__name__)
                report("degraded", f"reconnecting after {type(exc).__name__}")
                stop.wait(delay * random.uniform(0.5, 1.5))
                delay = min(delay * 2, self.max_backoff)
            except Exception as exc:  # the database or intake failed: wait, then start over
                self.reconnects += 1
                log.error("watcher pass failed (%s); retrying", type(exc).__name__)
                report("degraded", f"pass failed: {type(exc).__name__}")
                stop.wait(delay * random.uniform(0.5, 1.5))
                delay = min(delay * 2, self.max_backoff)
            finally:
                conn.close()
