"""PD_MAILBOX as an operator writes it: URLs, passwords kept apart, and clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from mail.imap import ConfigError, parse_mailbox_url


def test_imaps_url_with_everything_in_it() -> None:
    config = parse_mailbox_url("imaps://privacy%40example.jp:s3cr%2Ft@mail.example.jp/INBOX")
    assert (config.scheme, config.host, config.port) == ("imaps", "mail.example.jp", 993)
    assert (config.user, config.password, config.folder) == (
        "privacy@example.jp",
        "s3cr/t",
        "INBOX",
    )
    assert "s3cr" not in repr(config) and "s3cr" not in config.key


def test_password_from_the_environment_or_a_file(tmp_path: Path) -> None:
    assert parse_mailbox_url("imap://desk@127.0.0.1:1143/", password="pw").password == "pw"
    secret = tmp_path / "imap-password"
    secret.write_text("from-file\n")
    config = parse_mailbox_url("imap://desk@127.0.0.1:1143/Privacy", password_file=str(secret))
    assert (config.password, config.folder, config.port) == ("from-file", "Privacy", 1143)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("pop3://desk:pw@host/", "imap:// or imaps://"),
        ("imaps://host/INBOX", "needs a user and a host"),
        ("imaps://desk@host/INBOX", "no IMAP password"),
        ("imaps://desk:pw@host:port/INBOX", "port that is not a number"),
    ],
)
def test_bad_mailbox_urls_are_refused_clearly(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        parse_mailbox_url(url)
    assert "pw" not in str(caught.value)


def test_an_unreadable_password_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="password file"):
        parse_mailbox_url("imaps://desk@host/", password_file=str(tmp_path / "missing"))
