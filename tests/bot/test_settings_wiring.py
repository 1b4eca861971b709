"""Each mail setting reaches the part it is for, shown against the real test servers (Dovecot,
aiosmtpd) through the commands an operator runs: every test here fails if the setting were
ignored, and the plaintext ones also if it were forced on. Servers that must look remote are
reached through a relay on this machine's non-loopback address, where a password in clear is
refused unless a setting allows it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, select
from support import Relay, outside_address

from bot.cli import main
from bot.intake import Intake
from bot.replies import Replies, ReplySettings
from storage import repo
from storage.models import Case

APPROVER = "U0APPROVER1"
DESK = {"PD_FROM_ADDRESS": "privacy@example-hikaku.co.jp", "PD_APPROVERS": APPROVER}
SMTP_LOGIN = {"user": "desk", "password": "smtp-s3cret"}


@pytest.fixture
def outside() -> str:
    address = outside_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address to relay through")
    return address


@pytest.fixture
def desk(
    desk_db: tuple[str, Engine], monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, Engine]]:
    url, engine = desk_db
    for name, value in {**DESK, "PD_DATABASE_URL": url}.items():
        monkeypatch.setenv(name, value)
    yield url, engine


def cases(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(Case)).one())


def one_request(dovecot: Any, make_mail: Callable[..., bytes]) -> None:
    dovecot.append("desk", make_mail("私の個人情報をすべて削除してください。"))


# ---- IMAP ------------------------------------------------------------------------------------


def test_pd_imap_password_logs_in(
    desk: tuple[str, Engine],
    dovecot: Any,
    make_mail: Callable[..., bytes],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    one_request(dovecot, make_mail)
    monkeypatch.setenv("PD_MAILBOX", f"imap://desk@{dovecot.host}:{dovecot.port}/INBOX")
    monkeypatch.setenv("PD_IMAP_PASSWORD", dovecot.users["desk"])
    assert main(["fetch"]) == 0, capsys.readouterr().err
    assert cases(desk[1]) == 1


def test_pd_imap_processed_folder_is_where_taken_mail_goes(
    desk: tuple[str, Engine],
    dovecot: Any,
    make_mail: Callable[..., bytes],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    one_request(dovecot, make_mail)
    monkeypatch.setenv("PD_MAILBOX", dovecot.url("desk"))
    monkeypatch.setenv("PD_IMAP_PROCESSED_FOLDER", "Handled")
    assert main(["fetch"]) == 0, capsys.readouterr().err
    assert cases(desk[1]) == 1
    with dovecot.client("desk") as imap:
        assert imap.folder_exists("Handled")
        assert not imap.folder_exists("PrivacyDesk/Processed")  # the default, not used
        assert imap.select_folder("Handled", readonly=True)[b"EXISTS"] == 1
        assert imap.select_folder("INBOX", readonly=True)[b"EXISTS"] == 0


def test_pd_imap_allow_plaintext_is_needed_off_loopback_and_enough(
    desk: tuple[str, Engine],
    dovecot: Any,
    outside: str,
    make_mail: Callable[..., bytes],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    one_request(dovecot, make_mail)
    with Relay(outside, dovecot.port) as relay:  # a Dovecot without TLS, seen from afar
        password = dovecot.users["desk"]
        monkeypatch.setenv("PD_MAILBOX", f"imap://desk:{password}@{relay.host}:{relay.port}/INBOX")
        assert main(["fetch"]) == 2
        err = capsys.readouterr().err
        assert "offers no STARTTLS: refusing to send the password in clear" in err
        assert password not in err and cases(desk[1]) == 0

        monkeypatch.setenv("PD_IMAP_ALLOW_PLAINTEXT", "1")
        assert main(["fetch"]) == 0, capsys.readouterr().err
    assert cases(desk[1]) == 1


# ---- SMTP ------------------------------------------------------------------------------------


def queue_one(engine: Engine, make_mail: Callable[..., bytes]) -> None:
    """An approved answer waiting in the outbox."""
    settings = ReplySettings.from_env(DESK)
    raw = make_mail("個人情報の取り扱いについて教えてください。", subject="お問い合わせ")
    ref = Intake(engine, replies=settings).process(raw).ref
    assert ref is not None
    replies = Replies(engine, settings)
    draft = replies.draft(ref, "inquiry_answer", {"answer_text": "回答です。"}, editor=APPROVER)
    replies.approve(draft.id or 0, approver=APPROVER)
    with Session(engine) as session:
        assert len(repo.outbox(session, status="queued")) == 1


@pytest.mark.parametrize("smtp_server", [SMTP_LOGIN], indirect=True)
def test_pd_smtp_password_logs_in(
    desk: tuple[str, Engine],
    smtp_server: Any,
    make_mail: Callable[..., bytes],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    queue_one(desk[1], make_mail)
    monkeypatch.setenv("PD_SMTP_URL", f"smtp://desk@{smtp_server.host}:{smtp_server.port}")
    monkeypatch.setenv("PD_SMTP_PASSWORD", SMTP_LOGIN["password"])
    assert main(["send"]) == 0, capsys.readouterr().err
    assert ": 1 sent," in capsys.readouterr().out
    [received] = smtp_server.received
    assert received.authenticated_as == "desk"


@pytest.mark.parametrize("smtp_server", [SMTP_LOGIN], indirect=True)
def test_pd_smtp_allow_plaintext_is_needed_off_loopback_and_enough(
    desk: tuple[str, Engine],
    smtp_server: Any,
    outside: str,
    make_mail: Callable[..., bytes],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    queue_one(desk[1], make_mail)
    with Relay(outside, smtp_server.port) as relay:  # an SMTP server without TLS, from afar
        url = f"smtp://desk:{SMTP_LOGIN['password']}@{relay.host}:{relay.port}"
        monkeypatch.setenv("PD_SMTP_URL", url)
        assert main(["send"]) == 2
        err = capsys.readouterr().err
        assert "smtp:// would send the SMTP password in clear" in err
        assert SMTP_LOGIN["password"] not in err and smtp_server.received == []

        monkeypatch.setenv("PD_SMTP_ALLOW_PLAINTEXT", "1")
        assert main(["send"]) == 0, capsys.readouterr().err
        assert ": 1 sent," in capsys.readouterr().out
    [received] = smtp_server.received
    assert received.authenticated_as == "desk"


@pytest.mark.parametrize("smtp_server", [{"tls": "starttls"}], indirect=True)
def test_pd_smtp_ca_file_is_the_ca_trusted(
    desk: tuple[str, Engine],
    smtp_server: Any,
    make_mail: Callable[..., bytes],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    queue_one(desk[1], make_mail)
    monkeypatch.setenv("PD_SMTP_URL", f"smtp+starttls://{smtp_server.host}:{smtp_server.port}")
    assert main(["send"]) == 1
    assert ": 0 sent, 0 deferred, 1 failed" in capsys.readouterr().out  # not the system's CA
    assert smtp_server.received == []

    monkeypatch.setenv("PD_SMTP_CA_FILE", str(smtp_server.ca_file))
    queue_one(desk[1], make_mail)
    assert main(["send"]) == 0, capsys.readouterr().err
    assert ": 1 sent," in capsys.readouterr().out
    assert len(smtp_server.received) == 1
