"""The reply language follows what the sender wrote now, not the history under it."""

from __future__ import annotations

import pytest
from mailbytes import CRLF, ew_b, message

from mail.parse import detect_language, parse_message


def lang_of(body: str, subject: bytes = b"hello") -> str:
    raw = message(
        [("From", "taro@example.jp"), ("Subject", subject),
         ("Content-Type", "text/plain; charset=UTF-8"), ("Content-Transfer-Encoding", "8bit")],
        body.replace("\n", "\r\n").encode() + CRLF,
    )  # fmt: skip
    return parse_message(raw).language


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("個人情報の開示をお願いします。", "ja"),
        ("ｺｼﾞﾝｼﾞｮｳﾎｳ ｻｸｼﾞｮ ｵﾈｶﾞｲ", "ja"),
        ("Please delete all personal data you hold about me.", "en"),
        ("GDPR Art. 17 に基づき、私の personal data を削除してください。", "ja"),
        ("Please delete my account. My name is 山田太郎.", "en"),
    ],
)
def test_language_of_the_text(body: str, expected: str) -> None:
    assert lang_of(body) == expected


def test_english_reply_over_japanese_history() -> None:
    body = "Please delete my data.\n\n2026年11月1日(土) 10:00 窓口 <privacy@example.co.jp>:\n" + (
        "> 個人情報のお問い合わせありがとうございます。\n" * 5
    )
    assert lang_of(body) == "en"


def test_japanese_reply_over_english_history() -> None:
    body = (
        "削除してください。\n\nOn Sat, Nov 1, 2026 at 10:00 AM Desk <privacy@example.co.jp> wrote:\n"
        + ("> Thank you for contacting the privacy desk about your request.\n" * 5)
    )
    assert lang_of(body) == "ja"


def test_empty_body_takes_the_subject() -> None:
    subject = ew_b("UTF-8", "個人情報の削除依頼".encode())
    assert lang_of("", subject=subject) == "ja"
    assert lang_of("", subject=b"Deletion request") == "en"


def test_no_text_at_all_is_english() -> None:
    assert detect_language("") == "en"
    assert detect_language("12345 !!!") == "en"
