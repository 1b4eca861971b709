"""A real Dovecot IMAP server for tests, started and stopped by the tests themselves.

    with Dovecot() as server:               # one user, "desk", with a generated password
        server.append("desk", raw_bytes)    # IMAP APPEND; returns the new UID
        url = server.url("desk")            # imap://desk:...@127.0.0.1:PORT/INBOX
        server.stop(); server.start()       # same port, same mail
        server.recreate_inbox("desk")       # INBOX gets a new UIDVALIDITY

Everything lives in one temporary folder: the config, a passwd-file, base_dir, state_dir, the
log and one Maildir per user. Dovecot must run as root (it drops privileges itself); its login
processes run as ``dovenull``, auth as ``dovecot`` and mail processes as ``mail`` (a static
userdb), so the folder is 0755 and each home is owned by ``mail:mail``. Call ``available()``
first and skip with its reason when it returns one.
"""

from __future__ import annotations

import contextlib
import functools
import grp
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

from imapclient import IMAPClient

HOST = "127.0.0.1"
MAIL_USER = "mail"  # mail processes refuse uid 0: every mailbox is owned by this user
START_TIMEOUT = 10.0
PORT_TRIES = 5  # ports tried when the one chosen was taken before Dovecot could bind it
STOP_TIMEOUT = 10.0


def _binary(name: str) -> str | None:
    return shutil.which(name) or next(
        (p for d in ("/usr/sbin", "/usr/bin") if os.access(p := f"{d}/{name}", os.X_OK)), None
    )


@functools.cache
def dovecot_version() -> tuple[int, int] | None:
    """(major, minor) of the installed Dovecot, or None when it is not installed."""
    binary = _binary("dovecot")
    if binary is None:
        return None
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    found = re.match(r"(\d+)\.(\d+)", out.stdout.strip())
    return (int(found[1]), int(found[2])) if found else None


@functools.cache
def available() -> str | None:
    """Why a Dovecot cannot be started here, or None when it can."""
    if _binary("dovecot") is None or _binary("doveadm") is None:
        return "Dovecot not installed (no /usr/sbin/dovecot); tests/run installs dovecot-imapd"
    if os.geteuid() != 0:
        return "Dovecot tests need root (the master drops privileges itself)"
    for user in (MAIL_USER, "dovecot", "dovenull"):
        try:
            pwd.getpwnam(user)
        except KeyError:
            return f"Dovecot tests need the system user {user!r}"
    version = dovecot_version()
    if version is None or version[0] != 2 or version[1] not in (3, 4):
        return f"Dovecot version {version} not supported by tests/imap_server.py (2.3 or 2.4)"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def _traversable(path: Path) -> bool:
    """True when every folder from / down to path can be entered by any user."""
    return all(p.stat().st_mode & stat.S_IXOTH for p in (path, *path.parents))


class DovecotError(RuntimeError):
    """Dovecot would not start or stop; the message carries the tail of its log."""


class Dovecot:
    """One Dovecot on a free loopback port with its own users and Maildirs (a context manager)."""

    def __init__(
        self,
        users: Mapping[str, str] | Iterable[str] = ("desk",),
        separator: str | None = None,
        *,
        tls: bool = False,
        without: Iterable[str] = (),
    ) -> None:
        """users: names (passwords generated) or name -> password. separator: the hierarchy
        separator IMAP shows; None keeps Dovecot's Maildir default, ".", under which a "/" in a
        folder name is refused ("Name must not have '/' characters").

        tls: a certificate for 127.0.0.1 from a CA of the test's own (``ca_file``), STARTTLS on
        the IMAP port, implicit TLS on ``imaps_port``, and no login at all without TLS.
        without: capabilities the server does not announce after login (``"MOVE"``, ``"IDLE"``),
        as servers that lack them."""
        if isinstance(users, Mapping):
            self.users = dict(users)
        else:
            self.users = {u: f"{u}-{secrets.token_hex(6)}" for u in users}
        for user, password in self.users.items():
            if not re.fullmatch(r"[A-Za-z0-9._-]+", user) or ":" in password or "\n" in password:
                raise ValueError(f"unsupported user or password for {user!r}")
        if separator not in (None, "/", "."):
            raise ValueError(f"separator must be '/' or '.', not {separator!r}")
        self.separator = separator
        self.tls = tls
        self.without = {c.upper() for c in without}
        self.host = HOST
        self.port = 0
        self.imaps_port = 0
        self.ca_file = Path()
        self.root = Path()
        self.conf = Path()
        self.log = Path()
        self._running = False

    # ---- lifecycle ---------------------------------------------------------------------

    def __enter__(self) -> Dovecot:
        reason = available()
        if reason is not None:
            raise DovecotError(reason)
        self.root = Path(tempfile.mkdtemp(prefix="pd-dovecot-"))
        try:
            self.root.chmod(0o755)
            if not _traversable(self.root):
                raise DovecotError(
                    f"{self.root} is not traversable by the dovecot user; set TMPDIR elsewhere"
                )
            self._write_files()
            for attempt in range(1, PORT_TRIES + 1):
                # a port free a moment ago may be taken before Dovecot binds it (by a test of
                # another run on this machine): then it is chosen again
                self.port = _free_port()
                self.imaps_port = _free_port() if self.tls else 0
                self._write_config()
                try:
                    self.start()
                    break
                except DovecotError as exc:
                    if "Address already in use" not in str(exc) or attempt == PORT_TRIES:
                        raise
        except BaseException:
            self._cleanup()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._cleanup()

    def _cleanup(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def start(self) -> None:
        """Start the server (again) on the same port; return once it greets with OK."""
        if self._running:
            return
        # Not a pipe: the daemonized master inherits it and would keep run() waiting for EOF.
        startup = self.root / "startup.log"
        with startup.open("wb") as out:
            done = subprocess.run(
                [_binary("dovecot") or "dovecot", "-c", str(self.conf)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                check=False,
            )
        if done.returncode != 0:
            raise DovecotError(
                f"dovecot -c {self.conf} failed: {startup.read_text(errors='replace').strip()}"
            )
        self._running = True
        deadline = time.monotonic() + START_TIMEOUT
        last = "no attempt"
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((self.host, self.port), timeout=1) as s:
                    greeting = s.recv(1024)
                if greeting.startswith(b"* OK"):
                    return
                last = f"greeting {greeting[:100]!r}"
            except OSError as exc:
                last = str(exc)
            time.sleep(0.05)
        self.stop()
        raise DovecotError(
            f"Dovecot did not answer on {self.host}:{self.port} within {START_TIMEOUT}s "
            f"({last}); log tail:\n{self.log_tail()}"
        )

    def stop(self) -> None:
        """Stop the server (its clients are disconnected); the mail stays."""
        if not self._running:
            return
        pid = self._master_pid()
        doveadm = subprocess.Popen(
            [_binary("doveadm") or "doveadm", "-c", str(self.conf), "stop"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + STOP_TIMEOUT
            while pid is not None and _alive(pid):
                if time.monotonic() > deadline:  # doveadm failed or the master hangs
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                    deadline = time.monotonic() + STOP_TIMEOUT
                time.sleep(0.02)
        finally:
            # doveadm polls kill(pid, 0), which succeeds on a zombie; where init reaps slowly
            # (containers) it waits seconds longer than the master takes. It has done its part
            # (and it ignores SIGTERM while it waits).
            if doveadm.poll() is None:
                doveadm.kill()
            doveadm.wait()
        self._running = False

    def _master_pid(self) -> int | None:
        try:
            return int((self.root / "run" / "master.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    # ---- mail ----------------------------------------------------------------------------

    def url(self, user: str, folder: str = "INBOX", scheme: str = "imap") -> str:
        """``imap://user:password@127.0.0.1:PORT/INBOX`` for PD_MAILBOX (``imaps``: the TLS port)."""
        password = quote(self.users[user], safe="")
        port = self.imaps_port if scheme == "imaps" else self.port
        return f"{scheme}://{quote(user, safe='')}:{password}@{self.host}:{port}/{folder}"

    def maildir(self, user: str) -> Path:
        return self.root / "home" / user / "Maildir"

    @contextlib.contextmanager
    def client(self, user: str, timeout: float = 10.0) -> Iterator[IMAPClient]:
        """A logged-in imapclient connection (logged out on exit)."""
        with IMAPClient(self.host, port=self.port, ssl=False, timeout=timeout) as imap:
            if self.tls:
                imap.starttls(ssl.create_default_context(cafile=str(self.ca_file)))
            imap.login(user, self.users[user])
            yield imap

    def append(self, user: str, raw: bytes, folder: str = "INBOX") -> int:
        """Deliver one message with IMAP APPEND; returns its UID."""
        return self.append_many(user, [raw], folder)[0]

    def append_many(self, user: str, messages: Iterable[bytes], folder: str = "INBOX") -> list[int]:
        """Deliver messages over one connection (for backlogs); returns their UIDs."""
        with self.client(user) as imap:
            if folder.upper() != "INBOX" and not imap.folder_exists(folder):
                imap.create_folder(folder)
            uids = []
            for raw in messages:
                response = imap.append(folder, raw)
                found = re.search(rb"APPENDUID \d+ (\d+)", response)
                if found is None:
                    raise DovecotError(f"APPEND answered without APPENDUID: {response!r}")
                uids.append(int(found[1]))
            return uids

    def deliver(self, user: str, raw: bytes) -> Path:
        """Drop a message into the user's Maildir as an MTA would (tmp/ then new/, owned by the
        mail user); works while the server is stopped. Returns the file's path."""
        mail = pwd.getpwnam(MAIL_USER)
        name = f"{time.time_ns()}.P{os.getpid()}Q{secrets.token_hex(4)}.pd-test"
        tmp = self.maildir(user) / "tmp" / name
        tmp.write_bytes(raw)
        os.chown(tmp, mail.pw_uid, mail.pw_gid)
        tmp.chmod(0o600)
        return tmp.rename(self.maildir(user) / "new" / name)

    def uidvalidity(self, user: str, folder: str = "INBOX") -> int:
        with self.client(user) as imap:
            status = imap.folder_status(folder, [b"UIDVALIDITY"])
            return int(status[b"UIDVALIDITY"])

    def recreate_inbox(self, user: str, keep_messages: bool = True) -> int:
        """Give INBOX a new, higher UIDVALIDITY as if it had been recreated; returns it.

        Dovecot refuses to delete INBOX (``doveadm mailbox delete`` only empties it), and
        removing its index files under a live session gives internal errors, so this sets the
        UIDVALIDITY with ``doveadm mailbox update``, the supported way. A session that has INBOX
        selected is disconnected at its next command ("IMAP session state is inconsistent,
        please relogin"). With keep_messages the messages stay, with their UIDs (valid under
        the new UIDVALIDITY); without, INBOX is emptied first.
        """
        if not keep_messages:
            self.doveadm("expunge", "-u", user, "mailbox", "INBOX", "all")
        new = max(self.uidvalidity(user) + 1, int(time.time()))
        self.doveadm("mailbox", "update", "-u", user, "--uid-validity", str(new), "INBOX")
        return self.uidvalidity(user)

    def doveadm(self, *args: str) -> str:
        """Run ``doveadm -c CONF ARGS`` against this server; returns its output."""
        done = subprocess.run(
            [_binary("doveadm") or "doveadm", "-c", str(self.conf), *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise DovecotError(f"doveadm {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    # ---- files ---------------------------------------------------------------------------

    def _write_files(self) -> None:
        mail = pwd.getpwnam(MAIL_USER)
        self.conf = self.root / "dovecot.conf"
        self.log = self.root / "dovecot.log"
        passwd = self.root / "passwd"
        (self.root / "home").mkdir()
        (self.root / "home").chmod(0o755)  # mkdir's mode is masked by the umask (the desk's: 077)
        lines = []
        for user, password in self.users.items():
            home = self.root / "home" / user
            lines.append(f"{user}:{{PLAIN}}{password}:{mail.pw_uid}:{mail.pw_gid}::{home}::\n")
            maildir = home / "Maildir"
            for folder in (home, maildir, maildir / "cur", maildir / "new", maildir / "tmp"):
                folder.mkdir(mode=0o700)
                os.chown(folder, mail.pw_uid, mail.pw_gid)
        passwd.write_text("".join(lines))
        # the auth process reads it as the dovecot user
        os.chown(passwd, 0, grp.getgrnam("dovecot").gr_gid)
        passwd.chmod(0o640)
        (self.root / "state").mkdir()
        (self.root / "state").chmod(0o755)
        if self.tls:
            self._write_certificates()

    def _write_config(self) -> None:
        """dovecot.conf, for the ports chosen."""
        self.conf.write_text(self._config(self.root / "passwd", pwd.getpwnam(MAIL_USER).pw_uid))

    def _write_certificates(self) -> None:
        import trustme  # a test CA: only the TLS tests need it

        ca = trustme.CA()
        self.ca_file = self.root / "ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        issued = ca.issue_cert(self.host, "localhost")
        issued.cert_chain_pems[0].write_to_path(str(self.root / "cert.pem"))
        for blob in issued.cert_chain_pems[1:]:
            blob.write_to_path(str(self.root / "cert.pem"), append=True)
        key = self.root / "key.pem"
        issued.private_key_pem.write_to_path(str(key))
        key.chmod(0o600)  # read by the master (root), which hands it on

    def _config(self, passwd: Path, mail_uid: int) -> str:
        version = dovecot_version()
        namespace_extra = f"\n  separator = {self.separator}" if self.separator else ""
        common = f"""\
protocols = imap
listen = {self.host}
base_dir = {self.root / "run"}
state_dir = {self.root / "state"}
log_path = {self.log}
{self._tls_config(version)}
auth_mechanisms = plain login
default_login_user = dovenull
default_internal_user = dovecot
first_valid_uid = {mail_uid}
shutdown_clients = yes
auth_failure_delay = 0
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
  inet_listener imap {{
    port = {self.port}
  }}
  inet_listener imaps {{
    port = {self.imaps_port}
  }}
}}
{self._capability_config()}"""
        if version is not None and version >= (2, 4):
            return f"""\
dovecot_config_version = 2.4.0
dovecot_storage_version = 2.4.0
{common}auth_allow_cleartext = {"no" if self.tls else "yes"}
mail_driver = maildir
mail_path = ~/Maildir
namespace inbox {{
  inbox = yes{namespace_extra}
}}
passdb passwd-file {{
  passwd_file_path = {passwd}
}}
userdb static {{
  fields {{
    uid = {MAIL_USER}
    gid = {MAIL_USER}
    home = {self.root / "home"}/%{{user}}
  }}
}}
"""
        return f"""\
{common}disable_plaintext_auth = {"yes" if self.tls else "no"}
mail_location = maildir:~/Maildir
mail_plugins =
namespace inbox {{
  inbox = yes{namespace_extra}
}}
passdb {{
  driver = passwd-file
  args = {passwd}
}}
userdb {{
  driver = static
  args = uid={MAIL_USER} gid={MAIL_USER} home={self.root / "home"}/%u
}}
"""

    def _tls_config(self, version: tuple[int, int] | None) -> str:
        if not self.tls:
            return "ssl = no"
        if version is not None and version >= (2, 4):
            return (
                f"ssl = required\nssl_server_cert_file = {self.root / 'cert.pem'}\n"
                f"ssl_server_key_file = {self.root / 'key.pem'}"
            )
        return (
            f"ssl = required\nssl_cert = <{self.root / 'cert.pem'}\n"
            f"ssl_key = <{self.root / 'key.pem'}"
        )

    def _capability_config(self) -> str:
        """Dovecot lists its capabilities after login unless told otherwise: the list without
        those the test takes away (the commands themselves still work: it is the client's
        choice not to use what is not announced that is under test)."""
        if not self.without:
            return ""
        listed = [c for c in POST_LOGIN_CAPABILITIES.split() if c.upper() not in self.without]
        return f"protocol imap {{\n  imap_capability = {' '.join(listed)}\n}}\n"


# What Dovecot 2.3 announces after login (imap_capability's default).
POST_LOGIN_CAPABILITIES = (
    "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY THREAD=REFERENCES "
    "THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT CHILDREN "
    "NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES "
    "WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY PREVIEW=FUZZY PREVIEW "
    "STATUS=SIZE SAVEDATE LITERAL+ NOTIFY SPECIAL-USE"
)


def _alive(pid: int) -> bool:
    """True while pid runs (a zombie left unreaped by a container's init counts as gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return re.search(r"^State:\s*Z", status, re.M) is None
