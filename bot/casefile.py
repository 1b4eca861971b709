"""One case's whole file as staff read it — facts, every message's decoded text, attachments,
drafts, notes, pauses, verification and the audit trail — as frozen plain data, for the ``case``
command and the case-file page alike; and one attachment's bytes.

Text comes from the stored raw mail (decrypted by ``storage.crypto`` when ``PD_RAW_KEYS`` is
set), decoded as ``mail.parse`` decodes it for intake, so Japanese reads exactly as it was sent.
Attachments are numbered 1.. across the case: messages in the order of the file, then each
message's attachments in MIME order (``ParsedMessage.attachments``). A message whose raw mail
was purged has neither text nor attachments, and says so (``raw_kept``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from handlers import attachments as rules
from handlers.clock import now as clock_now
from mail.errors import ParseError
from mail.parse import Attachment as Part
from mail.parse import (
    Limits,
    ParsedMessage,
    attachment_bytes,
    iter_attachment_bytes,
    parse_message,
)
from storage import repo
from storage.models import Case, CasePause, MailMessage

NOTE = "note"  # the audit action of a note staff wrote in the case thread

# The newest text in full: the classifier's cut (``Limits.max_newest_chars``) is not for reading.
READING = Limits(max_newest_chars=Limits.max_text_chars)


@dataclass(frozen=True)
class Attachment:
    """One attachment as the case file lists it; ``flagged`` is empty when nothing is wrong."""

    n: int  # 1.. across the case
    name: str | None  # the file name the mail gave, if any (may be personal)
    type: str  # the declared media type
    size: int  # decoded bytes
    flagged: tuple[str, ...]  # handlers.attachments reasons: oversized, executable, ...


@dataclass(frozen=True)
class Message:
    """A message in or out, with its decoded text; ``text`` and ``quoted`` are None when its raw
    mail is gone (purged) or could not be read (``defects`` says why)."""

    id: int  # the stored message's number (``privacy-desk link`` takes it)
    direction: str  # in | out
    received_at: datetime
    sent_at: datetime | None  # its Date header
    sender: str
    subject: str
    language: str
    intents: tuple[str, ...]
    classification: Mapping[str, Any]
    disposition: str
    defects: tuple[str, ...]
    size: int
    message_id: str
    raw_kept: bool
    text: str | None  # the newest text, in full
    quoted: str | None  # the quoted history and the signature
    attachments: tuple[Attachment, ...]


@dataclass(frozen=True)
class Draft:
    """A reply as it stands now: edits replace the text and count up ``revision`` (earlier
    revisions' texts are not kept; the audit trail says who edited when)."""

    id: int
    template: str
    language: str
    status: str  # draft | approved | discarded | sent
    revision: int
    subject: str
    body: str
    edited_by: str | None
    approved_by: str | None
    approved_at: datetime | None
    approved_revision: int | None
    created_at: datetime


@dataclass(frozen=True)
class Note:
    at: datetime
    actor: str
    text: str  # "" once the case is purged


@dataclass(frozen=True)
class Pause:
    """A time the SLA clock stood still while the desk waited on the requester."""

    started_at: datetime
    ended_at: datetime | None  # None: still waiting
    reason: str
    due_at: datetime | None  # the answer deadline running when the clock stopped


@dataclass(frozen=True)
class Verification:
    """Whether the requester's identity is verified, and a code still waiting for an answer."""

    verified_at: datetime | None
    verified_by: str | None
    verified_how: str | None
    code_expires_at: datetime | None  # an unused, unexpired code was mailed; None otherwise

    @property
    def verified(self) -> bool:
        return self.verified_at is not None


@dataclass(frozen=True)
class Event:
    at: datetime
    actor: str
    action: str
    detail: Mapping[str, Any]


@dataclass(frozen=True)
class Facts:
    """The case itself: who, what, status and every deadline."""

    ref: str
    kind: str
    status: str
    intents: tuple[str, ...]
    language: str
    jurisdiction: str
    requester: str
    requester_name: str
    addresses: tuple[str, ...]  # every address whose mail may join the case
    received_at: datetime
    ack_due: datetime | None
    answer_due: datetime | None
    overdue: bool  # storage.repo.overdue: a case paused after its deadline stays late
    needs_triage: bool
    triage_due: datetime | None
    flags: tuple[str, ...]
    assignee: str | None
    extended_at: datetime | None
    extended_by: str | None
    extension_reason: str | None
    held_at: datetime | None
    held_by: str | None
    hold_reason: str | None
    closed_at: datetime | None
    purged_at: datetime | None


@dataclass(frozen=True)
class CaseFile:
    facts: Facts
    messages: tuple[Message, ...]  # received order
    drafts: tuple[Draft, ...]  # oldest first
    notes: tuple[Note, ...]  # oldest first
    pauses: tuple[Pause, ...]  # oldest first
    verification: Verification
    events: tuple[Event, ...]  # the audit trail, oldest first
    merged_into: str | None = None  # the case this one was merged into (``merge``)
    # The requester's other cases (same address, or same name and phone), newest first.
    history: tuple[OtherCase, ...] = ()

    @property
    def purged(self) -> bool:
        """The raw mail and texts went after the retention period: only the record is left."""
        return self.facts.purged_at is not None

    @property
    def attachments(self) -> tuple[Attachment, ...]:
        return tuple(a for m in self.messages for a in m.attachments)


@dataclass(frozen=True)
class OtherCase:
    """Another case of the same requester, as the case file lists it."""

    ref: str
    status: str
    received_at: datetime


@dataclass(frozen=True)
class AttachmentContent:
    """Attachment ``info.n`` of a case and its decoded bytes."""

    info: Attachment
    data: bytes


def load(
    session: Session, ref: str, *, max_bytes: int, now: datetime | None = None
) -> CaseFile | None:
    """The whole file of case ``ref`` (any case), or None when no case has that reference.
    ``max_bytes`` is ``PD_ATTACHMENT_MAX_BYTES``; ``now`` decides what is overdue."""
    found = repo.case_file(session, ref)
    if found is None or found.case.id is None:
        return None
    case, case_id = found.case, found.case.id
    moment = now or clock_now()
    numbered = 0
    messages: list[Message] = []
    for row in found.messages:
        message = _message(row, first=numbered + 1, max_bytes=max_bytes)
        numbered += len(message.attachments)
        messages.append(message)
    pending = repo.open_verifications(session, case_id, moment)
    facts = Facts(
        ref=case.ref,
        kind=case.kind,
        status=case.status,
        intents=tuple(case.intents),
        language=case.language,
        jurisdiction=case.jurisdiction,
        requester=case.requester,
        requester_name=case.requester_name,
        addresses=tuple(found.addresses),
        received_at=case.received_at,
        ack_due=case.ack_due,
        answer_due=case.answer_due,
        overdue=case_id in repo.overdue_ids(session, moment, [case_id]),
        needs_triage=case.needs_triage,
        triage_due=case.triage_due,
        flags=tuple(case.flags),
        assignee=case.assignee,
        extended_at=case.extended_at,
        extended_by=case.extended_by,
        extension_reason=case.extension_reason,
        held_at=case.held_at,
        held_by=case.held_by,
        hold_reason=case.hold_reason,
        closed_at=case.closed_at,
        purged_at=case.purged_at,
    )
    pauses = session.exec(
        select(CasePause).where(CasePause.case_id == case_id).order_by(col(CasePause.id))
    )
    into = session.get(Case, case.merged_into_id) if case.merged_into_id is not None else None
    return CaseFile(
        merged_into=into.ref if into else None,
        history=tuple(
            OtherCase(c.ref, c.status, c.received_at) for c in repo.requester_history(session, case)
        ),
        facts=facts,
        messages=tuple(messages),
        drafts=tuple(
            Draft(
                id=d.id or 0,
                template=d.template,
                language=d.language,
                status=d.status,
                revision=d.revision,
                subject=d.subject,
                body=d.body,
                edited_by=d.edited_by,
                approved_by=d.approved_by,
                approved_at=d.approved_at,
                approved_revision=d.approved_revision,
                created_at=d.created_at,
            )
            for d in repo.drafts(session, case_id=case_id)
        ),
        notes=tuple(
            Note(e.at, e.actor, str(e.detail.get("text", "")))
            for e in found.events
            if e.action == NOTE
        ),
        pauses=tuple(Pause(p.started_at, p.ended_at, p.reason, p.due_at) for p in pauses),
        verification=Verification(
            case.verified_at,
            case.verified_by,
            case.verified_how,
            pending[0].expires_at if pending else None,
        ),
        events=tuple(Event(e.at, e.actor, e.action, dict(e.detail)) for e in found.events),
    )


def attachment(session: Session, ref: str, n: int, *, max_bytes: int) -> AttachmentContent | None:
    """Attachment ``n`` (as :func:`load` numbers them) of case ``ref`` with its bytes, or None
    when the case has no such attachment (or its mail was purged)."""
    found = repo.case_file(session, ref)
    if found is None or n < 1:
        return None
    first = 1
    for row in found.messages:
        parsed = _parsed(row)
        if parsed is None or row.raw is None:
            continue
        if n < first + len(parsed.attachments):
            index = n - first
            data = attachment_bytes(row.raw, index, limits=READING)
            if data is None:
                return None
            part = parsed.attachments[index]
            return AttachmentContent(_info(n, part, data, max_bytes), data)
        first += len(parsed.attachments)
    return None


def _parsed(row: MailMessage) -> ParsedMessage | None:
    if row.raw is None:
        return None
    try:
        return parse_message(row.raw, limits=READING)
    except ParseError:
        return None


def _info(n: int, part: Part, data: bytes, max_bytes: int) -> Attachment:
    flagged = rules.flags(
        part.filename, part.content_type, data, size=part.size, max_bytes=max_bytes
    )
    return Attachment(n, part.filename, part.content_type, part.size, tuple(flagged))


def _message(row: MailMessage, *, first: int, max_bytes: int) -> Message:
    text = quoted = None
    found: tuple[Attachment, ...] = ()
    defects = tuple(row.defects)
    if row.raw is not None:
        try:
            parsed = parse_message(row.raw, limits=READING)
        except ParseError as exc:
            defects = (*defects, str(exc))
        else:
            text = parsed.newest_text
            quoted = "\n\n".join(p for p in (parsed.quoted_text, parsed.signature) if p)
            found = tuple(_numbered(row.raw, parsed, first, max_bytes))
    return Message(
        id=row.id or 0,
        direction=row.direction,
        received_at=row.received_at,
        sent_at=row.sent_at,
        sender=row.sender,
        subject=row.subject,
        language=row.language,
        intents=tuple(row.intents),
        classification=dict(row.classification),
        disposition=row.disposition,
        defects=defects,
        size=row.size,
        message_id=row.message_id,
        raw_kept=row.raw is not None,
        text=text,
        quoted=quoted,
        attachments=found,
    )


def _numbered(
    raw: bytes, parsed: ParsedMessage, first: int, max_bytes: int
) -> Iterator[Attachment]:
    """The message's attachments numbered from ``first``, each flagged by its own bytes (read
    one at a time)."""
    contents = iter_attachment_bytes(raw, limits=READING)
    for offset, (part, data) in enumerate(zip(parsed.attachments, contents, strict=False)):
        yield _info(first + offset, part, data, max_bytes)
