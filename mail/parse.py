"""Parse raw RFC 5322 bytes into a ``ParsedMessage``: decoded headers, newest text, attachments.

The parser never raises on malformed content: what it cannot decode is kept (the raw bytes stay
with the caller) and named in ``defects``. Only input beyond ``Limits`` raises ``ParseError``.
"""

from __future__ import annotations

import base64
import email
import email.message
import email.utils
import hashlib
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email.errors import InvalidBase64LengthDefect
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import Compat32
from typing import Any

from mail.charset import ESCAPED_BYTE, decode_base64, decode_bytes, decode_header_value
from mail.errors import ParseError
from mail.html import html_to_text
from mail.machine import machine_signals
from mail.newest import split_newest


@dataclass(frozen=True)
class Limits:
    """Bounds that keep one message from taking unbounded time or memory."""

    max_bytes: int = 64 * 1024 * 1024
    max_parts: int = 500
    max_depth: int = 120
    max_text_chars: int = 2_000_000  # text kept per message
    max_newest_chars: int = 100_000  # newest text handed to the classifier
    max_attached_text_chars: int = 20_000  # of plain-text files attached (a letter), in all


@dataclass(frozen=True)
class Address:
    name: str
    address: str

    def __str__(self) -> str:
        return email.utils.formataddr((self.name, self.address)) if self.name else self.address


@dataclass(frozen=True)
class Attachment:
    filename: str | None
    content_type: str
    size: int


@dataclass(frozen=True)
class ParsedMessage:
    """Everything the desk needs to know about one message, as plain data."""

    message_id: str
    message_id_generated: bool
    sha256: str
    size: int
    subject: str
    sender: Address | None
    sender_doubtful: bool  # several From: addresses, or a phrase that reads like an address
    reply_to: tuple[Address, ...]
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    date: datetime | None
    in_reply_to: str | None
    references: tuple[str, ...]
    headers: tuple[tuple[str, str], ...]
    text: str
    newest_text: str
    quoted_text: str
    signature: str
    html_only: bool
    attachments: tuple[Attachment, ...]
    language: str
    is_machine: bool
    machine_signals: tuple[str, ...]
    is_bounce: bool
    original_message_id: str | None
    is_dsn: bool = False  # a multipart/report of report-type delivery-status (RFC 3464)
    final_recipients: tuple[str, ...] = ()  # of a DSN's delivery-status part, lower-cased
    defects: tuple[str, ...] = field(default=())
    # The text of plain-text files attached (a letter written in a text editor and attached to
    # "see the attached letter"), up to ``Limits.max_attached_text_chars``.
    attached_text: str = ""
    # The first mail attached whole (message/rfc822: a mail forwarded as an attachment) as a
    # forward's body reads: a "Forwarded message" line, its subject and its text, up to
    # ``Limits.max_attached_text_chars``; empty for reports (a bounce's copy of the original).
    forwarded_text: str = ""

    def header(self, name: str) -> str | None:
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return None


class _RawHeaders(Compat32):
    """compat32, but a header comes back as the text the parser read, 8-bit bytes included.

    compat32 hands out an ``email.header.Header`` for a header with raw 8-bit bytes, and that
    object turns every such byte into U+FFFD; ``decode_header_value`` needs the bytes to
    recognise a raw UTF-8 or Shift_JIS subject, name or filename.
    """

    def header_fetch_parse(self, name: str, value: str) -> str:
        return value


_POLICY = _RawHeaders()

_MSGID = re.compile(r"<([^<>\s]+)>")
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_JA_CHAR = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff66-\uff9f]+")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def detect_language(text: str) -> str:
    """``ja`` when Japanese script carries the text, else ``en``."""
    sample = text[:20_000]
    if sample.isascii():
        return "en"
    ja = len(sample) - len(_JA_CHAR.sub("", sample))
    words = len(_LATIN_WORD.findall(sample))
    # One Japanese character carries about as much as one short English word, so a Japanese
    # name in an English sentence does not make it Japanese.
    return "ja" if ja and ja >= words else "en"


def _first_msgid(value: str | None) -> str | None:
    if not value:
        return None
    m = _MSGID.search(value)
    if m:
        return m.group(1)
    value = value.strip()
    return value.strip("<>") or None if value and " " not in value else None


def _addresses(raw_values: list[str], defects: list[str]) -> tuple[Address, ...]:
    result: list[Address] = []
    for raw in raw_values:
        # Parse on the undecoded value (encoded-words are ASCII, so commas inside names are safe),
        # then decode each display name.
        clean = raw.replace("\x00", "")
        if not clean.isascii() and ESCAPED_BYTE.search(clean):
            clean = decode_header_value(clean).text
        try:
            pairs = email.utils.getaddresses([clean])
        except Exception:  # the stdlib parser has raised on pathological input before
            defects.append("unparseable address header")
            continue
        for name, addr in pairs:
            if not addr and not name:
                continue
            decoded = decode_header_value(name).text if name else ""
            address = addr.strip()
            if "@" in address:
                local, _, domain = address.rpartition("@")
                address = f"{local}@{domain.lower()}"
            result.append(Address(decoded.strip(), address))
    return tuple(result)


def _walk(msg: Message, depth: int, limits: Limits, out: list[tuple[Message, int]]) -> None:
    """Collect (part, depth) iteratively-bounded; deeper structure is listed as a defect."""
    stack: list[tuple[Message, int]] = [(msg, depth)]
    while stack:
        part, d = stack.pop()
        if len(out) >= limits.max_parts:
            raise _TooManyParts
        out.append((part, d))
        # Attached messages and reports are not descended into: their text is not this message's.
        if part.get_content_maintype() == "multipart" and d < limits.max_depth:
            payload = _payload(part)
            if isinstance(payload, list):
                for child in reversed(payload):
                    if isinstance(child, Message):
                        stack.append((child, d + 1))


class _TooManyParts(Exception):
    pass


def _filename(part: Message, defects: list[str]) -> str | None:
    raw = part.get_param("filename", header="content-disposition")
    if raw is None:
        raw = part.get_param("name", header="content-type")
    if raw is None:
        return None
    if isinstance(raw, tuple):  # RFC 2231: (charset, language, percent-decoded latin-1 text)
        charset, _lang, value = raw
        data = value.encode("latin-1", errors="surrogateescape")
        decoded = decode_bytes(data, charset or "utf-8")
        defects.extend(decoded.defects)
        return decoded.text
    value = email.utils.unquote(str(raw))
    decoded_header = decode_header_value(value)
    defects.extend(decoded_header.defects)
    return decoded_header.text


def _payload(part: Message) -> Any:
    """The parsed payload: a list of sub-parts, or the text with 8-bit bytes surrogate-escaped."""
    try:
        return part.get_payload()
    except (UnicodeError, LookupError):
        # compat32 decodes 8-bit text with the declared charset here, and some "charsets" raise.
        data = part.get_payload(decode=True)
        return data.decode("ascii", errors="surrogateescape") if isinstance(data, bytes) else ""


def _payload_bytes(part: Message, defects: list[str]) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        defects.append("undecodable transfer encoding")
        data = None
    if not isinstance(data, bytes):
        raw = _payload(part)
        return raw.encode("utf-8", errors="surrogateescape") if isinstance(raw, str) else b""
    if any(isinstance(d, InvalidBase64LengthDefect) for d in part.defects):
        # The stdlib hands back the undecoded base64 text when a message was cut off mid-way.
        defects.append("damaged base64 content")
        data = decode_base64(data)[0]
    return data


# Large base64 content (attachments) is set aside before the stdlib parser sees a message: it
# would hold every line of it as a string and decode it whole just to learn its size, hundreds of
# megabytes for one large mail. A run of base64 lines this long, outside a text part, becomes one
# line whose content is a marker; the part's size is still reported as the content's own.
_SLIM_ABOVE = 1024 * 1024
# One base64 line, matched only at a line start and without backtracking (possessive), so a
# megabyte-long line costs one look, not one per character; runs are joined below.
_BASE64_LINE = re.compile(rb"(?m)^[A-Za-z0-9+/]{16,998}+={0,2}+\r?\n")
_RUN_LINES = 2048
_PART_HEADERS = re.compile(rb"(?i)content-type:\s*text/")


def _base64_runs(raw: bytes) -> Iterator[tuple[int, int]]:
    """Where ``_RUN_LINES`` or more base64 lines follow one another: (start, end) offsets."""
    start = end = lines = 0
    for line in _BASE64_LINE.finditer(raw):
        if line.start() != end or not lines:
            if lines >= _RUN_LINES:
                yield start, end
            start, lines = line.start(), 0
        end = line.end()
        lines += 1
    if lines >= _RUN_LINES:
        yield start, end


@dataclass(frozen=True)
class _SetAside:
    """A base64 run ``_slim`` took out: its decoded size, and where it sits in the raw mail."""

    size: int
    start: int
    end: int


def _slim(raw: bytes) -> tuple[bytes, dict[bytes, _SetAside]]:
    """``raw`` with its long base64 runs outside text parts replaced by markers, and each
    marker's decoded content (what ``get_payload(decode=True)`` gives) -> the run it stands for."""
    if len(raw) < _SLIM_ABOVE:
        return raw, {}
    pieces: list[bytes] = []
    runs: dict[bytes, _SetAside] = {}
    at = 0
    for start, end in _base64_runs(raw):
        before = raw[max(0, start - 4096) : start]
        if _PART_HEADERS.search(before[before.rfind(b"\n--") + 1 :]):
            continue  # the text of the message, base64-encoded: it is read as usual
        chars = end - start - raw.count(b"\n", start, end) - raw.count(b"\r", start, end)
        marker = f"privacy-desk: {len(runs)} set aside".encode()
        size = chars * 3 // 4 - raw.count(b"=", max(start, end - 4), end)
        runs[marker] = _SetAside(size, start, end)
        pieces += [raw[at:start], base64.b64encode(marker), b"\r\n"]
        at = end
    if not runs:
        return raw, {}
    pieces.append(raw[at:])
    return b"".join(pieces), runs


@dataclass(frozen=True)
class Envelope:
    """Who sent a message and under which Message-ID, read from its header block alone."""

    message_id: str | None
    sender: Address | None
    subject: str


_PEEK_BYTES = 256 * 1024  # a header block longer than this is not read for a quarantined message


def peek_envelope(raw: bytes) -> Envelope:
    """The sender, Message-ID and subject of a message that could not be read as a whole (too
    large, broken): from its header block only, bounded in size; never raises."""
    end = _HEADER_END.search(raw, 0, _PEEK_BYTES)
    head = raw[: end.start() if end else min(len(raw), _PEEK_BYTES)].replace(b"\x00", b"")
    try:
        msg = email.message_from_bytes(head + b"\r\n\r\n", policy=_POLICY)
        senders = _addresses([str(v) for v in msg.get_all("from", [])], [])
        subject = decode_header_value(str(msg.get("subject", ""))).text.strip()
        return Envelope(
            _first_msgid(msg.get("message-id")), senders[0] if senders else None, subject
        )
    except Exception:  # a quarantined message is kept whatever its headers hold
        return Envelope(None, None, "")


def _read(raw: bytes, defects: list[str]) -> tuple[Message, dict[bytes, _SetAside]]:
    """The parsed structure of ``raw`` (long base64 set aside, NULs out of the header block)."""
    raw, slimmed = _slim(raw)
    end = _HEADER_END.search(raw)
    head_end = end.start() if end else len(raw)
    if b"\x00" in raw[:head_end]:
        # Only the header block is cleaned: a NUL in the body may be part of binary content.
        defects.append("NUL byte in headers")
        raw = raw[:head_end].replace(b"\x00", b"") + raw[head_end:]
    try:
        return email.message_from_bytes(raw, policy=_POLICY), slimmed
    except RecursionError:
        # The stdlib parser recurses once per level of MIME nesting.
        raise ParseError("MIME structure nested too deeply to parse") from None


def _parts(msg: Message, limits: Limits, defects: list[str]) -> list[tuple[Message, int]]:
    parts: list[tuple[Message, int]] = []
    try:
        _walk(msg, 0, limits, parts)
    except _TooManyParts:
        defects.append(f"more than {limits.max_parts} MIME parts: the rest not read")
    if any(d >= limits.max_depth for _, d in parts):
        defects.append(f"MIME nesting deeper than {limits.max_depth}: inner parts not read")
    return parts


_REPORT, _TEXT, _EMBEDDED, _FILE = "report", "text", "embedded", "file"


def _leaves(
    parts: list[tuple[Message, int]], defects: list[str]
) -> Iterator[tuple[str, Message, str | None]]:
    """What each non-multipart part is, with its file name: the one walk that decides which
    parts are the text and which are attachments (``_EMBEDDED`` messages and ``_FILE``s, in
    the order ``ParsedMessage.attachments`` lists them), for parsing and for
    :func:`attachment_bytes` alike."""
    for part, _depth in parts:
        ctype = part.get_content_type()
        if ctype in ("message/delivery-status", "message/disposition-notification"):
            yield _REPORT, part, None
            continue
        if part.get_content_maintype() == "multipart":
            continue
        if ctype == "message/rfc822" or (ctype.startswith("message/") and part.is_multipart()):
            yield _EMBEDDED, part, _filename(part, defects)
            continue
        disposition = (part.get("content-disposition") or "").split(";", 1)[0].strip().lower()
        filename = _filename(part, defects)
        is_text = ctype in ("text/plain", "text/html") and disposition != "attachment"
        if is_text and not (filename and disposition == "inline" and ctype != "text/plain"):
            yield _TEXT, part, filename
        else:
            yield _FILE, part, filename


def iter_attachment_bytes(raw: bytes, *, limits: Limits | None = None) -> Iterator[bytes]:
    """The decoded content of each of ``parse_message(raw).attachments`` in turn (an attached
    message as its bytes), one at a time. Content ``_slim`` set aside is decoded from the raw
    mail itself, so a large attachment is read once, not parsed; nothing for a message beyond
    ``limits``."""
    limits = limits or Limits()
    if len(raw) > limits.max_bytes:
        return
    defects: list[str] = []
    try:
        msg, slimmed = _read(raw, defects)
    except ParseError:
        return
    for kind, part, _ in _leaves(_parts(msg, limits, defects), defects):
        if kind == _EMBEDDED:
            yield _embedded_bytes(part)
        elif kind == _FILE:
            data = _payload_bytes(part, defects)
            run = slimmed.get(data)
            yield base64.b64decode(raw[run.start : run.end]) if run else data


def attachment_bytes(raw: bytes, index: int, *, limits: Limits | None = None) -> bytes | None:
    """The decoded content of ``parse_message(raw).attachments[index]``, or None when the
    message has no such attachment."""
    if index < 0:
        return None
    return next(itertools.islice(iter_attachment_bytes(raw, limits=limits), index, None), None)


def parse_message(raw: bytes, *, limits: Limits | None = None) -> ParsedMessage:
    """Parse one message; raises ``ParseError`` only when it exceeds ``limits``."""
    limits = limits or Limits()
    if len(raw) > limits.max_bytes:
        raise ParseError(f"message is {len(raw)} bytes, over the {limits.max_bytes}-byte limit")
    defects: list[str] = []
    size = len(raw)
    sha = hashlib.sha256(raw).hexdigest()
    msg, slimmed = _read(raw, defects)
    for defect in msg.defects:
        defects.append(type(defect).__name__)

    headers: list[tuple[str, str]] = []
    by_name: dict[str, str] = {}
    raw_by_name: dict[str, list[str]] = {}
    for key, value in msg.items():
        raw_value = str(value)
        decoded = decode_header_value(raw_value)
        defects.extend(decoded.defects)
        name = key.replace("\x00", "")
        headers.append((name, decoded.text.strip()))
        by_name.setdefault(name.lower(), decoded.text.strip())
        raw_by_name.setdefault(name.lower(), []).append(raw_value)

    def raw_all(name: str) -> list[str]:
        return raw_by_name.get(name, [])

    sender_list = _addresses(raw_all("from"), defects) or _addresses(raw_all("sender"), defects)
    sender = sender_list[0] if sender_list else None
    # Several From: addresses, or a display phrase that reads like an address ("victim@x
    # <mallory@y>", which the parser splits into two): nobody can say who wrote it.
    sender_doubtful = len(sender_list) > 1 or any(ch in a.name for a in sender_list for ch in "@<>")
    if sender is None:
        defects.append("no sender address")

    date: datetime | None = None
    if "date" in by_name:
        try:
            date = email.utils.parsedate_to_datetime(by_name["date"])
        except (TypeError, ValueError, IndexError, OverflowError):
            defects.append("unparseable Date header")

    message_id = _first_msgid(by_name.get("message-id"))
    generated = message_id is None
    if message_id is None:
        message_id = f"sha256-{sha}@privacy-desk.invalid"

    references = tuple(_MSGID.findall(by_name.get("references", "")))
    in_reply_to = _first_msgid(by_name.get("in-reply-to"))

    parts = _parts(msg, limits, defects)
    plain: list[str] = []
    html: list[str] = []
    attachments: list[Attachment] = []
    attached: list[str] = []
    forwarded = ""
    original_id: str | None = None
    is_report = msg.get_content_type() == "multipart/report"
    # A DSN (RFC 3464): the whole message is a report of type delivery-status.
    report_type = msg.get_param("report-type")
    is_dsn = is_report and isinstance(report_type, str) and report_type.lower() == "delivery-status"
    final_recipients: list[str] = []
    for kind, part, filename in _leaves(parts, defects):
        ctype = part.get_content_type()
        if ctype in ("message/rfc822", "text/rfc822-headers") and is_report and not original_id:
            original_id = _embedded_message_id(part)
        if kind == _REPORT:
            original_id = original_id or _report_original_id(part)
            if ctype == "message/delivery-status" and is_dsn:
                final_recipients.extend(_final_recipients(part))
        elif kind == _TEXT:
            decoded = decode_bytes(_payload_bytes(part, defects), part.get_content_charset())
            defects.extend(decoded.defects)
            (plain if ctype == "text/plain" else html).append(decoded.text)
        elif kind == _EMBEDDED:
            attachments.append(Attachment(filename, ctype, _embedded_size(part)))
            if not is_report and not forwarded:
                forwarded = _embedded_text(part, limits)
        else:
            data = _payload_bytes(part, defects)
            run = slimmed.get(data)
            attachments.append(Attachment(filename, ctype, run.size if run else len(data)))
            room = limits.max_attached_text_chars - sum(map(len, attached))
            if ctype == "text/plain" and run is None and room > 0:
                # Only what can be kept is decoded (at most 4 bytes a character), however large
                # the file: a 50 MB log attached as text costs no more than a letter.
                letter = decode_bytes(_cut(data, room * 4), part.get_content_charset())
                attached.append(letter.text.replace("\r\n", "\n")[:room])

    html_only = not plain and bool(html)
    quoted_html = ""
    if plain:
        text = "\n\n".join(t for t in plain if t)
    elif html:
        rendered = [html_to_text(h) for h in html]
        text = "\n\n".join(r[0] for r in rendered if r[0])
        quoted_html = "\n\n".join(r[1] for r in rendered if r[1])
    else:
        text = ""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if len(text) > limits.max_text_chars:
        defects.append(f"text longer than {limits.max_text_chars} characters: truncated")
        text = text[: limits.max_text_chars]

    split = split_newest(text)
    newest = split.newest[: limits.max_newest_chars]
    quoted = "\n\n".join(q for q in (split.quoted, quoted_html) if q)
    subject = by_name.get("subject", "")

    signals = machine_signals(by_name, sender.address if sender else None)
    is_bounce = "delivery-report" in signals or (
        "machine-sender" in signals
        and bool(re.search(r"undeliver|delivery status|failure notice|returned mail|"
                           r"配送|配信(?:エラー|失敗)|届きませんでした|不達", subject, re.I))
    )  # fmt: skip

    return ParsedMessage(
        message_id=message_id,
        message_id_generated=generated,
        sha256=sha,
        size=size,
        subject=subject,
        sender=sender,
        sender_doubtful=sender_doubtful,
        reply_to=_addresses(raw_all("reply-to"), defects),
        to=_addresses(raw_all("to"), defects),
        cc=_addresses(raw_all("cc"), defects),
        date=date,
        in_reply_to=in_reply_to,
        references=references,
        headers=tuple(headers),
        text=text,
        newest_text=newest,
        quoted_text=quoted,
        signature=split.signature,
        html_only=html_only,
        attachments=tuple(attachments),
        language=detect_language(newest or subject or text),
        is_machine=bool(signals),
        machine_signals=tuple(signals),
        is_bounce=is_bounce,
        original_message_id=original_id,
        is_dsn=is_dsn,
        final_recipients=tuple(dict.fromkeys(final_recipients)),
        defects=tuple(dict.fromkeys(defects)),
        attached_text="\n\n".join(t for t in attached if t.strip()),
        forwarded_text=forwarded,
    )


def _embedded_bytes(part: Message) -> bytes:
    """An attached message as bytes, as near as the parsed structure can give them back."""
    payload = _payload(part)
    inner = payload[0] if isinstance(payload, list) and payload else part
    try:
        if isinstance(inner, Message):
            return inner.as_bytes()
        return str(inner).encode("utf-8", errors="surrogateescape")
    except (RecursionError, LookupError, UnicodeError, ValueError):
        return b""


def _cut(data: bytes, size: int) -> bytes:
    """At most ``size`` bytes of ``data``, cut where no character is split: after the last line
    break in them (ASCII in every charset mail uses), else before a UTF-8 continuation byte. A
    character cut in two would make the charset look wrong and the whole text decode as another."""
    if len(data) <= size:
        return data
    head = data[:size]
    line_end = head.rfind(b"\n")
    if line_end >= size // 2:
        return head[: line_end + 1]
    end = size
    while end > 0 and 0x80 <= head[end - 1] <= 0xBF:
        end -= 1
    if end > 0 and head[end - 1] >= 0xC0:
        end -= 1  # the lead byte of the character cut
    return head[:end]


def _embedded_message(part: Message) -> Message | None:
    """The message a message/rfc822 part holds, parsed or (a transfer-encoded one) parsed now."""
    payload = _payload(part)
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return payload[0]
    try:
        data = part.get_payload(decode=True)
    except Exception:
        return None
    if not isinstance(data, bytes) or not data.strip():
        return None
    return email.message_from_bytes(data, policy=_POLICY)


def _embedded_text(part: Message, limits: Limits) -> str:
    """An attached message's subject and text as a forward's body (``forwarded_text``)."""
    inner = _embedded_message(part)
    if inner is None:
        return ""
    scratch: list[str] = []  # the attached mail's defects are its own, not this message's
    plain: list[str] = []
    html: list[str] = []
    room = limits.max_attached_text_chars * 4  # bytes: at most 4 a character kept
    for kind, leaf, _ in _leaves(_parts(inner, limits, scratch), scratch):
        if kind == _TEXT:
            # Only what can be kept is decoded, however large the forwarded mail's text.
            data = _cut(_payload_bytes(leaf, scratch), room)
            decoded = decode_bytes(data, leaf.get_content_charset())
            (plain if leaf.get_content_type() == "text/plain" else html).append(decoded.text)
    text = "\n\n".join(t for t in plain if t) or "\n\n".join(
        rendered for rendered, _ in map(html_to_text, html) if rendered
    )
    if not text.strip():
        return ""
    subject = decode_header_value(str(inner.get("subject", ""))).text.strip()
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return f"---------- Forwarded message ---------\nSubject: {subject}\n\n{text}"[
        : limits.max_attached_text_chars
    ]


def _embedded_size(part: Message) -> int:
    """Bytes of an attached message, as near as the parsed structure can tell."""
    return len(_embedded_bytes(part))


def _embedded_message_id(part: Message) -> str | None:
    payload = _payload(part)
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return _first_msgid(payload[0].get("message-id"))
    if isinstance(payload, str):
        headers = BytesHeaderParser(policy=_POLICY).parsebytes(
            payload.encode("utf-8", errors="surrogateescape")
        )
        return _first_msgid(headers.get("message-id"))
    return None


def _report_original_id(part: Message) -> str | None:
    for block in _status_blocks(part):
        for name in ("original-message-id", "x-original-message-id"):
            found = _first_msgid(block.get(name))
            if found:
                return found
    return None


def _final_recipients(part: Message) -> list[str]:
    """The ``Final-Recipient`` addresses of a delivery-status part (RFC 3464, ``rfc822;``
    type only), lower-cased."""
    found: list[str] = []
    for block in _status_blocks(part):
        for value in block.get_all("final-recipient") or []:
            kind, _, address = str(value).partition(";")
            address = address.strip().strip("<>").strip().lower()
            if kind.strip().lower() == "rfc822" and "@" in address:
                found.append(address)
    return found


def _status_blocks(part: Message) -> list[Message]:
    """The header blocks of a delivery-status or disposition-notification part."""
    payload = _payload(part)
    blocks: list[Message] = []
    if isinstance(payload, list):
        blocks = [p for p in payload if isinstance(p, Message)]
    elif isinstance(payload, str):
        blocks = [
            BytesHeaderParser(policy=_POLICY).parsebytes(payload.encode("utf-8", "surrogateescape"))
        ]
    return blocks
