"""Each attachment's bytes come back exactly as sent, by its place in ``attachments``, large
base64 content (set aside before parsing) included."""

from __future__ import annotations

import os

from mailbytes import CRLF, b64, message, multipart

from mail.parse import attachment_bytes, iter_attachment_bytes, parse_message

PDF = b"%PDF-1.4\n" + os.urandom(3000) + b"\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(500)
LARGE = os.urandom(1_500_000)  # over the size at which parsing sets base64 aside


def _file(name: str, ctype: str, data: bytes) -> bytes:
    return message(
        [
            ("Content-Type", f'{ctype}; name="{name}"'),
            ("Content-Disposition", f'attachment; filename="{name}"'),
            ("Content-Transfer-Encoding", "base64"),
        ],
        b64(data),
    )


def _mail(*files: bytes) -> bytes:
    text = message([("Content-Type", "text/plain; charset=utf-8")], "本文です。".encode() + CRLF)
    inner = message(
        [("From", "a@example.jp"), ("Subject", "inner"), ("Message-ID", "<inner@example.jp>")],
        b"the attached mail" + CRLF,
    )
    attached = message([("Content-Type", "message/rfc822")], inner)
    ctype, body = multipart("mixed", [text, *files, attached])
    return message([("From", "hanako@example.jp"), ("Subject", "files"), ctype], body)


def test_each_attachment_by_its_index_byte_for_byte() -> None:
    raw = _mail(_file("id.png", "image/png", PNG), _file("a.pdf", "application/pdf", PDF))
    parsed = parse_message(raw)
    assert [a.filename for a in parsed.attachments] == ["id.png", "a.pdf", None]
    assert attachment_bytes(raw, 0) == PNG
    assert attachment_bytes(raw, 1) == PDF
    embedded = attachment_bytes(raw, 2)
    assert embedded is not None and b"the attached mail" in embedded
    assert [len(d) for d in iter_attachment_bytes(raw)] == [a.size for a in parsed.attachments]
    assert attachment_bytes(raw, 3) is None
    assert attachment_bytes(raw, -1) is None


def test_a_large_attachment_set_aside_comes_back_whole() -> None:
    raw = _mail(
        _file("scan.bin", "application/octet-stream", LARGE), _file("a.pdf", "application/pdf", PDF)
    )
    parsed = parse_message(raw)
    assert parsed.attachments[0].size == len(LARGE)
    assert attachment_bytes(raw, 0) == LARGE
    assert attachment_bytes(raw, 1) == PDF
    assert parse_message(raw).newest_text.strip() == "本文です。"


def test_a_message_without_attachments_has_none() -> None:
    raw = message([("From", "a@example.jp"), ("Subject", "x")], b"just text" + CRLF)
    assert list(iter_attachment_bytes(raw)) == []
    assert attachment_bytes(raw, 0) is None
