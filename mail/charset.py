"""Turn bytes in whatever charset a mail client claimed (or forgot to claim) into text, losslessly.

Python's codecs fall short on Japanese mail in three ways this module repairs:

* ISO-2022-JP as Windows sends it (CP50220) carries NEC row-13 and IBM extension characters
  (①, ㈱, Ⅳ, №, 髙, 﨑) that the ``iso2022_jp`` codec rejects. We walk the escape sequences
  ourselves and map each JIS X 0208 pair to Shift_JIS arithmetically, then decode with cp932,
  whose table holds those extensions. Half-width katakana (``ESC ( I`` and SO/SI) come along.
* Labels: ``shift_jis`` and friends are really cp932 in the wild; ``x-euc-jp`` is euc-jp.
* No label at all: look for ISO-2022-JP escapes, else try utf-8, cp932 and euc-jp strictly and
  keep the most plausible reading.

Nothing here raises on bad input: undecodable bytes become U+FFFD and a defect string says so.
"""

from __future__ import annotations

import binascii
import codecs
import re
from dataclasses import dataclass, field

# Labels seen in real mail mapped to the codec that actually decodes them.
CHARSET_ALIASES: dict[str, str] = {
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "s-jis": "cp932",
    "ms_kanji": "cp932",
    "csshiftjis": "cp932",
    "windows-31j": "cp932",
    "cswindows31j": "cp932",
    "ms932": "cp932",
    "cp932": "cp932",
    "x-ms-cp932": "cp932",
    "euc-jp": "euc-jp",
    "x-euc-jp": "euc-jp",
    "x-euc": "euc-jp",
    "eucjp": "euc-jp",
    "euc_jp": "euc-jp",
    "cseucpkdfmtjapanese": "euc-jp",
    "cp51932": "euc-jp",
    "iso-2022-jp": "iso-2022-jp",
    "iso2022jp": "iso-2022-jp",
    "csiso2022jp": "iso-2022-jp",
    "iso-2022-jp-ms": "iso-2022-jp",
    "iso-2022-jp-1": "iso-2022-jp",
    "iso-2022-jp-2": "iso-2022-jp",
    "iso-2022-jp-3": "iso-2022-jp",
    "iso-2022-jp-2004": "iso-2022-jp",
    "cp50220": "iso-2022-jp",
    "cp50221": "iso-2022-jp",
    "cp50222": "iso-2022-jp",
    "utf8": "utf-8",
    "utf-8": "utf-8",
    "unicode-1-1-utf-8": "utf-8",
    "us-ascii": "us-ascii",
    "ascii": "us-ascii",
    "ansi_x3.4-1968": "us-ascii",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "ks_c_5601-1987": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "big5": "big5hkscs",
}

_ISO2022_ESCAPES = (b"\x1b$B", b"\x1b$@", b"\x1b(B", b"\x1b(J", b"\x1b(I", b"\x1b$(D")
_REPLACEMENT = "\ufffd"


@dataclass
class Decoded:
    """Text decoded from bytes, the codec that did it and what went wrong on the way."""

    text: str
    charset: str
    defects: list[str] = field(default_factory=list)


def normalize_charset(label: str | None) -> str | None:
    """The codec name we decode a declared charset label with, or None when it is unusable."""
    if not label:
        return None
    name = label.strip().strip("\"'").lower()
    if not name:
        return None
    if name in CHARSET_ALIASES:
        return CHARSET_ALIASES[name]
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        return None
    # "base64", "rot13", "zlib" and friends are codecs but not charsets; "undefined" always fails.
    if not getattr(info, "_is_text_encoding", True) or info.name == "undefined":
        return None
    return info.name


def _jis_pair_to_sjis(j1: int, j2: int) -> bytes:
    """Map one JIS X 0208 code (row byte, cell byte, both 0x21-0x7E) to its Shift_JIS bytes."""
    s1 = ((j1 - 0x21) >> 1) + 0x81
    if s1 > 0x9F:
        s1 += 0x40
    if j1 & 1:
        s2 = j2 + 0x1F + (1 if j2 >= 0x60 else 0)
    else:
        s2 = j2 + 0x7E
    return bytes((s1, s2))


# Escape sequences, shifts and line breaks: the points where the ISO-2022-JP mode can change.
_ISO2022_TOKEN = re.compile(rb"(\x1b\([BJI]|\x1b\$[B@]|\x1b\$\([DQO]|[\x0e\x0f\r\n])")
_ISO2022_MODES = {
    b"\x1b(B": "ascii",
    b"\x1b(J": "ascii",  # JIS X 0201 Roman: senders mean ASCII by it
    b"\x1b$B": "jis0208",
    b"\x1b$@": "jis0208",
    b"\x1b(I": "kana",
    b"\x1b$(D": "jis0212",
    b"\x1b$(Q": "jis0213",
    b"\x1b$(O": "jis0213",
}
_KANA = {b: 0xFF61 + b - 0x21 for b in range(0x21, 0x60)} | {b: 0xFFFD for b in range(0x80, 0x100)}
_HIGH_BYTES = {b: 0xFFFD for b in range(0x80, 0x100)}
_TO_EUC = bytes(b | 0x80 if 0x21 <= b <= 0x7E else b for b in range(0x100))
_NOT_JIS_BYTE = re.compile(rb"[^\x21-\x7e]")
# The six JIS X 0208 cells where the stdlib's euc_jp table and cp932 (Windows) disagree.
_JIS_TO_CP932 = str.maketrans(
    "\u301c\u2016\u2212\u00a2\u00a3\u00ac", "\uff5e\u2225\uff0d\uffe0\uffe1\uffe2"
)


def _decode_jis0208(run: bytes) -> str:
    """JIS X 0208 pairs (with the NEC and IBM extension rows) to text; U+FFFD for bad pairs."""
    if not _NOT_JIS_BYTE.search(run):
        try:
            # Fast path: the same pairs as EUC-JP, then the Windows reading of six cells.
            return run.translate(_TO_EUC).decode("euc_jp").translate(_JIS_TO_CP932)
        except UnicodeDecodeError:
            pass  # extension rows or unassigned cells: go pair by pair
    chars: list[str] = []
    for k in range(0, len(run) - 1, 2):
        j1, j2 = run[k], run[k + 1]
        if 0x21 <= j1 <= 0x7E and 0x21 <= j2 <= 0x7E:
            chars.append(_jis_pair_to_sjis(j1, j2).decode("cp932", errors="replace"))
        else:
            chars.append(_REPLACEMENT)
    return "".join(chars)


def decode_iso2022jp(data: bytes) -> Decoded:
    """Decode ISO-2022-JP including the CP50220/CP50221 extensions Windows mail clients send."""
    if b"\x1b(J" not in data and b"\x0e" not in data:
        # Fast path: Python's codec reads plain ISO-2022-JP (ASCII and JIS X 0208) correctly
        # but for six cells Windows maps differently; it fails on everything else, which the
        # path below handles. (JIS-Roman is left to that path: the codec maps its 0x5C to ¥.)
        try:
            return Decoded(data.decode("iso2022_jp").translate(_JIS_TO_CP932), "iso-2022-jp")
        except UnicodeDecodeError:
            pass
    out: list[str] = []
    defects: list[str] = []
    mode = "ascii"
    shifted = False  # SO/SI half-width katakana (CP50221)
    for k, token in enumerate(_ISO2022_TOKEN.split(data)):
        if k % 2:  # a separator
            if token in (b"\r", b"\n"):
                # A line break ends any multibyte run, whether or not the sender reset it.
                out.append(token.decode("ascii"))
            elif token == b"\x0e":
                shifted = True
            elif token == b"\x0f":
                shifted = False
            else:
                mode = _ISO2022_MODES[token]
            continue
        for n, piece in enumerate(token.split(b"\x1b")):
            if n:
                defects.append("unknown ISO-2022-JP escape sequence")
                out.append(_REPLACEMENT)
            if piece:
                out.append(_decode_run(piece, "kana" if shifted else mode, defects))
    return Decoded("".join(out), "iso-2022-jp", _dedupe(defects))


def _decode_run(run: bytes, mode: str, defects: list[str]) -> str:
    """Bytes between two mode changes, read in ``mode``."""
    if mode == "kana":
        return run.decode("latin-1").translate(_KANA)
    if mode == "ascii":
        try:
            return run.decode("ascii")
        except UnicodeDecodeError:
            defects.append("8-bit byte in ISO-2022-JP text")
            return run.decode("latin-1").translate(_HIGH_BYTES)
    odd = len(run) % 2
    if odd:
        defects.append("odd-length double-byte run in ISO-2022-JP text")
    if mode == "jis0208":
        text = _decode_jis0208(run)
    else:
        codec = "iso2022_jp_2" if mode == "jis0212" else "iso2022_jp_2004"
        prefix = b"\x1b$(D" if mode == "jis0212" else b"\x1b$(Q"
        text = (prefix + run[: len(run) - odd] + b"\x1b(B").decode(codec, errors="replace")
    if _REPLACEMENT in text:
        defects.append("ISO-2022-JP character outside the known tables")
    return text + _REPLACEMENT if odd else text


def _decode_eucjp(data: bytes) -> Decoded:
    """euc-jp, falling back to the Windows variant (NEC extensions) through Shift_JIS."""
    try:
        return Decoded(data.decode("euc_jp"), "euc-jp")
    except UnicodeDecodeError:
        pass
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        b = data[i]
        if b < 0x80:
            out.append(b)
            i += 1
        elif b == 0x8E and i + 1 < n:  # half-width katakana
            out.append(data[i + 1])
            i += 2
        elif 0xA1 <= b <= 0xFE and i + 1 < n and 0xA1 <= data[i + 1] <= 0xFE:
            out += _jis_pair_to_sjis(b - 0x80, data[i + 1] - 0x80)
            i += 2
        else:
            out += b"?"
            i += 1
    text = bytes(out).decode("cp932", errors="replace")
    defects = ["undecodable bytes in euc-jp text"] if _REPLACEMENT in text else []
    return Decoded(text, "euc-jp", defects)


def _implausibility(text: str) -> int:
    """How unlike real text a decoding looks: mojibake lands in half-width kana and private use."""
    bad = 0
    for ch in text:
        o = ord(ch)
        if 0xFF61 <= o <= 0xFF9F or 0xE000 <= o <= 0xF8FF or (0x80 <= o < 0xA0):
            bad += 1
    return bad


def sniff(data: bytes) -> Decoded:
    """Decode bytes that carry no (usable) charset label."""
    if b"\x1b" in data and any(e in data for e in _ISO2022_ESCAPES):
        return decode_iso2022jp(data)
    try:
        return Decoded(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    candidates: list[Decoded] = []
    for codec, label in (("cp932", "cp932"), ("euc_jp", "euc-jp")):
        try:
            candidates.append(Decoded(data.decode(codec), label))
        except UnicodeDecodeError:
            continue
    if candidates:
        return min(candidates, key=lambda d: _implausibility(d.text))
    return Decoded(
        data.decode("utf-8", errors="replace"), "utf-8", ["undecodable bytes: charset unknown"]
    )


def decode_bytes(data: bytes, label: str | None) -> Decoded:
    """Decode ``data`` declared as ``label``; never raises, never drops a byte silently."""
    if not data:
        return Decoded("", normalize_charset(label) or "us-ascii")
    codec = normalize_charset(label)
    if codec is None:
        result = sniff(data)
        if label and label.strip():
            result.defects.insert(0, "unknown charset label")
        return result
    if codec == "iso-2022-jp":
        return decode_iso2022jp(data)
    if codec == "euc-jp":
        return _decode_eucjp(data)
    if codec in ("us-ascii", "utf-8"):
        # Mislabelled 8-bit text is common: a "us-ascii" body in cp932, a "utf-8" one in latin-1.
        try:
            return Decoded(data.decode("utf-8"), "utf-8")
        except UnicodeDecodeError:
            result = sniff(data)
            result.defects.insert(0, f"text is not valid {codec}")
            return result
    if b"\x1b" in data and codec == "cp932" and any(e in data for e in _ISO2022_ESCAPES):
        # Labelled Shift_JIS but sent as ISO-2022-JP: trust the bytes.
        result = decode_iso2022jp(data)
        result.defects.insert(0, "ISO-2022-JP text labelled as Shift_JIS")
        return result
    try:
        return Decoded(data.decode(codec), codec)
    except UnicodeDecodeError:
        try:
            text = data.decode(codec, errors="replace")
            return Decoded(text, codec, [f"undecodable bytes in {codec} text"])
        except (UnicodeError, LookupError):
            pass
    except (UnicodeError, LookupError):
        pass
    # Codecs such as idna or punycode fail in their own ways: read the bytes without them.
    result = sniff(data)
    result.defects.insert(0, f"text cannot be decoded as {codec}")
    return result


_FOLD = re.compile(r"\r?\n[ \t]+")
# A raw 8-bit header byte, as the email package hands it over (surrogate-escaped).
ESCAPED_BYTE = re.compile("[\udc80-\udcff]")
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_WS_BETWEEN_WORDS = re.compile(r"(\?=)\s+(=\?)")


def decode_base64(payload: str | bytes) -> tuple[bytes, bool]:
    """Base64 as mail clients send it; also says whether the data had to be repaired.

    Line breaks and stray characters are skipped, missing padding is supplied, and a message cut
    off mid-way keeps every whole byte it carried.
    """
    data = payload.encode("ascii", errors="ignore") if isinstance(payload, str) else payload
    try:
        return binascii.a2b_base64(data), False
    except binascii.Error:
        pass
    cleaned = re.sub(rb"[^A-Za-z0-9+/]", b"", data)
    # A lone trailing character carries fewer than 8 bits: it cannot be decoded, so drop it.
    if len(cleaned) % 4 == 1:
        cleaned = cleaned[:-1]
    cleaned += b"=" * (-len(cleaned) % 4)
    return binascii.a2b_base64(cleaned), True


def _b64(payload: str) -> bytes:
    return decode_base64(payload)[0]


_QP_ESCAPE = re.compile(rb"=([0-9A-Fa-f]{2})")


def _qp(payload: str) -> bytes:
    # The text may hold raw 8-bit bytes (surrogate-escaped) or characters a sender failed to
    # encode; keep them as UTF-8 bytes rather than fail.
    raw = payload.replace("_", " ").encode("utf-8", errors="surrogateescape")
    return _QP_ESCAPE.sub(lambda m: bytes((int(m.group(1), 16),)), raw)


def decode_header_value(value: str) -> Decoded:
    """Decode a header: RFC 2047 encoded-words (split mid-character too) and raw 8-bit bytes."""
    defects: list[str] = []
    if "\x00" in value:
        value = value.replace("\x00", "")
        defects.append("NUL byte in header")
    if not value.isascii() and ESCAPED_BYTE.search(value):
        # Raw 8-bit header bytes, surrogate-escaped by the email package.
        raw = value.encode("utf-8", errors="surrogateescape")
        sniffed = sniff(raw)
        value = sniffed.text
        defects.append("raw 8-bit bytes in header")
        defects.extend(sniffed.defects)
    if "=?" not in value:
        return Decoded(_unfold(value), "us-ascii", defects)
    value = _WS_BETWEEN_WORDS.sub(r"\1\2", _unfold(value))
    # Encoded words after whitespace removal may be adjacent; collapse runs sharing a charset
    # into one byte string before decoding so a character split across words survives.
    pieces: list[str] = []
    pos = 0
    run_charset: str | None = None
    run_bytes = bytearray()

    def flush() -> None:
        nonlocal run_charset
        if run_charset is not None:
            decoded = decode_bytes(bytes(run_bytes), run_charset)
            pieces.append(decoded.text)
            defects.extend(decoded.defects)
            run_bytes.clear()
            run_charset = None

    for m in _ENCODED_WORD.finditer(value):
        if m.start() > pos:
            flush()
            pieces.append(value[pos : m.start()])
        charset = m.group(1).split("*", 1)[0]  # RFC 2231 language suffix
        data = _b64(m.group(3)) if m.group(2) in "bB" else _qp(m.group(3))
        if run_charset is not None and run_charset.lower() != charset.lower():
            flush()
        run_charset = charset
        run_bytes.extend(data)
        pos = m.end()
    flush()
    pieces.append(value[pos:])
    return Decoded("".join(pieces), "mixed", _dedupe(defects))


def _unfold(value: str) -> str:
    if "\n" not in value and "\r" not in value:
        return value
    return _FOLD.sub(" ", value).replace("\r", "").replace("\n", " ")


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
