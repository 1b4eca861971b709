"""A Japanese request and its follow-up with attachments, byte by byte as Windows mail clients
send them (CP50220 text with ①㈱髙, RFC 2231 file names), for the case-file tests.

The bytes are built by ``tests/mail/mailbytes.py`` (loaded by path: the tests folders are not on
``sys.path``), never by the desk's own code.
"""

from __future__ import annotations

import base64
import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

REQUESTER = "takahashi.hanako@example.jp"
FIRST_ID = "req-1@mail.example.jp"

FIRST_NEWEST = (
    "個人情報の開示をお願いします。\n"
    "私は髙橋と申します。会員番号は①-12345です。\n"
    "㈱サンプル商事のキャンペーン経由で登録しました。"
)
FIRST_SIGNATURE = "髙橋 花子\n090-1234-5678"
FOLLOW_UP_NEWEST = (
    "追加のお願いです。利用停止もお願いします。\n"
    "本人確認書類として免許証の写真と申請書を添付します。髙橋"
)
FOLLOW_UP_QUOTED = "> 個人情報の開示をお願いします。"

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n" + os.urandom(2000) + b"\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(1500)
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + os.urandom(800)
HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>\n"
LARGE = b"%PDF-1.5\n" + os.urandom(300_000)
LARGE_LIMIT = 200_000  # PD_ATTACHMENT_MAX_BYTES in these tests: LARGE is over it

# (file name, declared type, content), in the follow-up's MIME order: attachments 1..5 of the case
FILES = (
    ("申請書.pdf", "application/pdf", PDF),
    ("免許証.png", "image/png", PNG),
    ("setup.exe", "application/octet-stream", EXE),
    ("page.html", "text/html", HTML),
    ("scan.pdf", "application/pdf", LARGE),
)


def _mailbytes() -> Any:
    if "mailbytes" not in sys.modules:
        path = Path(__file__).parent / "mail" / "mailbytes.py"
        spec = importlib.util.spec_from_file_location("mailbytes", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["mailbytes"] = module
        spec.loader.exec_module(module)
    return sys.modules["mailbytes"]


def _headers(subject: str, message_id: str, date: str, **more: str) -> list[tuple[str, Any]]:
    mb = _mailbytes()
    return [
        (
            "From",
            b"=?ISO-2022-JP?B?"
            + base64.b64encode(mb.cp50220("髙橋 花子"))
            + f"?= <{REQUESTER}>".encode(),
        ),
        ("To", "privacy@example-hikaku.co.jp"),
        ("Subject", mb.ew_b("ISO-2022-JP", mb.cp50220(subject))),
        ("Date", date),
        ("Message-ID", f"<{message_id}>"),
        *more.items(),
        ("MIME-Version", "1.0"),
    ]


def _jis_text(text: str) -> bytes:
    mb = _mailbytes()
    return mb.message(
        [
            ("Content-Type", "text/plain; charset=ISO-2022-JP"),
            ("Content-Transfer-Encoding", "7bit"),
        ],
        mb.cp50220_lines(text) + mb.CRLF,
    )


def first_mail() -> bytes:
    """The request: CP50220 text with a signature."""
    mb = _mailbytes()
    head = _headers("個人情報開示のお願い①", FIRST_ID, "Mon, 02 Mar 2026 23:00:00 +0000")
    body = f"{FIRST_NEWEST}\n\n-- \n{FIRST_SIGNATURE}"
    return mb.message(
        [*head, ("Content-Type", "text/plain; charset=ISO-2022-JP"),
         ("Content-Transfer-Encoding", "7bit")],
        mb.cp50220_lines(body) + mb.CRLF,
    )  # fmt: skip


def follow_up() -> bytes:
    """The requester answers in the thread, quoting the request, with five attachments."""
    mb = _mailbytes()
    parts = [_jis_text(f"{FOLLOW_UP_NEWEST}\n\n{FOLLOW_UP_QUOTED}")]
    for name, ctype, data in FILES:
        encoded = "".join(f"%{b:02X}" for b in name.encode())
        parts.append(
            mb.message(
                [
                    ("Content-Type", f"{ctype}"),
                    ("Content-Disposition", f"attachment; filename*=UTF-8''{encoded}"),
                    ("Content-Transfer-Encoding", "base64"),
                ],
                mb.b64(data),
            )
        )
    ctype, body = mb.multipart("mixed", parts)
    head = _headers(
        "Re: 個人情報開示のお願い①",
        "req-2@mail.example.jp",
        "Tue, 03 Mar 2026 01:00:00 +0000",
        **{"In-Reply-To": f"<{FIRST_ID}>", "References": f"<{FIRST_ID}>"},
    )
    return mb.message([*head, ctype], body)
