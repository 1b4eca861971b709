"""Message-ID, thread headers and dates: what dedupes a message and links it to a case."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

from mailbytes import CRLF, message

from mail.parse import parse_message


def raw_with(headers: list[tuple[str, str | bytes]]) -> bytes:
    return message([("From", "taro@example.jp"), ("Subject", "x"), *headers], b"body" + CRLF)


def test_message_id_without_brackets() -> None:
    parsed = parse_message(raw_with([("Message-ID", " <CAF=abc.123@mail.example.jp>")]))
    assert parsed.message_id == "CAF=abc.123@mail.example.jp"
    assert parsed.message_id_generated is False


def test_message_id_header_name_in_any_case() -> None:
    parsed = parse_message(raw_with([("Message-Id", "<x1@example.jp>")]))
    assert parsed.message_id == "x1@example.jp"


def test_missing_message_id_is_sha256_of_the_bytes_and_stable() -> None:
    raw = raw_with([])
    first, second = parse_message(raw), parse_message(bytes(raw))
    assert first.message_id_generated is True
    assert first.message_id == second.message_id
    assert hashlib.sha256(raw).hexdigest() in first.message_id
    assert first.sha256 == hashlib.sha256(raw).hexdigest()


def test_generated_ids_differ_for_different_bytes() -> None:
    a = parse_message(raw_with([("Date", "Sat, 1 Nov 2026 10:00:00 +0900")]))
    b = parse_message(raw_with([("Date", "Sat, 1 Nov 2026 10:00:01 +0900")]))
    assert a.message_id != b.message_id


def test_empty_message_id_is_generated() -> None:
    parsed = parse_message(raw_with([("Message-ID", "")]))
    assert parsed.message_id_generated is True


def test_thread_headers() -> None:
    parsed = parse_message(
        raw_with(
            [
                ("In-Reply-To", "<PD-2026-000123.1@desk.example.co.jp>"),
                ("References", "<a@x.jp>" + "\r\n <b@y.jp> <PD-2026-000123.1@desk.example.co.jp>"),
            ]
        )
    )
    assert parsed.in_reply_to == "PD-2026-000123.1@desk.example.co.jp"
    assert parsed.references == ("a@x.jp", "b@y.jp", "PD-2026-000123.1@desk.example.co.jp")


def test_date_in_japan_time() -> None:
    parsed = parse_message(raw_with([("Date", "Sat, 1 Nov 2026 10:00:00 +0900")]))
    assert parsed.date == datetime(2026, 11, 1, 10, 0, tzinfo=timezone(timedelta(hours=9)))


def test_bad_date_is_a_defect() -> None:
    for value in ("yesterday", "Mon, 1 Jan 99999 00:00:00 +0000", "Sat, 1 Nov 2026 10:00:00 +9999"):
        parsed = parse_message(raw_with([("Date", value)]))
        assert parsed.date is None, value
    assert "unparseable Date header" in parse_message(raw_with([("Date", "yesterday")])).defects


def test_size_is_the_size_of_the_bytes_received() -> None:
    raw = raw_with([("X-Note", b"a\x00b")])
    assert parse_message(raw).size == len(raw)
