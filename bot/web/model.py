"""What the case-file pages show of a case, read from the database (interim: until the read
model of branch ``casefile`` is merged, messages are decoded here from the stored raw mail)."""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from mail.errors import ParseError
from mail.parse import parse_message
from storage import repo
from storage.models import AuditEvent, Case

RASTER = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def raster_type(data: bytes) -> str | None:
    """The image type ``data`` really is (PNG, JPEG, GIF, WebP by magic bytes), or None."""
    for magic, kind in RASTER:
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


@dataclass(frozen=True)
class Attachment:
    n: int
    name: str | None
    type: str
    size: int
    flagged: tuple[str, ...] = ()
    image: bool = False


@dataclass(frozen=True)
class Message:
    direction: str
    received_at: datetime
    sender: str
    subject: str
    text: str | None
    quoted: str
    disposition: str
    defects: tuple[str, ...]
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class CaseFile:
    case: Case
    addresses: list[str]
    messages: list[Message]
    events: list[AuditEvent]
    late: bool = False
    notes: list[AuditEvent] = field(default_factory=list)


@dataclass(frozen=True)
class Found:
    """A search result."""

    ref: str
    status: str
    received_at: datetime
    subject: str


@dataclass(frozen=True)
class FileBytes:
    case_id: int | None
    name: str | None
    data: bytes
    image_type: str | None


def _parts(raw: bytes) -> list[EmailMessage]:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return list(message.iter_attachments()) if message.is_multipart() else []


def load(engine: Engine, ref: str) -> CaseFile | None:
    from datetime import UTC

    with Session(engine, expire_on_commit=False) as session:
        found = repo.case_file(session, ref)
        if found is None:
            return None
        late = bool(
            found.case.id in repo.overdue_ids(session, datetime.now(UTC), [found.case.id or 0])
        )
    messages: list[Message] = []
    n = 0
    for m in found.messages:
        text: str | None = None
        quoted = ""
        attachments: list[Attachment] = []
        if m.raw is not None:
            try:
                parsed = parse_message(m.raw)
                text, quoted = (
                    parsed.newest_text,
                    "\n".join(t for t in (parsed.quoted_text, parsed.signature) if t),
                )
                for part in _parts(m.raw):
                    n += 1
                    data = part.get_payload(decode=True) or b""
                    assert isinstance(data, bytes)
                    attachments.append(
                        Attachment(
                            n,
                            part.get_filename(),
                            part.get_content_type(),
                            len(data),
                            image=raster_type(data) is not None,
                        )
                    )
            except ParseError:
                text = None
        messages.append(
            Message(
                m.direction,
                m.received_at,
                m.sender,
                m.subject,
                text,
                quoted,
                m.disposition,
                tuple(m.defects),
                tuple(attachments),
            )
        )
    notes = [e for e in found.events if e.action == "note"]
    return CaseFile(found.case, found.addresses, messages, found.events, late, notes)


def attachment(engine: Engine, ref: str, n: int) -> FileBytes | None:
    with Session(engine) as session:
        found = repo.case_file(session, ref)
        if found is None:
            return None
        seen = 0
        for m in found.messages:
            if m.raw is None:
                continue
            for part in _parts(m.raw):
                seen += 1
                if seen == n:
                    data = part.get_payload(decode=True) or b""
                    assert isinstance(data, bytes)
                    return FileBytes(found.case.id, part.get_filename(), data, raster_type(data))
    return None


def page_values(found: CaseFile) -> dict[str, Any]:
    """The values ``case.html.j2`` renders."""
    from bot.slack.blocks import INTENT_LABELS

    return {
        "case": found.case,
        "intents": ", ".join(INTENT_LABELS.get(i, i) for i in found.case.intents),
        "addresses": [a for a in found.addresses if a != found.case.requester],
        "late": found.late,
        "pauses": [],
        "others": [],
        "messages": found.messages,
        "inline": {a.n for m in found.messages for a in m.attachments if a.image},
        "drafts": [],
        "notes": [
            {"at": e.at, "actor": e.actor, "text": e.detail.get("text", "")} for e in found.notes
        ],
        "events": found.events,
    }
