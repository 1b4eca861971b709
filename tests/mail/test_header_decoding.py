"""Subjects, names and filenames decode whatever way a client encoded them (RFC 2047, 2231, 8-bit)."""

from __future__ import annotations

import urllib.parse

import pytest
from mailbytes import CRLF, b64, cp50220, ew_b, ew_q, message, multipart

from mail.charset import decode_header_value
from mail.parse import parse_message


def with_subject(subject: bytes, *, sender: bytes = b"taro@example.jp") -> bytes:
    return message(
        [("From", sender), ("Subject", subject), ("Content-Type", "text/plain; charset=UTF-8")],
        b"body" + CRLF,
    )


SUBJECT = "個人情報の削除について"


def test_utf8_b_words_split_inside_a_character() -> None:
    data = SUBJECT.encode()
    # 4 is inside the second character (each is 3 bytes); 13 is inside the fifth.
    words = [ew_b("UTF-8", data[:4]), ew_b("UTF-8", data[4:13]), ew_b("utf-8", data[13:])]
    parsed = parse_message(with_subject((CRLF + b" ").join(words)))
    assert parsed.subject == SUBJECT
    assert "\ufffd" not in parsed.subject


def test_utf8_q_words_split_inside_a_character() -> None:
    data = SUBJECT.encode()
    words = [ew_q("UTF-8", data[:5]), ew_q("UTF-8", data[5:])]
    assert parse_message(with_subject(words[0] + b" " + words[1])).subject == SUBJECT


def test_b_and_q_words_in_one_header_join() -> None:
    data = SUBJECT.encode()
    subject = ew_b("utf-8", data[:7]) + CRLF + b"\t" + ew_q("utf-8", data[7:])
    assert parse_message(with_subject(subject)).subject == SUBJECT


def test_iso_2022_jp_words_split_inside_a_jis_pair() -> None:
    data = cp50220(SUBJECT + "①")
    # 3 bytes of escape, then pairs: cutting at 6 leaves half of the second character.
    words = [ew_b("ISO-2022-JP", data[:6]), ew_b("ISO-2022-JP", data[6:])]
    parsed = parse_message(with_subject((CRLF + b" ").join(words)))
    assert parsed.subject == SUBJECT + "①"


def test_each_iso_2022_jp_word_self_contained() -> None:
    words = [ew_b("ISO-2022-JP", cp50220("個人情報の")), ew_b("ISO-2022-JP", cp50220("削除①"))]
    subject = b"Re: " + (CRLF + b" ").join(words) + b" (2)"
    assert parse_message(with_subject(subject)).subject == "Re: 個人情報の削除① (2)"


def test_whitespace_between_word_and_text_is_kept() -> None:
    assert decode_header_value("Re: =?UTF-8?B?5YmK6Zmk?= (2)").text == "Re: 削除 (2)"
    assert decode_header_value("=?utf-8?q?a?= b =?utf-8?q?c?=").text == "a b c"
    assert decode_header_value("=?utf-8?q?a?=  =?utf-8?q?c?=").text == "ac"


@pytest.mark.parametrize(
    "value",
    [
        "=?utf-8?b?A?=",  # one base64 character: no whole byte
        "=?utf-8?b?====?=",
        "=?utf-8?q?日本?=",  # unencoded text inside a Q word
        "=?utf-8?q?=E6=97?=",  # half a character
        "=?undefined?q?abc?=",
        "=?idna?b?" + "QUFB" * 30 + "?=",
        "=?x-unknown?b?5YmK6Zmk?=",
        "=?utf-8?q?=-1=+1?=",
    ],
)
def test_broken_encoded_words_never_raise(value: str) -> None:
    result = decode_header_value(value)
    assert isinstance(result.text, str)


def test_q_word_with_bad_escapes_keeps_them_literally() -> None:
    assert decode_header_value("=?utf-8?q?100=_=+1=zz?=").text == "100= =+1=zz"


def test_unknown_charset_in_word_is_sniffed() -> None:
    assert decode_header_value("=?x-unknown?b?5YmK6Zmk?=").text == "削除"


def test_raw_utf8_subject() -> None:
    parsed = parse_message(with_subject(SUBJECT.encode()))
    assert parsed.subject == SUBJECT
    assert "raw 8-bit bytes in header" in parsed.defects


def test_raw_shift_jis_subject_and_sender_name() -> None:
    sender = "山田 太郎".encode("cp932") + b" <taro@example.jp>"
    parsed = parse_message(with_subject(SUBJECT.encode("cp932"), sender=sender))
    assert parsed.subject == SUBJECT
    assert parsed.sender is not None
    assert parsed.sender.name == "山田 太郎"
    assert parsed.sender.address == "taro@example.jp"


def test_encoded_display_names() -> None:
    sender = b'"' + ew_b("ISO-2022-JP", cp50220("髙橋 ①")) + b'" <Taro@Example.JP>'
    raw = message(
        [
            ("From", sender),
            (
                "To",
                b"=?UTF-8?B?"
                + b64("窓口, 個人情報".encode()).strip()
                + b"?= <privacy@example.co.jp>, b@example.jp",
            ),
            ("Subject", "x"),
        ],
        b"body",
    )
    parsed = parse_message(raw)
    assert parsed.sender is not None
    assert (parsed.sender.name, parsed.sender.address) == ("髙橋 ①", "Taro@example.jp")
    assert [(a.name, a.address) for a in parsed.to] == [
        ("窓口, 個人情報", "privacy@example.co.jp"),
        ("", "b@example.jp"),
    ]


# --- attachment filenames -----------------------------------------------------------------------

NAME = "本人確認書類.pdf"


def with_attachment(disposition: bytes, content_type: bytes = b"application/pdf") -> bytes:
    text = message([("Content-Type", "text/plain; charset=UTF-8")], "添付します".encode())
    pdf = message(
        [("Content-Type", content_type), ("Content-Disposition", disposition),
         ("Content-Transfer-Encoding", "base64")],
        b64(b"%PDF-1.4 fake"),
    )  # fmt: skip
    ctype, body = multipart("mixed", [text, pdf])
    return message([("From", "taro@example.jp"), ("Subject", "x"), ctype], body)


def attachment_names(raw: bytes) -> list[str | None]:
    return [a.filename for a in parse_message(raw).attachments]


def test_rfc2231_filename() -> None:
    encoded = urllib.parse.quote(NAME.encode()).encode()
    assert attachment_names(with_attachment(b"attachment; filename*=UTF-8''" + encoded)) == [NAME]


def test_rfc2231_filename_with_language_and_iso_2022_jp() -> None:
    encoded = urllib.parse.quote(cp50220("髙橋①.pdf")).encode()
    raw = with_attachment(b"attachment; filename*=iso-2022-jp'ja'" + encoded)
    assert attachment_names(raw) == ["髙橋①.pdf"]


def test_rfc2231_continuations() -> None:
    data = NAME.encode()
    first = urllib.parse.quote(data[:7]).encode()  # cut inside the third character
    second = urllib.parse.quote(data[7:]).encode()
    disposition = (
        b"attachment;"
        + CRLF
        + b" filename*0*=UTF-8''"
        + first
        + b";"
        + CRLF
        + b" filename*1*="
        + second
    )
    assert attachment_names(with_attachment(disposition)) == [NAME]


def test_rfc2231_plain_continuations() -> None:
    disposition = b'attachment; filename*0="identity-"; filename*1="check.pdf"'
    assert attachment_names(with_attachment(disposition)) == ["identity-check.pdf"]


def test_rfc2047_encoded_filename_and_name() -> None:
    word = ew_b("ISO-2022-JP", cp50220("髙橋①.pdf"))
    raw = with_attachment(
        b'attachment; filename="' + word + b'"', b'application/pdf; name="' + word + b'"'
    )
    assert attachment_names(raw) == ["髙橋①.pdf"]


def test_rfc2047_name_only_in_content_type_folded_over_lines() -> None:
    data = cp50220("個人情報開示請求書_記入済み.pdf")
    words = [
        ew_b("ISO-2022-JP", cp50220("個人情報開示")),
        ew_b("ISO-2022-JP", cp50220("請求書_記入済み.pdf")),
    ]
    assert data  # the two words carry the name between them
    ctype = b"application/pdf;" + CRLF + b' name="' + words[0] + CRLF + b" " + words[1] + b'"'
    assert attachment_names(with_attachment(b"attachment", ctype)) == [
        "個人情報開示請求書_記入済み.pdf"
    ]


def test_raw_utf8_filename() -> None:
    raw = with_attachment(b'attachment; filename="' + NAME.encode() + b'"')
    assert attachment_names(raw) == [NAME]


def test_raw_shift_jis_filename() -> None:
    raw = with_attachment(b'attachment; filename="' + NAME.encode("cp932") + b'"')
    assert attachment_names(raw) == [NAME]
