"""Broken, huge or hostile messages give a result or a ParseError for that message, never a crash."""

from __future__ import annotations

import random

import pytest
from mailbytes import CRLF, b64, message, multipart

from mail.errors import ParseError
from mail.parse import Limits, ParsedMessage, parse_message

TEXT = "個人情報の削除をお願いします。"


def text_part(text: str = TEXT) -> bytes:
    return message(
        [("Content-Type", "text/plain; charset=UTF-8"), ("Content-Transfer-Encoding", "base64")],
        b64(text.encode()),
    )


def wrap(ctype: tuple[str, str | bytes], body: bytes) -> bytes:
    return message([("From", "taro@example.jp"), ("Subject", "request"), ctype], body)


def test_boundary_never_closed() -> None:
    pdf = message(
        [("Content-Type", "application/pdf"), ("Content-Disposition", 'attachment; filename="a.pdf"'),
         ("Content-Transfer-Encoding", "base64")],
        b64(b"%PDF" * 100),
    )  # fmt: skip
    ctype, body = multipart("mixed", [text_part(), pdf], close=False)
    parsed = parse_message(wrap(ctype, body))
    assert parsed.newest_text == TEXT
    assert [a.filename for a in parsed.attachments] == ["a.pdf"]
    assert any("Boundary" in d for d in parsed.defects)


def test_base64_cut_mid_way() -> None:
    long_text = TEXT * 20
    encoded = b64(long_text.encode())
    cut = encoded[: len(encoded) // 2 + 3]  # not on a 4-character boundary
    raw = message(
        [("From", "taro@example.jp"), ("Content-Type", "text/plain; charset=UTF-8"),
         ("Content-Transfer-Encoding", "base64")],
        cut,
    )  # fmt: skip
    parsed = parse_message(raw)
    assert parsed.text.startswith(TEXT * 5)
    assert len(parsed.text) < len(long_text)


def test_message_cut_inside_the_headers() -> None:
    parsed = parse_message(b"From: taro@example.jp\r\nSubject: =?UTF-8?B?5YmK")
    assert parsed.sender is not None
    assert parsed.text == ""


def test_20_mb_attachment() -> None:
    size = 20 * 1024 * 1024
    data = random.Random(7).randbytes(size)
    attachment = message(
        [("Content-Type", "application/octet-stream"),
         ("Content-Disposition", 'attachment; filename="export.zip"'),
         ("Content-Transfer-Encoding", "base64")],
        b64(data),
    )  # fmt: skip
    ctype, body = multipart("mixed", [text_part(), attachment])
    parsed = parse_message(wrap(ctype, body))
    assert parsed.newest_text == TEXT
    assert [(a.filename, a.size) for a in parsed.attachments] == [("export.zip", size)]


def test_100_000_line_body() -> None:
    lines = [f"line {i} の内容です" for i in range(100_000)]
    raw = message(
        [("From", "taro@example.jp"), ("Content-Type", "text/plain; charset=UTF-8")],
        CRLF.join(line.encode() for line in lines) + CRLF,
    )
    parsed = parse_message(raw)
    assert parsed.newest_text.startswith("line 0 の内容です\nline 1 の内容です")
    assert "line 99999 の内容です" in parsed.text
    assert parsed.language == "ja"


def test_100_000_quoted_lines() -> None:
    body = b"Please delete my data." + CRLF + b"> old line" * 1 + (CRLF + b"> old line") * 99_999
    parsed = parse_message(message([("From", "taro@example.jp")], body))
    assert parsed.newest_text == "Please delete my data."


@pytest.mark.parametrize("seed", range(20))
def test_random_bytes(seed: int) -> None:
    rng = random.Random(seed)
    raw = rng.randbytes(rng.randrange(1, 200_000))
    assert isinstance(parse_message(raw), ParsedMessage)


@pytest.mark.parametrize("seed", range(20))
def test_random_bytes_after_real_headers(seed: int) -> None:
    rng = random.Random(seed)
    ctype = rng.choice(
        ["text/plain; charset=iso-2022-jp", "text/html", "multipart/mixed; boundary=x"]
    )
    raw = message(
        [
            ("From", "taro@example.jp"),
            ("Content-Type", ctype),
            (
                "Content-Transfer-Encoding",
                rng.choice(["base64", "quoted-printable", "8bit", "x-uuencode"]),
            ),
        ],
        rng.randbytes(50_000),
    )
    assert isinstance(parse_message(raw), ParsedMessage)


def test_nul_bytes_in_headers() -> None:
    raw = message(
        [("From", b"taro@exa\x00mple.jp"), ("Subject", b"=?UTF-8?B?5YmK6Zmk?=\x00"),
         ("X-Bad\x00Name", "v"), ("Content-Type", "text/plain")],
        b"body with a \x00 NUL" + CRLF,
    )  # fmt: skip
    parsed = parse_message(raw)
    assert parsed.subject == "削除"
    assert parsed.sender is not None
    assert parsed.sender.address == "taro@example.jp"
    assert "NUL byte in headers" in parsed.defects
    assert parsed.size == len(raw)


def nested(depth: int) -> bytes:
    body = text_part()
    for level in range(depth):
        ctype, inner = multipart("mixed", [body], boundary=f"b{level}")
        body = message([ctype], inner)
    return message([("From", "taro@example.jp"), ("Subject", "deep")], b"")[:-2] + body


def test_multiparts_nested_100_deep() -> None:
    parsed = parse_message(nested(100))
    assert parsed.newest_text == TEXT


@pytest.mark.parametrize("depth", [150, 1_000, 5_000])
def test_multiparts_nested_beyond_the_limit(depth: int) -> None:
    try:
        parsed = parse_message(nested(depth))
    except ParseError as e:
        assert "nested" in str(e)
    else:
        assert any("nesting" in d for d in parsed.defects)


@pytest.mark.parametrize("depth", [100, 2_000])
def test_forwarded_messages_nested_deep(depth: int) -> None:
    body = message([("From", "x@example.jp"), ("Subject", "inner")], b"inner" + CRLF)
    for _ in range(depth):
        body = message([("From", "x@example.jp"), ("Content-Type", "message/rfc822")], body)
    try:
        parsed = parse_message(message([("From", "taro@example.jp")], b"")[:-2] + body)
    except ParseError as e:
        assert "nested" in str(e)
    else:
        assert parsed.attachments[0].content_type == "message/rfc822"


def test_too_many_parts_is_a_defect() -> None:
    ctype, body = multipart("mixed", [text_part()] + [text_part("x")] * 600)
    parsed = parse_message(wrap(ctype, body), limits=Limits(max_parts=50))
    assert parsed.newest_text.startswith(TEXT)
    assert any("more than 50 MIME parts" in d for d in parsed.defects)


def test_bigger_than_max_bytes() -> None:
    raw = message([("From", "taro@example.jp")], b"x" * 2000)
    with pytest.raises(ParseError, match="limit"):
        parse_message(raw, limits=Limits(max_bytes=1000))
    assert parse_message(raw, limits=Limits(max_bytes=len(raw))).size == len(raw)


def test_default_limit() -> None:
    with pytest.raises(ParseError):
        parse_message(b"x" * (Limits().max_bytes + 1))


def test_text_over_the_character_limit_is_truncated() -> None:
    raw = message([("From", "taro@example.jp")], b"a" * 5000)
    parsed = parse_message(raw, limits=Limits(max_text_chars=1000))
    assert len(parsed.text) == 1000
    assert any("truncated" in d for d in parsed.defects)


def test_empty_input() -> None:
    parsed = parse_message(b"")
    assert parsed.text == ""
    assert parsed.sender is None
    assert "no sender address" in parsed.defects


@pytest.mark.parametrize(
    "charset", ["undefined", "idna", "punycode", "base64", "x-unknown", "utf-8\x01"]
)
def test_hostile_charset_in_a_forwarded_message(charset: str) -> None:
    inner = message(
        [("From", "x@example.jp"), ("Content-Type", f"text/plain; charset={charset}".encode()),
         ("Content-Transfer-Encoding", "8bit")],
        b"\xff\xfe\x00 abc \x1b$B" + CRLF,
    )  # fmt: skip
    fwd = message([("Content-Type", "message/rfc822")], inner)
    body_part = message(
        [("Content-Type", f"text/plain; charset={charset}".encode())], b"\xe5\x89\x8a abc"
    )
    ctype, body = multipart("mixed", [body_part, fwd])
    parsed = parse_message(wrap(ctype, body))
    assert "abc" in parsed.text
    assert parsed.attachments[0].size > 0


def test_multipart_without_boundary_and_a_hostile_charset() -> None:
    raw = message(
        [("From", "taro@example.jp"), ("Content-Type", "multipart/mixed; charset=undefined")],
        "削除してください".encode() + CRLF,
    )
    assert isinstance(parse_message(raw), ParsedMessage)


def test_report_parts_with_hostile_charsets() -> None:
    headers = message(
        [("Content-Type", "text/rfc822-headers; charset=undefined")],
        b"Message-ID: <orig@example.jp>" + CRLF + "X-Name: 山田".encode() + CRLF,
    )
    status = message(
        [("Content-Type", "message/delivery-status; charset=idna")],
        "Original-Message-ID: <orig@example.jp>\r\nX: 山田\r\n".encode(),
    )
    ctype, body = multipart("report", [status, headers])
    parsed = parse_message(wrap((ctype[0], str(ctype[1]) + "; report-type=delivery-status"), body))
    assert parsed.original_message_id == "orig@example.jp"
