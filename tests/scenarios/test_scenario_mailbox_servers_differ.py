"""Mail servers differ: implicit TLS (imaps) or STARTTLS with a private CA, and servers that lack
MOVE or IDLE. The desk works with each, and refuses a certificate it cannot trust."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, select
from support import eventually

from bot.cli import main
from bot.watch import desk_watcher
from mail.imap import PROCESSED_FLAG, parse_mailbox_url
from storage.models import Case

Mails = Callable[..., bytes]


def _cases(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(Case)).one())


def _mails(make_mail: Mails, n: int, prefix: str) -> list[bytes]:
    return [
        make_mail(
            f"Please delete all my personal data. Member number {i}.",
            sender=f"{prefix}{i}@example.com",
            subject="Delete my data",
            message_id=f"<{prefix}-{i}@example.com>",
        )
        for i in range(n)
    ]


tls = pytest.mark.parametrize("dovecot", [{"tls": True}], indirect=True, ids=["TLS"])


@tls
@pytest.mark.parametrize("scheme", ["imaps", "imap"], ids=["implicit TLS", "STARTTLS"])
def test_tls_with_a_private_ca_takes_the_mail(
    scheme: str,
    dovecot: Any,
    desk_db: tuple[str, Engine],
    make_mail: Mails,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, engine = desk_db
    dovecot.append_many("desk", _mails(make_mail, 3, "tls"))
    monkeypatch.setenv("PD_DATABASE_URL", url)
    monkeypatch.setenv("PD_MAILBOX", dovecot.url("desk", scheme=scheme))
    monkeypatch.setenv("PD_IMAP_CA_FILE", str(dovecot.ca_file))

    assert main(["fetch"]) == 0
    assert "3 messages: 3 opened" in capsys.readouterr().out
    assert _cases(engine) == 3
    # The server logged the desk's login as made over TLS (STARTTLS was not skipped).
    logins = [line for line in dovecot.log_tail(200).splitlines() if "Login: user=<desk>" in line]
    assert logins and all(", TLS" in line for line in logins), logins


@tls
def test_a_certificate_from_an_unknown_ca_is_refused(
    dovecot: Any,
    desk_db: tuple[str, Engine],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, _engine = desk_db
    monkeypatch.setenv("PD_DATABASE_URL", url)
    monkeypatch.setenv("PD_MAILBOX", dovecot.url("desk", scheme="imaps"))
    assert main(["fetch"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "not trusted" in err and "PD_IMAP_CA_FILE" in err
    assert dovecot.users["desk"] not in err


@pytest.mark.parametrize("dovecot", [{"without": ["MOVE"]}], indirect=True, ids=["no MOVE"])
def test_without_move_messages_stay_and_are_flagged(
    dovecot: Any,
    desk_db: tuple[str, Engine],
    make_mail: Mails,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, engine = desk_db
    dovecot.append_many("desk", _mails(make_mail, 3, "stay"))
    monkeypatch.setenv("PD_DATABASE_URL", url)
    monkeypatch.setenv("PD_MAILBOX", dovecot.url("desk"))

    assert main(["fetch"]) == 0
    assert _cases(engine) == 3
    with dovecot.client("desk") as imap:
        imap.select_folder("INBOX")
        flagged = imap.search(["KEYWORD", PROCESSED_FLAG.decode()])
        assert len(flagged) == 3 and imap.search(["ALL"]) == flagged  # kept, marked
        assert [f for f in imap.list_folders() if b"\\Noselect" not in f[0]] == [
            ((b"\\HasNoChildren",), b".", "INBOX")
        ]  # no processed folder was made

    assert main(["fetch"]) == 0  # flagged mail is not taken again
    assert "none new" in capsys.readouterr().out
    dovecot.append("desk", _mails(make_mail, 1, "later")[0])
    assert main(["fetch"]) == 0
    assert "1 messages: 1 opened" in capsys.readouterr().out
    assert _cases(engine) == 4


@pytest.mark.parametrize("dovecot", [{"without": ["IDLE"]}], indirect=True, ids=["no IDLE"])
def test_without_idle_the_watcher_polls(
    dovecot: Any, desk_db: tuple[str, Engine], make_mail: Mails
) -> None:
    _url, engine = desk_db
    watcher, sink = desk_watcher(
        engine, parse_mailbox_url(dovecot.url("desk")), workers=0, poll_seconds=1
    )
    stop = threading.Event()
    thread = threading.Thread(target=watcher.run, args=(stop,), daemon=True)
    thread.start()
    try:
        dovecot.append("desk", _mails(make_mail, 1, "poll")[0])
        eventually(lambda: _cases(engine) >= 1, "the polling watcher takes the mail in")
        assert _cases(engine) == 1
    finally:
        stop.set()
        thread.join(10)
        sink.close()
    assert not thread.is_alive()
    assert watcher.reconnects == 0
