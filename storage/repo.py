"""Queries and writes over the desk's tables, each a small function taking an open session.

No business rules here: what to do with a message is decided in ``handlers.intake``; this module
finds what that decision needs (``known_for``) and records its outcome.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from handlers.intake import Known, KnownCase, references_in
from mail.parse import ParsedMessage
from storage.models import AuditEvent, Case, CaseAddress, CaseCounter, MailMessage, utcnow


def _known_cases(session: Session, cases: Sequence[Case]) -> tuple[KnownCase, ...]:
    if not cases:
        return ()
    ids = [c.id for c in cases if c.id is not None]
    addresses: dict[int, set[str]] = {i: set() for i in ids}
    for row in session.exec(select(CaseAddress).where(col(CaseAddress.case_id).in_(ids))):
        addresses[row.case_id].add(row.address)
    return tuple(
        KnownCase(c.id, c.ref, c.kind, c.status, frozenset(addresses[c.id]))
        for c in cases
        if c.id is not None
    )


def known_for(session: Session, msg: ParsedMessage) -> Known:
    """Everything ``handlers.intake.decide`` needs to know about ``msg`` from the database."""
    duplicate = (
        session.exec(
            select(MailMessage.id).where(
                or_(
                    col(MailMessage.message_id) == msg.message_id,
                    col(MailMessage.sha256) == msg.sha256,
                )
            )
        ).first()
        is not None
    )
    thread_ids = [i for i in (msg.in_reply_to, *msg.references) if i]
    thread_cases: list[Case] = []
    if thread_ids:
        thread_cases = list(
            session.exec(
                select(Case)
                .join(MailMessage, col(MailMessage.case_id) == col(Case.id))
                .where(col(MailMessage.message_id).in_(thread_ids))
                .distinct()
            )
        )
    refs = references_in(msg.subject)
    reference_cases = (
        list(session.exec(select(Case).where(col(Case.ref).in_(refs)))) if refs else []
    )
    bounced: Case | None = None
    if msg.is_bounce and msg.original_message_id:
        bounced = session.exec(
            select(Case)
            .join(MailMessage, col(MailMessage.case_id) == col(Case.id))
            .where(MailMessage.message_id == msg.original_message_id)
        ).first()
    return Known(
        duplicate=duplicate,
        thread_cases=_known_cases(session, thread_cases),
        reference_cases=_known_cases(session, reference_cases),
        bounced_case=_known_cases(session, [bounced])[0] if bounced else None,
    )


def next_reference(session: Session, year: int) -> str:
    """The next case reference of ``year``, unique under concurrent writers.

    The counter row is created if missing (ignoring a concurrent creation) and incremented with
    ``UPDATE ... RETURNING``, which takes the row lock on PostgreSQL and the write lock on SQLite.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.exec(pg_insert(CaseCounter).values(year=year, last=0).on_conflict_do_nothing())
    elif dialect == "sqlite":
        session.exec(sqlite_insert(CaseCounter).values(year=year, last=0).on_conflict_do_nothing())
    else:  # pragma: no cover - parse_url admits only the two above
        if session.get(CaseCounter, year) is None:
            session.exec(insert(CaseCounter).values(year=year, last=0))
    number: int = session.exec(
        update(CaseCounter)
        .where(col(CaseCounter.year) == year)
        .values(last=col(CaseCounter.last) + 1)
        .returning(col(CaseCounter.last))
    ).scalar_one()
    return f"PD-{year}-{number:06d}"


def audit(
    session: Session, case_id: int | None, actor: str, action: str, **detail: Any
) -> AuditEvent:
    event = AuditEvent(case_id=case_id, actor=actor, action=action, detail=detail)
    session.add(event)
    return event


def store_message(
    session: Session,
    msg: ParsedMessage,
    raw: bytes,
    *,
    case_id: int | None,
    disposition: str,
    classification: dict[str, Any],
    received_at: datetime,
) -> MailMessage:
    row = MailMessage(
        case_id=case_id,
        direction="in",
        message_id=msg.message_id,
        sha256=msg.sha256,
        subject=msg.subject,
        sender=msg.sender.address.lower() if msg.sender else "",
        sent_at=msg.date if msg.date and msg.date.tzinfo else None,
        received_at=received_at,
        in_reply_to=msg.in_reply_to,
        references=list(msg.references),
        language=msg.language,
        intents=list(classification.get("intents", [])),
        classification=classification,
        disposition=disposition,
        defects=list(msg.defects),
        size=msg.size,
        raw=raw,
    )
    session.add(row)
    return row


def message_with_hash(session: Session, sha256: str) -> MailMessage | None:
    return session.exec(select(MailMessage).where(MailMessage.sha256 == sha256)).first()


def store_raw(
    session: Session,
    raw: bytes,
    sha256: str,
    *,
    case_id: int | None,
    received_at: datetime,
    note: str,
) -> MailMessage:
    """Keep bytes that could not be read as a message, under a made-up Message-ID."""
    row = MailMessage(
        case_id=case_id,
        message_id=f"sha256-{sha256}@privacy-desk.invalid",
        sha256=sha256,
        received_at=received_at,
        disposition="quarantined",
        defects=[note],
        size=len(raw),
        raw=raw,
    )
    session.add(row)
    return row


def open_case(
    session: Session,
    *,
    kind: str,
    intents: Iterable[str],
    language: str,
    requester: str,
    requester_name: str,
    received_at: datetime,
    ack_due: datetime | None,
    answer_due: datetime | None,
    needs_triage: bool,
    flags: Iterable[str],
    status: str = "new",
) -> Case:
    case = Case(
        ref=next_reference(session, received_at.year),
        kind=kind,
        status=status,
        intents=sorted(intents),
        language=language,
        requester=requester,
        requester_name=requester_name,
        received_at=received_at,
        ack_due=ack_due,
        answer_due=answer_due,
        needs_triage=needs_triage,
        flags=sorted(flags),
    )
    session.add(case)
    session.flush()
    assert case.id is not None
    if requester:
        session.add(CaseAddress(case_id=case.id, address=requester))
    return case


def touch(session: Session, case: Case, **changes: Any) -> None:
    for key, value in changes.items():
        setattr(case, key, value)
    case.updated_at = utcnow()
    session.add(case)


def case_by_ref(session: Session, ref: str) -> Case | None:
    return session.exec(select(Case).where(Case.ref == ref.upper())).first()


def list_cases(
    session: Session, *, status: str | None = None, overdue_at: datetime | None = None
) -> list[Case]:
    query = select(Case)
    if status:
        query = query.where(Case.status == status)
    if overdue_at is not None:
        query = query.where(
            col(Case.answer_due) < overdue_at,
            col(Case.status).not_in(("answered", "closed", "rejected")),
        )
    return list(session.exec(query.order_by(col(Case.answer_due).is_(None), col(Case.answer_due))))


@dataclass(frozen=True)
class CaseFile:
    case: Case
    addresses: list[str]
    messages: list[MailMessage]
    events: list[AuditEvent]


def case_file(session: Session, ref: str) -> CaseFile | None:
    case = case_by_ref(session, ref)
    if case is None:
        return None
    addresses = [
        a.address for a in session.exec(select(CaseAddress).where(CaseAddress.case_id == case.id))
    ]
    messages = list(
        session.exec(
            select(MailMessage)
            .where(MailMessage.case_id == case.id)
            .order_by(col(MailMessage.received_at), col(MailMessage.id))
        )
    )
    events = list(
        session.exec(
            select(AuditEvent).where(AuditEvent.case_id == case.id).order_by(col(AuditEvent.id))
        )
    )
    return CaseFile(case, addresses, messages, events)


def count_messages(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(MailMessage)).one())
