"""Properties of the parser over generated input: it never crashes and never garbles text."""

from __future__ import annotations

import base64
from email.charset import Charset
from email.header import Header

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mailbytes import CRLF, message

from mail.charset import decode_header_value
from mail.errors import ParseError
from mail.parse import ParsedMessage, parse_message

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def parses_or_refuses(raw: bytes) -> None:
    try:
        result = parse_message(raw)
    except ParseError:
        return
    assert isinstance(result, ParsedMessage)


@SETTINGS
@given(st.binary(max_size=4096))
def test_arbitrary_bytes(raw: bytes) -> None:
    parses_or_refuses(raw)


HEADER_NAMES = [
    "From", "To", "Cc", "Subject", "Date", "Message-ID", "In-Reply-To", "References",
    "Content-Type", "Content-Transfer-Encoding", "Content-Disposition", "Return-Path",
    "Auto-Submitted", "MIME-Version",
]  # fmt: skip
CONTENT_TYPES = [
    b"text/plain", b"text/html", b"multipart/mixed; boundary=b", b"multipart/report; boundary=b",
    b"message/rfc822", b"message/delivery-status", b"text/rfc822-headers",
    b"message/disposition-notification", b"application/octet-stream",
]  # fmt: skip
PIECES = [
    b"--b", b"--b--", b"\r\n", b"\n", b"=?", b"?=", b"=?utf-8?b?", b"=?iso-2022-jp?q?", b"\x1b$B",
    b"\x1b(B", b"\x1b(I", b"charset=", b"; name*0*=", b"utf-8''%E5", b"begin 644 x\n", b"=\r\n",
    b"Content-Type: ", b"Content-Transfer-Encoding: base64\r\n", b"\x00", b"\xff", b":", b";",
    b'"', b"<", b">", b"@",
]  # fmt: skip


@st.composite
def mime_like(draw: st.DrawFn) -> bytes:
    """Messages put together from MIME's own syntax, so the generated input reaches deep code."""
    chunk = st.one_of(
        st.sampled_from(PIECES), st.sampled_from(CONTENT_TYPES), st.binary(max_size=40)
    )
    headers = draw(
        st.lists(
            st.tuples(st.sampled_from(HEADER_NAMES), st.lists(chunk, max_size=6).map(b"".join)),
            max_size=8,
        )
    )
    ctype = draw(st.sampled_from(CONTENT_TYPES))
    charset = draw(
        st.sampled_from(
            [
                b"",
                b"; charset=iso-2022-jp",
                b"; charset=shift_jis",
                b"; charset=x-bad",
                b"; charset=undefined",
            ]
        )
    )
    body = draw(st.lists(chunk, max_size=30).map(b"".join))
    return message([*headers, ("Content-Type", ctype + charset)], body)


@SETTINGS
@given(mime_like())
def test_mime_shaped_garbage(raw: bytes) -> None:
    parses_or_refuses(raw)


# --- text round-trips through a message in each charset --------------------------------------


def _encodable(codec: str) -> st.SearchStrategy[str]:
    # Control characters are left out: ESC would turn Shift_JIS into ISO-2022-JP on purpose, and
    # CR/LF are rewritten to "\n" by design.
    def keeps(ch: str) -> bool:
        try:
            return ch.encode(codec).decode(codec) == ch
        except UnicodeError:
            return False

    alphabet = st.characters(
        blacklist_categories=("Cc", "Cs", "Co", "Cn"), max_codepoint=0xFFFF
    ).filter(keeps)
    return st.text(alphabet, max_size=60)


# JIS X 0208 cells the stdlib decodes to JIS code points but Windows (and cp932, which the
# decoder uses for CP50220) to its own: 〜/～, ‖/∥, −/－, ¢/￠, £/￡, ¬/￢. Mail from Windows is
# the norm, so the decoder reads the Windows meaning; the round-trip compares through this map.
# Likewise ESC ( J (JIS X 0201 Roman) is read as ASCII, as Windows and old mailers mean it, so
# the stdlib's ¥ and ‾ there come back as \ and ~.
JIS_TO_WINDOWS = str.maketrans(
    "\u301c\u2016\u2212\u00a2\u00a3\u00ac\u00a5\u203e",
    "\uff5e\u2225\uff0d\uffe0\uffe1\uffe2\\~",
)


def body_message(charset: str, data: bytes) -> bytes:
    return message(
        [("From", "taro@example.jp"), ("Subject", "x"),
         ("Content-Type", f"text/plain; charset={charset}"), ("Content-Transfer-Encoding", "base64")],
        base64.encodebytes(data).replace(b"\n", CRLF),
    )  # fmt: skip


@SETTINGS
@given(_encodable("utf-8"))
def test_utf8_round_trip(text: str) -> None:
    assert parse_message(body_message("UTF-8", text.encode())).text == text


@SETTINGS
@given(_encodable("cp932"))
def test_shift_jis_round_trip(text: str) -> None:
    assert parse_message(body_message("Shift_JIS", text.encode("cp932"))).text == text


@SETTINGS
@given(_encodable("euc_jp"))
def test_euc_jp_round_trip(text: str) -> None:
    assert parse_message(body_message("EUC-JP", text.encode("euc_jp"))).text == text


@SETTINGS
@given(_encodable("iso2022_jp"))
def test_iso_2022_jp_round_trip(text: str) -> None:
    # The stdlib encoder writes plain ISO-2022-JP (RFC 1468); CP50220 is checked byte by byte
    # in test_charset_decoding.
    parsed = parse_message(body_message("ISO-2022-JP", text.encode("iso2022_jp")))
    assert parsed.text == text.translate(JIS_TO_WINDOWS)


# --- headers encoded by the stdlib decode back ----------------------------------------------

header_text = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Co", "Cn", "Zl", "Zp")),
    min_size=1,
    max_size=80,
)


@SETTINGS
@given(header_text, st.sampled_from(["utf-8", "iso-2022-jp", "shift_jis", "euc-jp"]))
def test_encoded_headers_decode_back(text: str, charset: str) -> None:
    # The stdlib sends Shift_JIS and EUC-JP headers as ISO-2022-JP, as Japanese mailers do.
    output = Charset(charset).output_codec or "utf-8"
    try:
        text.encode(output)
    except UnicodeEncodeError:
        charset, output = "utf-8", "utf-8"
    encoded = Header(text, charset, header_name="Subject").encode()
    decoded = decode_header_value(encoded).text
    expected = text.translate(JIS_TO_WINDOWS) if output == "iso-2022-jp" else text
    assert decoded == expected


@SETTINGS
@given(header_text)
def test_encoded_subject_through_the_parser(text: str) -> None:
    encoded = Header(text, "utf-8", header_name="Subject").encode(linesep="\r\n")
    raw = message([("From", "taro@example.jp"), ("Subject", encoded)], b"x")
    assert parse_message(raw).subject == text.strip()


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from([b"\x1b$B", b"\x1b(B", b"\r\n", b"\n"]),
            st.binary(min_size=0, max_size=6).map(lambda b: bytes(0x21 + x % 94 for x in b)),
            st.text(alphabet="abc XYZ\\~09", max_size=5).map(str.encode),
        ),
        max_size=10,
    )
)
def test_iso2022jp_fast_path_agrees_with_the_full_decoder(parts: list[bytes]) -> None:
    from mail.charset import decode_iso2022jp

    data = b"".join(parts)
    # A leading ESC ( J ESC ( B changes nothing in the text but forces the full decoder.
    assert decode_iso2022jp(data).text == decode_iso2022jp(b"\x1b(J\x1b(B" + data).text
