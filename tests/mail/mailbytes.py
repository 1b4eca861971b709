"""Build raw RFC 5322 messages byte by byte for the mail tests; nothing here calls ``mail/``.

Japanese encodings are assembled explicitly: ISO-2022-JP as Windows sends it (CP50220) is made
from cp932 bytes with the Shift_JIS -> JIS arithmetic below, so a test never relies on the code
it is testing to produce its input.
"""

from __future__ import annotations

import base64
import quopri

CRLF = b"\r\n"

ESC_ASCII = b"\x1b(B"
ESC_JIS0208 = b"\x1b$B"
ESC_KANA = b"\x1b(I"

Header = tuple[str, str | bytes]


def _bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("ascii")


def message(headers: list[Header], body: bytes = b"", *, eol: bytes = CRLF) -> bytes:
    """A whole message (or a MIME part): header lines, a blank line, then ``body`` as given."""
    head = b"".join(name.encode("ascii") + b": " + _bytes(value) + eol for name, value in headers)
    return head + eol + body


def multipart(
    subtype: str, parts: list[bytes], *, boundary: str = "=_b0", close: bool = True
) -> tuple[Header, bytes]:
    """A Content-Type header and a body joining ``parts`` with ``boundary``."""
    b = boundary.encode("ascii")
    body = b"This is a multi-part message in MIME format." + CRLF
    for p in parts:
        body += b"--" + b + CRLF + p + CRLF
    if close:
        body += b"--" + b + b"--" + CRLF
    return ("Content-Type", f'multipart/{subtype}; boundary="{boundary}"'), body


def b64(data: bytes) -> bytes:
    """Base64 in 76-character lines, as mail clients write it."""
    return base64.encodebytes(data).replace(b"\n", CRLF)


def qp(data: bytes) -> bytes:
    return quopri.encodestring(data).replace(b"\n", CRLF)


def ew_b(charset: str, data: bytes) -> bytes:
    """One RFC 2047 B encoded-word over ``data``."""
    return b"=?" + charset.encode() + b"?B?" + base64.b64encode(data) + b"?="


def ew_q(charset: str, data: bytes) -> bytes:
    """One RFC 2047 Q encoded-word over ``data`` (every non-alphanumeric byte escaped)."""
    out = b"".join(bytes((c,)) if chr(c).isalnum() and c < 0x80 else b"=%02X" % c for c in data)
    return b"=?" + charset.encode() + b"?Q?" + out + b"?="


# --- Shift_JIS / ISO-2022-JP arithmetic -------------------------------------------------------


def sjis_pair_to_jis(s1: int, s2: int) -> bytes:
    """Inverse of JIS -> Shift_JIS: one double-byte Shift_JIS code to its JIS X 0208 row/cell."""
    if s1 >= 0xE0:
        s1 -= 0x40
    j1 = (s1 - 0x81) * 2 + 0x21
    if s2 >= 0x9F:
        return bytes((j1 + 1, s2 - 0x7E))
    return bytes((j1, s2 - 0x1F - (1 if s2 >= 0x80 else 0)))


def _nec_selected() -> dict[str, bytes]:
    """cp932 codes ED40-EEFC (NEC-selected IBM extensions), which CP50220 sends as JIS rows 0x79-0x7C."""
    table: dict[str, bytes] = {}
    for s1 in (0xED, 0xEE):
        for s2 in range(0x40, 0xFD):
            try:
                table.setdefault(bytes((s1, s2)).decode("cp932"), bytes((s1, s2)))
            except UnicodeDecodeError:
                continue
    return table


NEC_SELECTED = _nec_selected()


def cp50220(text: str) -> bytes:
    """``text`` as Windows encodes ISO-2022-JP (CP50220), ending in ASCII mode.

    ASCII runs go out in ``ESC ( B``, half-width katakana in ``ESC ( I``, everything else is
    taken from cp932 (IBM extensions remapped to their NEC-selected codes) and sent as JIS X 0208
    pairs under ``ESC $ B``.
    """
    out = bytearray()
    mode = "ascii"
    for ch in text:
        if ord(ch) < 0x80:
            want, data = "ascii", ch.encode("ascii")
        elif 0xFF61 <= ord(ch) <= 0xFF9F:
            want, data = "kana", bytes((ord(ch) - 0xFF61 + 0x21,))
        else:
            sj = NEC_SELECTED.get(ch) or ch.encode("cp932")
            if 0xFA <= sj[0] <= 0xFC:
                raise ValueError(f"{ch!r} has no NEC-selected code")
            want, data = "jis", sjis_pair_to_jis(sj[0], sj[1])
        if want != mode:
            out += {"ascii": ESC_ASCII, "kana": ESC_KANA, "jis": ESC_JIS0208}[want]
            mode = want
        out += data
    if mode != "ascii":
        out += ESC_ASCII
    return bytes(out)


def cp50220_lines(text: str) -> bytes:
    """Multi-line text in CP50220, each line back in ASCII before its CRLF (RFC 1468)."""
    return CRLF.join(cp50220(line) for line in text.split("\n"))
