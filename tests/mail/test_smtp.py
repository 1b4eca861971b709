"""Sending the desk's mail: a real aiosmtpd on loopback, real TLS with a trustme CA, .eml files."""

from __future__ import annotations

import asyncio
import email
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import trustme

from mail.errors import MailError, PermanentError, TransientError
from mail.outgoing import compose
from mail.parse import parse_message
from mail.smtp import ConfigError, SmtpConfig, parse_smtp_url, retry_delay, send

DESK = "privacy@example-hikaku.co.jp"
REQUESTER = "hanako@example.jp"
SECRET = "pa:ss/w@rd%zz"  # reserved URL characters: percent-encoded in URLs


def quoted(secret: str) -> str:
    from urllib.parse import quote

    return quote(secret, safe="")


def our_id(key: str) -> str:
    """A fixed Message-ID per key (the desk's own are random: ``make_message_id``)."""
    return f"<pd.test.{key}@example-hikaku.co.jp>"


def reply(key: str = "PD-2026-000123.1", **overrides: Any) -> EmailMessage:
    values: dict[str, Any] = {
        "from_address": DESK,
        "from_name": "個人情報お問い合わせ窓口",
        "to_address": REQUESTER,
        "to_name": "佐藤 花子",
        "subject": "Re: 個人情報削除のお願い",
        "text": "佐藤 花子 様\n\nご依頼の個人情報はすべて削除いたしました。\n.\n..\n",
        "case_ref": "PD-2026-000123",
        "message_id": our_id(key),
        "in_reply_to": "<req-1@mail.example.jp>",
        "date": datetime(2026, 3, 3, 9, 0, tzinfo=UTC),
        "automatic": False,  # an approved answer
    }
    values.update(overrides)
    return compose(**values)


async def deliver(config: SmtpConfig, message: EmailMessage | bytes | None = None) -> Any:
    return await send(config, message or reply(), sender=DESK, recipients=[REQUESTER])


# --- sending to a real server ---------------------------------------------------------------


async def test_a_reply_arrives_as_written(smtp_server: Any) -> None:
    result = await deliver(parse_smtp_url(smtp_server.url()))
    assert "OK queued" in result.reply
    assert result.message_id == our_id("PD-2026-000123.1")
    [got] = smtp_server.received
    assert (got.sender, got.recipients) == (DESK, (REQUESTER,))
    parsed = parse_message(got.data)
    assert parsed.subject == "Re: 個人情報削除のお願い [PD-2026-000123]"
    assert parsed.to[0].name == "佐藤 花子" and parsed.sender is not None
    assert parsed.sender.name == "個人情報お問い合わせ窓口"
    assert parsed.text.startswith("佐藤 花子 様")
    msg = email.message_from_bytes(got.data, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    text_part = msg.get_body(preferencelist=("plain",))
    assert text_part is not None
    # lines that are only dots survive SMTP's dot-stuffing (they are base64 here anyway)
    assert text_part.get_content().replace("\r\n", "\n").endswith("\n.\n..\n")
    assert msg["Auto-Submitted"] is None  # approved: a letter, not an auto-reply
    assert msg["X-Privacy-Desk-Loop"] == DESK


async def test_the_envelope_is_what_send_is_told_not_the_headers(smtp_server: Any) -> None:
    message = reply()
    message["Bcc"] = "someone-else@example.jp"  # a header never makes a recipient
    await send(parse_smtp_url(smtp_server.url()), message, sender=DESK, recipients="a@example.jp")
    [got] = smtp_server.received
    assert got.recipients == ("a@example.jp",)


async def test_bytes_are_sent_as_they_are(smtp_server: Any) -> None:
    from mail.outgoing import as_bytes

    data = as_bytes(reply())
    await deliver(parse_smtp_url(smtp_server.url()), data)
    assert smtp_server.received[0].data == data


@pytest.mark.parametrize(
    ("code", "stage", "error"),
    [
        (421, "DATA", TransientError),
        (450, "RCPT", TransientError),
        (451, "DATA", TransientError),
        (452, "DATA", TransientError),
        (550, "DATA", PermanentError),
        (550, "RCPT", PermanentError),
        (552, "DATA", PermanentError),
        (554, "DATA", PermanentError),
    ],
)
async def test_server_refusals_are_classified(
    smtp_server: Any, code: int, stage: str, error: type[Exception]
) -> None:
    config = parse_smtp_url(smtp_server.url())
    smtp_server.fail_next(code, stage=stage)
    with pytest.raises(error, match=str(code)) as caught:
        await deliver(config)
    assert REQUESTER not in str(caught.value)  # no address in what gets logged
    assert smtp_server.received == []
    await deliver(config)  # the next try goes through
    assert len(smtp_server.received) == 1


async def test_a_transient_failure_can_last(smtp_server: Any) -> None:
    config = parse_smtp_url(smtp_server.url())
    smtp_server.fail_next(451, count=2)
    for _ in range(2):
        with pytest.raises(TransientError):
            await deliver(config)
    await deliver(config)
    assert len(smtp_server.received) == 1


async def test_one_refused_recipient_among_others_is_reported(smtp_server: Any) -> None:
    smtp_server.fail_next(550, stage="RCPT")
    result = await send(
        parse_smtp_url(smtp_server.url()),
        reply(),
        sender=DESK,
        recipients=["gone@example.jp", REQUESTER],
    )
    assert result.refused == {"gone@example.jp": "550 5.1.1 Mailbox unavailable"}
    assert smtp_server.received[0].recipients == (REQUESTER,)


async def test_connection_refused_is_transient() -> None:
    with socket.socket() as held:  # bound, never listening: the port refuses connections
        held.bind(("127.0.0.1", 0))
        port = held.getsockname()[1]
        with pytest.raises(TransientError, match="cannot talk to"):
            await deliver(parse_smtp_url(f"smtp://127.0.0.1:{port}"))


async def test_a_silent_server_times_out_as_transient() -> None:
    with socket.socket() as silent:  # the kernel accepts; nobody ever says 220
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        config = parse_smtp_url(f"smtp://127.0.0.1:{port}", timeout=0.3)
        with pytest.raises(TransientError, match="timed out"):
            await deliver(config)


@pytest.fixture
async def hanging_up_server() -> AsyncIterator[int]:
    """A server that closes every connection as soon as it is made."""

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


async def test_a_reset_connection_is_transient(hanging_up_server: int) -> None:
    with pytest.raises(TransientError):
        await deliver(parse_smtp_url(f"smtp://127.0.0.1:{hanging_up_server}"))


async def test_invalid_envelope_addresses_are_permanent(smtp_server: Any) -> None:
    config = parse_smtp_url(smtp_server.url())
    for sender, recipients in [
        (DESK, ["hanako@example.jp\r\nRCPT TO:<evil@x.example>"]),
        (DESK, []),
        ("desk", [REQUESTER]),
    ]:
        with pytest.raises(PermanentError):
            await send(config, reply(), sender=sender, recipients=recipients)
    assert smtp_server.received == []


# --- logins and TLS --------------------------------------------------------------------------


async def test_login_over_starttls_with_a_private_ca(smtp_server_type: Any) -> None:
    with smtp_server_type(user="desk", password=SECRET, tls="starttls") as server:
        url = server.url("smtp+starttls", user="desk", password=quoted(SECRET))
        config = parse_smtp_url(url, ca_file=str(server.ca_file))
        await deliver(config)
        [got] = server.received
        assert got.authenticated_as == "desk"
        assert parse_message(got.data).subject.endswith("[PD-2026-000123]")


async def test_implicit_tls_with_a_private_ca(smtp_server_type: Any) -> None:
    with smtp_server_type(user="desk", password=SECRET, tls="implicit") as server:
        url = server.url("smtps", user="desk", password=quoted(SECRET))
        await deliver(parse_smtp_url(url, ca_file=str(server.ca_file)))
        assert [r.authenticated_as for r in server.received] == ["desk"]


@pytest.mark.parametrize(("tls", "scheme"), [("starttls", "smtp+starttls"), ("implicit", "smtps")])
async def test_an_untrusted_certificate_is_refused(
    tls: str, scheme: str, smtp_server_type: Any
) -> None:
    with smtp_server_type(user="desk", password=SECRET, tls=tls) as server:
        config = parse_smtp_url(server.url(scheme, user="desk", password=quoted(SECRET)))
        with pytest.raises(PermanentError, match="not trusted") as caught:
            await deliver(config)
        assert SECRET not in str(caught.value) and quoted(SECRET) not in str(caught.value)
        assert server.received == []


async def test_a_wrong_password_is_permanent(smtp_server_type: Any) -> None:
    with smtp_server_type(user="desk", password=SECRET, tls="starttls") as server:
        url = server.url("smtp+starttls", user="desk", password="wrong-password")
        with pytest.raises(PermanentError, match="login refused") as caught:
            await deliver(parse_smtp_url(url, ca_file=str(server.ca_file)))
        assert "wrong-password" not in str(caught.value)
        assert server.received == []


async def test_no_login_when_the_server_wants_one_is_permanent(smtp_server_type: Any) -> None:
    with (
        smtp_server_type(user="desk", password=SECRET) as server,
        pytest.raises(PermanentError, match="530"),
    ):
        await deliver(parse_smtp_url(server.url()))


async def test_starttls_required_but_not_offered_is_permanent(smtp_server: Any) -> None:
    with pytest.raises(PermanentError, match="cannot take our mail"):
        await deliver(parse_smtp_url(smtp_server.url("smtp+starttls")))
    assert smtp_server.received == []


# --- file: ----------------------------------------------------------------------------------


async def test_file_outbox_writes_one_eml_per_message_id(tmp_path: Path) -> None:
    config = parse_smtp_url(f"file:{tmp_path}/outbox")
    first = await deliver(config, reply("PD-2026-000123.1"))
    again = await deliver(config, reply("PD-2026-000123.1", text="changed\n"))
    other = await deliver(config, reply("PD-2026-000123.2"))
    assert first.path == again.path != other.path
    assert (first.reply, again.reply) == ("written", "already written")
    files = sorted((tmp_path / "outbox").iterdir())
    assert [f.name for f in files] == sorted(
        f"{our_id(k).strip('<>')}.eml" for k in ("PD-2026-000123.1", "PD-2026-000123.2")
    )
    assert first.path is not None
    parsed = parse_message(first.path.read_bytes())
    assert parsed.subject == "Re: 個人情報削除のお願い [PD-2026-000123]"
    assert parsed.text.startswith("佐藤 花子 様")  # the first write stands


async def test_file_names_are_safe_for_any_message_id(tmp_path: Path) -> None:
    config = parse_smtp_url(f"file://{tmp_path}")
    raw = b"Message-ID: <../../etc/passwd@x>\r\nSubject: x\r\n\r\nbody\r\n"
    result = await deliver(config, raw)
    assert result.path is not None and result.path.parent == tmp_path
    no_id = await deliver(config, b"Subject: x\r\n\r\nbody\r\n")
    assert no_id.path is not None and no_id.path.name.startswith("sha256-")
    assert len(list(tmp_path.iterdir())) == 2  # and no temporary file is left behind


async def test_an_unwritable_outbox_is_transient(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(TransientError, match="outbox folder"):
        await deliver(parse_smtp_url(f"file:{tmp_path}/file/outbox"))


# --- PD_SMTP_URL ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://relay.example", ("smtp", "relay.example", 25, None)),
        ("smtp+starttls://desk:pw@mail.example", ("smtp+starttls", "mail.example", 587, "desk")),
        ("smtps://desk%40corp.jp:pw@mail.example", ("smtps", "mail.example", 465, "desk@corp.jp")),
        ("SMTPS://desk:pw@mail.example:2465/", ("smtps", "mail.example", 2465, "desk")),
        ("smtp://desk:pw@127.0.0.1:2525", ("smtp", "127.0.0.1", 2525, "desk")),
    ],
)
def test_server_urls(url: str, expected: tuple[str, str, int, str | None]) -> None:
    config = parse_smtp_url(url)
    assert (config.scheme, config.host, config.port, config.user) == expected
    assert config.timeout == 30.0 and config.ca_file is None


def test_file_urls() -> None:
    assert parse_smtp_url().path == Path("var/outbox")  # the embedded default
    assert parse_smtp_url("file:var/outbox") == SmtpConfig(scheme="file", path=Path("var/outbox"))
    assert parse_smtp_url("file:/srv/outbox").path == Path("/srv/outbox")
    assert parse_smtp_url("file:///srv/out%20box").path == Path("/srv/out box")
    assert repr(parse_smtp_url("file:/srv/outbox")) == "SmtpConfig('file:/srv/outbox')"


def test_password_apart_ca_file_and_timeout(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(ca))
    config = parse_smtp_url(
        "smtps://desk@mail.example", password=SECRET, ca_file=str(ca), timeout=5
    )
    assert (config.password, config.ca_file, config.timeout) == (SECRET, str(ca), 5.0)
    for bad in ("/nonexistent/ca.pem", __file__):
        with pytest.raises(ConfigError, match="CA file"):
            parse_smtp_url("smtps://desk:pw@mail.example", ca_file=bad)
    with pytest.raises(ConfigError, match="needs TLS"):
        parse_smtp_url("smtp://relay.example", ca_file=str(ca))
    for seconds in (0, -1, float("nan"), float("inf")):
        with pytest.raises(ConfigError, match="timeout"):
            parse_smtp_url("smtps://desk:pw@mail.example", timeout=seconds)
    plain = parse_smtp_url("smtp://desk:pw@relay.example", allow_plaintext=True)
    assert plain.password == "pw"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("imap://desk:{pw}@mail.example", "must start with smtp://"),
        ("", "must start with smtp://"),
        ("smtp://desk:{pw}@mail.example:99999", "port"),
        ("smtps://desk:{pw}@mail.example:abc", "port"),
        ("smtps://desk:{pw}@[::1", "malformed host"),
        ("smtps://desk:{pw}@", "needs a host"),
        ("smtps://:{pw}@mail.example", "no user"),
        ("smtps://desk@mail.example", "no SMTP password"),
        ("smtp://desk:{pw}@mail.example", "in clear"),
        ("smtps://desk:{pw}@mail.example/INBOX", "no path"),
        ("smtps://desk:{pw}@mail.example?timeout=5", "no path or options"),
        ("smtps://desk:{pw}@mail.example#{pw}", "no path or options"),
        ("file:", "needs a folder"),
        ("file://server/share", "on this machine"),
    ],
)
def test_bad_urls_say_what_is_wrong_and_never_show_the_password(url: str, message: str) -> None:
    secret = "Hunter2-secret"
    with pytest.raises(ConfigError, match=message) as caught:
        parse_smtp_url(url.format(pw=secret))
    assert isinstance(caught.value, MailError)
    assert secret not in str(caught.value)


def test_the_password_is_never_in_a_repr() -> None:
    config = parse_smtp_url(f"smtps://desk:{quoted(SECRET)}@mail.example")
    assert config.password == SECRET
    for shown in (repr(config), str(config), config.url, repr([config])):
        assert SECRET not in shown and quoted(SECRET) not in shown
    assert repr(config) == "SmtpConfig('smtps://desk@mail.example:465')"


# --- retry delays ---------------------------------------------------------------------------


def test_retry_delay_doubles_with_jitter_up_to_a_cap() -> None:
    top = [retry_delay(n, rand=lambda: 1.0) for n in range(1, 10)]
    assert top == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert retry_delay(1, rand=lambda: 0.0) == 15
    assert retry_delay(3, base=10, cap=25, rand=lambda: 0.5) == 18.75
    assert retry_delay(10_000) <= 3600  # no overflow after a long outage
    delays = {retry_delay(4) for _ in range(50)}
    assert len(delays) > 1 and all(120 <= d <= 240 for d in delays)
    with pytest.raises(ValueError):
        retry_delay(0)
