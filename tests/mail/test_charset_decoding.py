"""Japanese and mislabelled charsets decode to exactly the text the sender typed."""

from __future__ import annotations

import pytest
from mailbytes import (
    CRLF,
    ESC_ASCII,
    ESC_JIS0208,
    ESC_KANA,
    b64,
    cp50220,
    cp50220_lines,
    ew_b,
    message,
    sjis_pair_to_jis,
)

from mail.charset import decode_bytes, decode_iso2022jp, normalize_charset
from mail.parse import parse_message

# The extension characters Windows puts in ISO-2022-JP mail and the stdlib codec rejects.
EXTENSIONS = "①㈱Ⅳ№髙﨑～"


def text_message(
    charset: str | None, body: bytes, *, cte: str = "7bit", subject: bytes = b"x"
) -> bytes:
    ctype = "text/plain" + (f"; charset={charset}" if charset is not None else "")
    return message(
        [
            ("From", "taro@example.jp"),
            ("To", "privacy@example.co.jp"),
            ("Subject", subject),
            ("Message-ID", "<m1@example.jp>"),
            ("MIME-Version", "1.0"),
            ("Content-Type", ctype),
            ("Content-Transfer-Encoding", cte),
        ],
        body,
    )


def test_the_test_arithmetic_matches_known_jis_codes() -> None:
    # Anchors from the JIS/cp932 tables, so the helper that builds the fixtures is itself checked.
    assert sjis_pair_to_jis(0x87, 0x40) == b"\x2d\x21"  # ① NEC row 13
    assert sjis_pair_to_jis(0x81, 0x60) == b"\x21\x41"  # ～
    assert sjis_pair_to_jis(0xEE, 0xE0) == b"\x7c\x62"  # 髙 NEC-selected IBM extension
    assert sjis_pair_to_jis(0xED, 0x95) == b"\x79\x75"  # 﨑
    assert sjis_pair_to_jis(0x82, 0xA0) == b"\x24\x22"  # あ
    assert cp50220("あa") == ESC_JIS0208 + b"\x24\x22" + ESC_ASCII + b"a"


def test_cp50220_body_and_subject_keep_nec_and_ibm_extensions() -> None:
    body_text = f"株式会社{EXTENSIONS}の件\n個人情報の削除をお願いします。"
    subject = ew_b("ISO-2022-JP", cp50220(f"削除依頼{EXTENSIONS}"))
    raw = text_message("ISO-2022-JP", cp50220_lines(body_text) + CRLF, subject=subject)

    parsed = parse_message(raw)

    assert parsed.subject == f"削除依頼{EXTENSIONS}"
    assert parsed.text.rstrip("\n") == body_text
    for field in (parsed.subject, parsed.text):
        assert "\ufffd" not in field
        assert "=?" not in field
    assert parsed.defects == ()


def test_cp50220_literal_bytes() -> None:
    # ① ㈱ Ⅳ № 髙 﨑 ～ written out as JIS rows 0x2D (NEC row 13), 0x79-0x7C (IBM) and 0x21.
    data = ESC_JIS0208 + b"\x2d\x21\x2d\x6a\x2d\x38\x2d\x62\x7c\x62\x79\x75\x21\x41" + ESC_ASCII
    assert decode_iso2022jp(data).text == EXTENSIONS
    assert decode_iso2022jp(data).defects == []


def test_half_width_katakana_by_escape_and_by_shift() -> None:
    # ｱｲｳ is 0x31 0x32 0x33 in JIS X 0201 katakana.
    by_escape = b"tel " + ESC_KANA + b"\x31\x32\x33" + ESC_ASCII + b" ok"
    by_shift = b"tel \x0e\x31\x32\x33\x0f ok"
    raw = text_message("ISO-2022-JP", by_escape + CRLF + by_shift + CRLF)

    assert parse_message(raw).text == "tel ｱｲｳ ok\ntel ｱｲｳ ok\n"


def test_half_width_katakana_in_helper_matches_literal() -> None:
    assert cp50220("ｱｲ") == ESC_KANA + b"\x31\x32" + ESC_ASCII


@pytest.mark.parametrize(
    "label", ["shift_jis", "sjis", "x-sjis", "windows-31j", "ms932", "Shift_JIS"]
)
def test_shift_jis_labels_decode_as_cp932(label: str) -> None:
    # ① is 87 40 (NEC row 13); 髙 is sent both as FB FC (IBM) and EE E0 (NEC-selected IBM).
    body = b"\x8c\xc2\x90\x6c\x8f\xee\x95\xf1 \x87\x40 \xfb\xfc\x8b\xb4 \xee\xe0\x8b\xb4" + CRLF
    parsed = parse_message(text_message(label, body, cte="8bit"))
    assert parsed.text == "個人情報 ① 髙橋 髙橋\n"
    assert parsed.defects == ()


def test_x_euc_jp_decodes_as_euc_jp() -> None:
    body = "個人情報の開示を請求します".encode("euc_jp") + CRLF
    # These bytes read as cp932 would come out as half-width katakana mojibake.
    assert body.decode("cp932", errors="replace") != "個人情報の開示を請求します\r\n"
    parsed = parse_message(text_message("x-euc-jp", body, cte="8bit"))
    assert parsed.text == "個人情報の開示を請求します\n"
    assert normalize_charset("x-euc-jp") == "euc-jp"


def test_unknown_label_still_decodes_and_says_so() -> None:
    body = "開示請求です".encode() + CRLF
    parsed = parse_message(text_message("x-unknown-foo", body, cte="8bit"))
    assert parsed.text == "開示請求です\n"
    assert "unknown charset label" in parsed.defects


@pytest.mark.parametrize(
    ("name", "body", "expected"),
    [
        ("iso-2022-jp", cp50220("個人情報の削除①") + CRLF, "個人情報の削除①\n"),
        ("utf-8", "個人情報の削除①".encode() + CRLF, "個人情報の削除①\n"),
        ("cp932", "個人情報の削除①髙".encode("cp932") + CRLF, "個人情報の削除①髙\n"),
        (
            "euc-jp",
            "個人情報の削除をお願いします".encode("euc_jp") + CRLF,
            "個人情報の削除をお願いします\n",
        ),
    ],
)
def test_missing_charset_is_sniffed(name: str, body: bytes, expected: str) -> None:
    without_param = parse_message(text_message(None, body, cte="8bit"))
    assert without_param.text == expected, name
    no_content_type = message([("From", "a@example.jp"), ("Subject", "x")], body)
    assert parse_message(no_content_type).text == expected, name


def test_sniffing_reports_the_codec_it_chose() -> None:
    assert decode_bytes("削除".encode("euc_jp"), None).charset == "euc-jp"
    assert decode_bytes("削除してください".encode("cp932"), None).charset == "cp932"
    assert decode_bytes("削除".encode(), None).charset == "utf-8"


def test_utf8_base64_body() -> None:
    body = b64("退会後のデータ削除について".encode())
    parsed = parse_message(text_message("UTF-8", body, cte="base64"))
    assert parsed.text == "退会後のデータ削除について"


def test_us_ascii_label_on_shift_jis_bytes_is_repaired() -> None:
    body = "削除してください".encode("cp932") + CRLF
    parsed = parse_message(text_message("us-ascii", body, cte="8bit"))
    assert parsed.text == "削除してください\n"
    assert "text is not valid us-ascii" in parsed.defects


def test_shift_jis_label_on_iso_2022_jp_bytes() -> None:
    parsed = parse_message(text_message("shift_jis", cp50220("削除①") + CRLF))
    assert parsed.text == "削除①\n"


@pytest.mark.parametrize("label", ["undefined", "base64", "rot13", "hex", "zlib", "idna"])
def test_codec_names_that_are_not_text_encodings(label: str) -> None:
    result = decode_bytes("削除".encode(), label)
    assert result.text == "削除"


def test_undecodable_jis_pair_is_marked_not_dropped() -> None:
    # 0x21 0x7F is not a JIS X 0208 cell: the reader must see that something was lost.
    result = decode_iso2022jp(ESC_JIS0208 + b"\x24\x22\x21\x7f" + ESC_ASCII)
    assert result.text == "あ\ufffd"
    assert result.defects
