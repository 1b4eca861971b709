"""The Dovecot harness (tests/imap_server.py) itself: delivery, byte-exact reads, capabilities,
restart on the same port, and a changed UIDVALIDITY. One server for the module, one user per test.
"""

from __future__ import annotations

import importlib.util
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import LoginError

CRLF = b"\r\n"


def _harness() -> ModuleType:
    """tests/imap_server.py, loaded by path (tests/ is kept off sys.path by conftest.py)."""
    if "imap_server" not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            "imap_server", Path(__file__).parents[1] / "imap_server.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["imap_server"] = module
        spec.loader.exec_module(module)
    return sys.modules["imap_server"]


USERS = ("reader", "restart", "recreate", "empty", "folders", "url")


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    harness = _harness()
    reason = harness.available()
    if reason is not None:
        pytest.skip(f"Dovecot not usable here: {reason}")
    with harness.Dovecot(USERS) as dovecot:
        yield dovecot


def _messages(tag: str) -> list[bytes]:
    """Three messages whose exact bytes must survive: CRLF, 8-bit UTF-8, odd whitespace."""
    return [
        CRLF.join(
            [
                b"From: requester@example.jp",
                b"To: privacy@example.com",
                f"Subject: {tag} {i}".encode(),
                f"Message-ID: <{tag}-{i}@example.jp>".encode(),
                b"MIME-Version: 1.0",
                b"Content-Type: text/plain; charset=utf-8",
                b"Content-Transfer-Encoding: 8bit",
                b"",
                "個人情報の削除をお願いします。".encode() + b"  \t",
                b"line " + str(i).encode() * (i + 1),
                b"",
            ]
        )
        for i in range(3)
    ]


def _read_all(imap: IMAPClient, folder: str = "INBOX") -> dict[int, bytes]:
    imap.select_folder(folder, readonly=True)
    uids = imap.search("ALL")  # UID SEARCH: use_uid is on by default
    fetched = imap.fetch(uids, ["BODY.PEEK[]"]) if uids else {}
    return {uid: data[b"BODY[]"] for uid, data in fetched.items()}


def test_appended_messages_read_back_byte_for_byte(server: Any) -> None:
    sent = _messages("exact")
    uids = [server.append("reader", raw) for raw in sent]
    assert uids == [1, 2, 3]
    with server.client("reader") as imap:
        assert _read_all(imap) == dict(zip(uids, sent, strict=True))
        flags = imap.fetch(uids, ["FLAGS"])
        assert all(b"\\Seen" not in data[b"FLAGS"] for data in flags.values())  # PEEK


def test_the_server_offers_idle_move_and_uidplus(server: Any) -> None:
    with server.client("reader") as imap:
        for capability in ("IDLE", "MOVE", "UIDPLUS"):
            assert imap.has_capability(capability), imap.capabilities()


def test_a_wrong_password_is_refused_and_costs_no_penalty(server: Any) -> None:
    imap = IMAPClient(server.host, port=server.port, ssl=False, timeout=5)
    with imap, pytest.raises(LoginError):
        imap.login("reader", "not-the-password")
    # Dovecot's anvil would delay this IP's next logins by 2-15 s; the harness turns that off.
    # Dovecot's own account of it: no penalty held against the address (``doveadm penalty``
    # lists 127.0.0.1 with its penalty when anvil counts failures).
    penalties = server.doveadm("penalty").splitlines()[1:]
    assert not [line for line in penalties if line.split()[:1] == [server.host]], penalties
    with server.client("reader"):
        pass


def test_mail_survives_a_restart_on_the_same_port(server: Any) -> None:
    sent = _messages("restart")
    server.append_many("restart", sent[:2])
    port, validity = server.port, server.uidvalidity("restart")
    server.stop()
    with pytest.raises(OSError), socket.create_connection((server.host, port), timeout=2):
        pass
    server.deliver("restart", sent[2])  # like an MTA during the outage
    server.start()
    assert server.port == port
    assert server.uidvalidity("restart") == validity
    with server.client("restart") as imap:
        assert sorted(_read_all(imap).values()) == sorted(sent)


def test_recreating_the_inbox_changes_uidvalidity_and_keeps_mail(server: Any) -> None:
    sent = _messages("recreate")
    server.append_many("recreate", sent)
    with server.client("recreate") as imap:
        before = imap.select_folder("INBOX")[b"UIDVALIDITY"]
    after = server.recreate_inbox("recreate")
    assert after != before
    with server.client("recreate") as imap:
        assert imap.select_folder("INBOX")[b"UIDVALIDITY"] == after
        assert sorted(_read_all(imap).values()) == sorted(sent)
    server.append("recreate", sent[0])  # the mail user can still write after doveadm ran
    with server.client("recreate") as imap:
        assert len(_read_all(imap)) == 4


def test_recreating_the_inbox_empty(server: Any) -> None:
    server.append_many("empty", _messages("empty"))
    before = server.uidvalidity("empty")
    assert server.recreate_inbox("empty", keep_messages=False) != before
    with server.client("empty") as imap:
        assert _read_all(imap) == {}


def test_append_to_another_folder_creates_it(server: Any) -> None:
    raw = _messages("folder")[0]
    assert server.append("folders", raw, folder="Processed") == 1
    with server.client("folders") as imap:
        assert _read_all(imap, "Processed") == {1: raw}
        assert _read_all(imap) == {}


def test_url_logs_in(server: Any) -> None:
    parts = urlsplit(server.url("url"))
    assert (parts.scheme, parts.hostname, parts.port, parts.path) == (
        "imap",
        "127.0.0.1",
        server.port,
        "/INBOX",
    )
    assert parts.username is not None and parts.password is not None
    with IMAPClient(parts.hostname, port=parts.port, ssl=False, timeout=5) as imap:
        imap.login(unquote(parts.username), unquote(parts.password))
        assert imap.select_folder("INBOX")[b"EXISTS"] == 0


def test_the_hierarchy_separator_is_dovecots_dot_unless_asked(server: Any) -> None:
    with server.client("folders") as imap:
        assert imap.list_folders(directory="", pattern="")[0][1] == b"."
    with _harness().Dovecot(["desk"], separator="/") as slash, slash.client("desk") as imap:
        assert imap.list_folders(directory="", pattern="")[0][1] == b"/"
        imap.create_folder("PrivacyDesk/Processed")
        assert imap.folder_exists("PrivacyDesk/Processed")
