"""A large mail is read without holding its attachments in memory as text: a 6 MB attachment is
listed with its true size, the text beside it read, and a long text sent in base64 is still read
as the text it is."""

from __future__ import annotations

import os
from email.message import EmailMessage

from mail.parse import parse_message


def test_a_large_attachment_is_listed_with_its_size_and_the_text_read() -> None:
    content = os.urandom(6 * 1024 * 1024 + 7)
    msg = EmailMessage()
    msg["From"] = "hanako@example.jp"
    msg["Subject"] = "ID"
    msg.set_content("本人確認書類を添付します。個人情報を削除してください。")
    msg.add_attachment(content, maintype="application", subtype="pdf", filename="id.pdf")
    msg.add_attachment(b"small", maintype="image", subtype="png", filename="stamp.png")
    parsed = parse_message(msg.as_bytes())
    assert [(a.filename, a.size) for a in parsed.attachments] == [
        ("id.pdf", len(content)),
        ("stamp.png", 5),
    ]
    assert "削除してください" in parsed.newest_text
    assert not parsed.defects


def test_a_long_text_in_base64_is_read_as_text() -> None:
    text = "個人情報の開示を請求します。" * 60_000 + "\n最後に:私のデータを削除してください。"
    msg = EmailMessage()
    msg["From"] = "hanako@example.jp"
    msg["Subject"] = "長文"
    msg.set_content(text, charset="utf-8", cte="base64")
    raw = msg.as_bytes()
    assert len(raw) > 2 * 1024 * 1024
    parsed = parse_message(raw)
    assert parsed.text.rstrip().endswith("私のデータを削除してください。")
    assert parsed.attachments == ()
