"""Compose the mail a requester receives from the desk: threaded, marked as ours, 7-bit clean.

Everything here is pure: values in, an ``EmailMessage`` (or its bytes) out. Header injection is
impossible by construction: control characters in any text value become a space before the
email package sees it, addresses must be one plain ``local@domain``, and message ids must look
like message ids (a requester's malformed ones are dropped, never copied).
"""

from __future__ import annotations

import email
import hashlib
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import Policy
from email.utils import format_datetime

# SMTP's CRLF and 78-column folding, with every body part base64, quoted-printable or 7bit.
POLICY = policy.SMTP.clone(cte_type="7bit")

LOOP_HEADER = "X-Privacy-Desk-Loop"
MAX_REFERENCES = 20  # the thread's root and the newest ids are kept (RFC 5322 3.6.4 advice)
MAX_LINE = 998  # octets before CRLF (RFC 5322 2.1.1)

# C0 and C1 controls (CR and LF among them), DEL, and the Unicode line and paragraph separators.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_ATEXT = r"A-Za-z0-9!#$%&'*+/=?^_`{|}~\-"
# Dots anywhere: Japanese mobile carriers issued "taro..hanako.@docomo.ne.jp" style addresses.
_LOCAL = re.compile(rf"[{_ATEXT}.]{{1,64}}")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_ID_PART = re.compile(rf"[{_ATEXT}.]+")
_MIME_TYPE = re.compile(
    r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}"
)


class InvalidAddress(ValueError):
    """A value given as a mail address is not exactly one valid ``local@domain``.

    The message names the field, never the value: addresses are personal data and errors are
    logged.
    """

    def __init__(self, field: str) -> None:
        super().__init__(f"{field} is not a single valid mail address (local@domain)")
        self.field = field


@dataclass(frozen=True)
class Attachment:
    filename: str
    data: bytes
    mime_type: str = "application/octet-stream"


def clean_text(value: str) -> str:
    """One line of header text: every run of control characters becomes one space, and no
    white space at the ends."""
    return _CONTROL.sub(" ", value).strip()


def _domain(value: str, field: str) -> str:
    try:
        ascii_domain = value.encode("idna").decode("ascii") if not value.isascii() else value
    except UnicodeError:
        raise InvalidAddress(field) from None
    if len(ascii_domain) > 253 or not _DOMAIN.fullmatch(ascii_domain):
        raise InvalidAddress(field)
    return ascii_domain.lower()


def check_address(value: str, field: str = "address") -> str:
    """``value`` as one ASCII ``local@domain`` (an internationalised domain in its ``xn--``
    form), or ``InvalidAddress``: no display name, no list, no control characters."""
    local, at, domain = value.strip(" ").rpartition("@")
    if not at or not _LOCAL.fullmatch(local):
        raise InvalidAddress(field)
    return f"{local}@{_domain(domain, field)}"


def _msg_id(value: str) -> str | None:
    """``<left@right>`` for a message id written with or without brackets, else None.

    Ids in the reserved ``.invalid`` domain are stand-ins made up for mail that had none
    (``mail.parse`` does this): a reply cannot thread under them.
    """
    text = value.strip().removeprefix("<").removesuffix(">")
    left, at, right = text.rpartition("@")
    if not at or len(text) > 250 or not _ID_PART.fullmatch(left):
        return None
    if not _ID_PART.fullmatch(right) or right.lower().endswith(".invalid"):
        return None
    return f"<{left}@{right}>"


def thread_ids(in_reply_to: str | None, references: Iterable[str]) -> list[str]:
    """The References of a reply: the original's References then its Message-ID, valid ids
    only, each once, at most ``MAX_REFERENCES`` (the root and the newest are kept)."""
    ids = [_msg_id(v) for v in (*references, *([in_reply_to] if in_reply_to else []))]
    unique = list(dict.fromkeys(i for i in ids if i is not None))
    if len(unique) > MAX_REFERENCES:
        unique = [unique[0], *unique[-(MAX_REFERENCES - 1) :]]
    return unique


def make_message_id(domain: str) -> str:
    """A new Message-ID of ours: 128 random bits at ``domain``, so nobody who has seen one of our
    mails can tell the next (DESIGN rule 7). Stored with the outbox row that carries it."""
    ascii_domain = _domain(domain, "domain")
    return f"<pd.{secrets.token_hex(16)}@{ascii_domain}>"


def subject_with_reference(subject: str, case_ref: str) -> str:
    """``subject`` with ``[PD-…]`` at its end unless it already names the case."""
    subject, ref = clean_text(subject), clean_text(case_ref)
    if not ref or ref.lower() in subject.lower():
        return subject
    return f"{subject} [{ref}]" if subject else f"[{ref}]"


class _Folded(str):
    """A header whose non-ASCII text we encode and fold ourselves.

    The email package's own folder can drop the space between two encoded words (Python 3.11:
    "ࠀࠀ ¡" read back as "ࠀࠀ¡"); compat32's ``Header`` puts every character, spaces included,
    inside the encoded words. ``tail`` (" <address>") follows the words as it is.
    """

    name: str
    words: str
    tail: str

    def __new__(cls, name: str, words: str, tail: str = "") -> _Folded:
        self = super().__new__(cls, f"{words}{tail}")
        self.name, self.words, self.tail = name, words, tail
        return self

    def fold(self, *, policy: Policy) -> str:
        width = policy.max_line_length or 78
        text = Header(self.words, "utf-8", header_name=self.name).encode(
            linesep=policy.linesep, maxlinelen=width
        )
        if len(text.rsplit(policy.linesep, 1)[-1]) + len(self.tail) > width:
            text += policy.linesep
        return f"{self.name}: {text}{self.tail}{policy.linesep}"


class _Wrapped(str):
    """An ASCII header folded at its spaces by us: the email package's folder may break the
    line right after ``Subject:``, and a reader then sees the value start with a space."""

    name: str

    def __new__(cls, name: str, text: str) -> _Wrapped:
        self = super().__new__(cls, text)
        self.name = name
        return self

    def fold(self, *, policy: Policy) -> str:
        width = policy.max_line_length or 78
        lines, line = [], f"{self.name}:"
        for number, word in enumerate(str(self).split(" ")):
            if number and len(line) + 1 + len(word) > width and line.strip():
                lines.append(line)
                line = ""
            line = f"{line} {word}"
        lines.append(line)
        return policy.linesep.join(lines) + policy.linesep


def _mailbox(header: str, address: str, name: str | None, field: str) -> Address | _Folded:
    local, _, domain = check_address(address, field).rpartition("@")
    display = clean_text(name or "")
    # A plain phrase loses runs of spaces on reading (RFC 5322 folds them to one): such a name
    # is encoded like a non-ASCII one, which keeps every character.
    if display.isascii() and "=?" not in display and "  " not in display:
        return Address(display_name=display, username=local, domain=domain)
    return _Folded(header, display, f" <{Address(username=local, domain=domain).addr_spec}>")


def _unstructured(header: str, text: str) -> str:
    return _Wrapped(header, text) if text.isascii() and "=?" not in text else _Folded(header, text)


def _filename(name: str) -> str:
    cleaned = clean_text(name).replace("/", "_").replace("\\", "_").lstrip(".")
    return cleaned or "attachment"


def compose(
    *,
    from_address: str,
    from_name: str | None = None,
    to_address: str,
    to_name: str | None = None,
    subject: str,
    text: str,
    html: str | None = None,
    case_ref: str,
    message_id: str,
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    attachments: Sequence[Attachment] = (),
    loop_id: str | None = None,
    date: datetime | None = None,
) -> EmailMessage:
    """The reply to a requester, ready for ``as_bytes``.

    ``message_id`` is ours (``make_message_id``); ``in_reply_to`` and ``references`` are the
    requester's Message-ID and References, with or without angle brackets. ``loop_id`` marks
    the mail as the desk's (``X-Privacy-Desk-Loop``; the from address by default). Raises
    ``InvalidAddress`` for a bad address and ``ValueError`` for a bad message id, MIME type or
    naive date.
    """
    own_id = _msg_id(message_id)
    if own_id is None:
        raise ValueError("message_id is not a message id (<left@domain>)")
    when = date or datetime.now(UTC)
    if when.tzinfo is None:
        raise ValueError("date needs a time zone")
    msg = EmailMessage(policy=POLICY)
    msg["Date"] = format_datetime(when)
    msg["From"] = _mailbox("From", from_address, from_name, "from_address")
    msg["To"] = _mailbox("To", to_address, to_name, "to_address")
    msg["Subject"] = _unstructured("Subject", subject_with_reference(subject, case_ref))
    msg["Message-ID"] = own_id
    parent = _msg_id(in_reply_to) if in_reply_to else None
    if parent:
        msg["In-Reply-To"] = parent
    thread = thread_ids(in_reply_to, references)
    if thread:
        msg["References"] = " ".join(thread)
    msg["Auto-Submitted"] = "auto-replied"
    msg["X-Auto-Response-Suppress"] = "All"
    msg[LOOP_HEADER] = clean_text(loop_id) if loop_id else check_address(from_address, "from")
    msg["MIME-Version"] = "1.0"
    msg.set_content(_lines(text), subtype="plain", charset="utf-8")
    if html is not None:
        msg.add_alternative(_lines(html), subtype="html", charset="utf-8")
    for item in attachments:
        if not _MIME_TYPE.fullmatch(item.mime_type):
            raise ValueError("attachment mime_type must be type/subtype")
        maintype, _, subtype = item.mime_type.lower().partition("/")
        # The name as RFC 2231 parameters (``filename*0*=utf-8''…`` for Japanese), in the
        # disposition and, for mail readers that look only there, the type's ``name``; the bytes
        # base64, whatever the type, so they arrive exactly as given.
        name = _filename(item.filename)
        msg.add_attachment(
            item.data,
            maintype=maintype,
            subtype=subtype,
            cte="base64",
            filename=name,
            params={"name": name},
        )
    parts = list(msg.walk())
    for part in parts[1:]:  # the email package repeats MIME-Version in parts it makes
        del part["MIME-Version"]
    # Boundaries from our own id rather than random ones, so the same input gives the same
    # bytes; a boundary must not occur in any part (a 7bit text could hold one on purpose).
    payloads = "".join(str(p.get_payload()) for p in parts if not p.is_multipart())
    salt = 0
    while f"pd-{(stem := _boundary_stem(own_id, salt))}" in payloads:
        salt += 1
    for number, part in enumerate(parts):
        if part.is_multipart():
            part.set_boundary(f"pd-{stem}-{number}")
    return msg


def _boundary_stem(message_id: str, salt: int) -> str:
    return hashlib.sha256(f"{message_id}\0{salt}".encode()).hexdigest()[:24]


def _lines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def redacted(raw: bytes, pattern: re.Pattern[str], replacement: str) -> bytes:
    """``raw`` (a mail of ours) with every match of ``pattern`` in its text parts replaced: what
    the desk keeps of a mail whose secret (a one-time code) must not outlive its sending."""
    msg = email.message_from_bytes(raw, _class=EmailMessage, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    for part in msg.walk():
        if part.get_content_maintype() != "text" or part.is_attachment():
            continue
        assert isinstance(part, EmailMessage)
        text = part.get_content()
        if isinstance(text, str) and pattern.search(text):
            part.set_content(
                pattern.sub(replacement, text), subtype=part.get_content_subtype(), charset="utf-8"
            )
    return as_bytes(msg)


def as_bytes(msg: EmailMessage) -> bytes:
    """The message on the wire: CRLF line ends, 7-bit, no line over 998 octets."""
    data = msg.as_bytes(policy=POLICY)
    if not data.isascii() or any(len(line) > MAX_LINE for line in data.split(b"\r\n")):
        raise ValueError("the message is not 7-bit clean with lines of at most 998 octets")
    return data
