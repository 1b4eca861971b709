"""Raw mail encrypted at rest with PD_RAW_KEYS: unreadable in the table, whole through the
models (intake, outbox, sending), older plaintext rows still read, a missing or wrong key a
clear error naming the setting, key rotation, and a malformed key refused at start."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, col, select

from bot.cli import main
from bot.intake import Intake
from bot.replies import Replies, ReplySettings, Sender
from mail.parse import parse_message
from mail.smtp import parse_smtp_url
from storage import crypto, repo
from storage.models import MailMessage, OutboxItem

NOW = datetime(2026, 3, 3, 0, 5, tzinfo=UTC)
SETTINGS = ReplySettings.from_env(
    {"PD_FROM_ADDRESS": "privacy@example-hikaku.co.jp", "PD_APPROVERS": "yamada"}
)
BODY = "私の個人情報をすべて削除してください。会員番号 HK-778812"


@pytest.fixture
def use_keys() -> Iterator[Callable[..., crypto.Keyring | None]]:
    """Set the process's keys for a test (as the command line does at start), unset after."""

    def use(*keys: str) -> crypto.Keyring | None:
        keyring = crypto.Keyring(list(keys)) if keys else None
        crypto.configure(keyring)
        return keyring

    yield use
    crypto.configure(None)


def stored(engine: Engine, table: str) -> list[bytes]:
    """The raw column as the database holds it, read with plain SQL (no model, no key)."""
    with engine.connect() as connection:
        rows = connection.execute(text(f"SELECT raw FROM {table} ORDER BY id")).all()
    return [bytes(row[0]) for row in rows]


def through_models(engine: Engine) -> list[bytes | None]:
    with Session(engine) as session:
        return [m.raw for m in session.exec(select(MailMessage).order_by(col(MailMessage.id)))]


def take_in(engine: Engine, make_mail: Callable[..., bytes], body: str = BODY, **kw: str) -> bytes:
    raw = make_mail(body, **kw)
    result = Intake(engine, clock=lambda: NOW, replies=SETTINGS).process(raw)
    assert result.action == "opened", result
    return raw


def test_raw_mail_is_unreadable_in_the_table_and_whole_through_the_models(
    engine: Engine,
    make_mail: Callable[..., bytes],
    use_keys: Callable[..., object],
    smtp_server: Any,
) -> None:
    use_keys(crypto.new_key())
    raw = take_in(engine, make_mail, message_id="<enc-1@mail.example.jp>")
    [row] = stored(engine, "message")
    assert crypto.is_sealed(row)
    for secret in (b"hanako@example.jp", b"Hanako Sato", b"enc-1@mail.example.jp"):
        assert secret in raw and secret not in row
    assert through_models(engine) == [raw]
    assert BODY in parse_message(raw).newest_text

    # The acknowledgement: approved, queued (encrypted), sent as the requester must read it.
    with Session(engine) as session:
        [draft] = repo.drafts(session, status="draft")
    Replies(engine, SETTINGS, clock=lambda: NOW).approve(draft.id or 0, approver="yamada")
    [queued] = stored(engine, "outboxitem")
    assert crypto.is_sealed(queued) and b"hanako@example.jp" not in queued
    sender = Sender(engine, parse_smtp_url(smtp_server.url()), clock=lambda: NOW)
    assert asyncio.run(sender.run_once()).sent == 1
    [received] = smtp_server.received
    sent = message_from_bytes(received.data)
    assert sent["To"] == "Hanako Sato <hanako@example.jp>"
    with Session(engine) as session:
        [item] = session.exec(select(OutboxItem)).all()
    assert message_from_bytes(item.raw)["Message-ID"] == sent["Message-ID"]


def test_rows_written_before_the_key_was_set_still_read(
    engine: Engine, make_mail: Callable[..., bytes], use_keys: Callable[..., object]
) -> None:
    before = take_in(engine, make_mail, sender="Taro <taro@example.jp>")
    use_keys(crypto.new_key())
    after = take_in(engine, make_mail, sender="Jiro <jiro@example.jp>")
    first, second = stored(engine, "message")
    assert first == before  # plaintext, as written
    assert crypto.is_sealed(second) and b"jiro@example.jp" not in second
    assert through_models(engine) == [before, after]


def test_a_missing_or_wrong_key_is_a_clear_error_naming_the_setting(
    engine: Engine, make_mail: Callable[..., bytes], use_keys: Callable[..., object]
) -> None:
    right, wrong = crypto.new_key(), crypto.new_key()
    use_keys(right)
    take_in(engine, make_mail)
    use_keys()
    with pytest.raises(crypto.RawKeyError, match="encrypted and PD_RAW_KEYS is not set"):
        through_models(engine)
    use_keys(wrong)
    with pytest.raises(crypto.RawKeyError, match="a key that is not in PD_RAW_KEYS") as caught:
        through_models(engine)
    assert right not in str(caught.value) and wrong not in str(caught.value)
    use_keys(wrong, right)  # the right key listed anywhere opens it
    assert through_models(engine)[0] is not None


def test_bytes_that_begin_like_an_encrypted_row_are_kept_as_they_came(
    engine: Engine, use_keys: Callable[..., object]
) -> None:
    odd = crypto.SEALED + b"not a token at all"
    result = Intake(engine, clock=lambda: NOW).quarantine(odd, "unreadable")
    assert result.action == "quarantined"
    assert through_models(engine) == [odd]  # no key: stored escaped, read back whole
    use_keys(crypto.new_key())
    assert through_models(engine) == [odd]


def test_rotation_encrypts_every_row_with_the_first_key(
    engine: Engine, make_mail: Callable[..., bytes], use_keys: Callable[..., object]
) -> None:
    old, new = crypto.new_key(), crypto.new_key()
    plain = take_in(engine, make_mail, sender="Taro <taro@example.jp>")
    use_keys(old)
    sealed = take_in(engine, make_mail, sender="Jiro <jiro@example.jp>")
    keyring = use_keys(new, old)
    assert isinstance(keyring, crypto.Keyring)
    done = crypto.rotate(engine, keyring, batch=1)  # batches of one: the paging is exercised
    # Two messages; two acknowledgement drafts but nothing queued in the outbox yet.
    assert (done.encrypted, done.rotated) == (1, 1)
    assert all(crypto.is_sealed(row) for row in stored(engine, "message"))
    use_keys(new)  # the old key can go now
    assert through_models(engine) == [plain, sealed]
    use_keys(old)
    with pytest.raises(crypto.RawKeyError):
        through_models(engine)


def test_the_keys_commands_and_a_malformed_key_refused_before_the_database(
    engine: Engine,
    make_mail: Callable[..., bytes],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["keys", "new"]) == 0
    new = capsys.readouterr().out.strip()
    crypto.Keyring([new])  # a valid key

    untouched = tmp_path / "never" / "desk.db"
    monkeypatch.setenv("PD_DATABASE_URL", f"sqlite:///{untouched}")
    bad = "c2VjcmV0LXZhbHVlLXRoYXQtaXMtdG9vLXNob3J0"
    monkeypatch.setenv("PD_RAW_KEYS", f"{new}, {bad}")
    assert main(["cases"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "PD_RAW_KEYS: key 2 of 2 is not a Fernet key" in err
    assert bad not in err and new not in err
    assert not untouched.parent.exists()  # refused before the database was opened

    monkeypatch.setenv("PD_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.delenv("PD_RAW_KEYS")
    try:
        plain = take_in(engine, make_mail)
        assert main(["keys", "rotate"]) == 2
        assert "PD_RAW_KEYS is not set" in capsys.readouterr().err
        monkeypatch.setenv("PD_RAW_KEYS", new)
        assert main(["keys", "rotate"]) == 0
        assert "1 row encrypted" in capsys.readouterr().out
        assert crypto.is_sealed(stored(engine, "message")[0])
        assert through_models(engine) == [plain]  # the command left the key configured
    finally:
        crypto.configure(None)


@pytest.mark.parametrize("keyed", [False, True], ids=["plain", "encrypted"])
def test_a_large_mail_is_stored_whole(
    engine: Engine,
    make_mail: Callable[..., bytes],
    use_keys: Callable[..., object],
    keyed: bool,
) -> None:
    """A mail of several MiB (streamed into its blob on SQLite) reads back byte for byte."""
    if keyed:
        use_keys(crypto.new_key())
    scan = "".join(f"{n:07d} スキャンした本人確認書類の行です\n" for n in range(120_000))
    raw = take_in(engine, make_mail, body=f"{BODY}\n\n{scan}", message_id="<large@x.example.jp>")
    assert len(raw) > 5 * 2**20
    [row] = stored(engine, "message")
    assert crypto.is_sealed(row) is keyed
    assert (row == raw) is not keyed
    assert through_models(engine) == [raw]
