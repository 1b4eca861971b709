"""Queries and writes over the desk's tables, each a small function taking an open session.

No business rules here: what to do with a message is decided in ``handlers.intake``; this module
finds what that decision needs (``known_for``) and records its outcome.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, func, insert, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, SQLModel, col, select

from handlers.intake import Known, KnownCase, references_in
from handlers.sla import TOKYO
from mail.parse import ParsedMessage
from storage.models import (
    AuditEvent,
    Case,
    CaseAddress,
    CaseCounter,
    CasePause,
    Draft,
    MailboxCheckpoint,
    MailMessage,
    utcnow,
)


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
        session.execute(_DUPLICATE, {"message_id": msg.message_id, "sha256": msg.sha256}).first()
        is not None
    )
    if duplicate:
        return Known(duplicate=True)
    thread_ids = [i for i in (msg.in_reply_to, *msg.references) if i]
    thread_cases: list[Case] = []
    if thread_ids:
        # Distinct ids first: PostgreSQL cannot compare the JSON columns of whole rows.
        case_ids = session.exec(
            select(MailMessage.case_id)
            .where(col(MailMessage.message_id).in_(thread_ids))
            .where(col(MailMessage.case_id).is_not(None))
            .distinct()
        ).all()
        if case_ids:
            thread_cases = list(
                session.exec(select(Case).where(col(Case.id).in_(case_ids)).order_by(col(Case.id)))
            )
    refs = references_in(msg.subject)
    reference_cases: list[Case] = []
    if refs:
        reference_cases = list(session.exec(select(Case).where(col(Case.ref).in_(refs))))
    bounced: Case | None = None
    if msg.is_bounce and msg.original_message_id:
        bounced = session.exec(
            select(Case)
            .join(MailMessage, col(MailMessage.case_id) == col(Case.id))
            .where(MailMessage.message_id == msg.original_message_id)
        ).first()
    return Known(
        duplicate=False,
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
    create = _COUNTER_CREATE.get(dialect)
    if create is None:  # pragma: no cover - parse_url admits only SQLite and PostgreSQL
        raise NotImplementedError(dialect)
    session.execute(create, {"year": year, "last": 0})
    number: int = session.execute(_COUNTER_NEXT, {"counter_year": year}).scalar_one()
    return f"PD-{year}-{number:06d}"


def _table(model: type[SQLModel]) -> Table:
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


# Core statements on the intake path, compiled once: the ORM's unit of work and per-call
# statement building cost more than the writes themselves.
_AUDIT = insert(_table(AuditEvent))
_MESSAGE = insert(_table(MailMessage))
_CASE = insert(_table(Case)).returning(_table(Case).c.id)
_ADDRESS = insert(_table(CaseAddress))
_MESSAGES = _table(MailMessage)
_DUPLICATE = (
    select(_MESSAGES.c.id)
    .where(
        or_(
            _MESSAGES.c.message_id == bindparam("message_id"),
            _MESSAGES.c.sha256 == bindparam("sha256"),
        )
    )
    .limit(1)
)
_COUNTERS = _table(CaseCounter)
_COUNTER_CREATE = {
    "postgresql": pg_insert(_COUNTERS).on_conflict_do_nothing(),
    "sqlite": sqlite_insert(_COUNTERS).on_conflict_do_nothing(),
}
_COUNTER_NEXT = (
    update(_COUNTERS)
    .where(_COUNTERS.c.year == bindparam("counter_year"))
    .values(last=_COUNTERS.c.last + 1)
    .returning(_COUNTERS.c.last)
)


def audit(session: Session, case_id: int | None, actor: str, action: str, **detail: Any) -> None:
    session.execute(
        _AUDIT,
        {"case_id": case_id, "at": utcnow(), "actor": actor, "action": action, "detail": detail},
    )


def store_message(
    session: Session,
    msg: ParsedMessage,
    raw: bytes,
    *,
    case_id: int | None,
    disposition: str,
    classification: dict[str, Any],
    received_at: datetime,
) -> None:
    session.execute(
        _MESSAGE,
        {
            "case_id": case_id,
            "direction": "in",
            "message_id": msg.message_id,
            "sha256": msg.sha256,
            "subject": msg.subject,
            "sender": msg.sender.address.lower() if msg.sender else "",
            "sent_at": msg.date if msg.date and msg.date.tzinfo else None,
            "received_at": received_at,
            "in_reply_to": msg.in_reply_to,
            "references": list(msg.references),
            "language": msg.language,
            "intents": list(classification.get("intents", [])),
            "classification": classification,
            "disposition": disposition,
            "defects": list(msg.defects),
            "size": msg.size,
            "raw": raw,
        },
    )


def message_with_hash(session: Session, sha256: str) -> int | None:
    return session.exec(select(MailMessage.id).where(MailMessage.sha256 == sha256)).first()


def store_raw(
    session: Session,
    raw: bytes,
    sha256: str,
    *,
    case_id: int | None,
    received_at: datetime,
    note: str,
) -> None:
    """Keep bytes that could not be read as a message, under a made-up Message-ID."""
    session.execute(
        _MESSAGE,
        {
            "case_id": case_id,
            "direction": "in",
            "message_id": f"sha256-{sha256}@privacy-desk.invalid",
            "sha256": sha256,
            "subject": "",
            "sender": "",
            "received_at": received_at,
            "in_reply_to": None,
            "sent_at": None,
            "references": [],
            "language": "",
            "intents": [],
            "classification": {},
            "disposition": "quarantined",
            "defects": [note],
            "size": len(raw),
            "raw": raw,
        },
    )


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
    assignee: str | None = None,
) -> CaseHandle:
    now = utcnow()
    values: dict[str, Any] = {
        "ref": next_reference(session, received_at.astimezone(TOKYO).year),
        "kind": kind,
        "status": status,
        "intents": sorted(intents),
        "language": language,
        "requester": requester,
        "requester_name": requester_name,
        "jurisdiction": "appi",
        "received_at": received_at,
        "ack_due": ack_due,
        "answer_due": answer_due,
        "needs_triage": needs_triage,
        "flags": sorted(flags),
        "created_at": now,
        "updated_at": now,
    }
    values.update(assignee=assignee, closed_at=None)
    case_id: int = session.execute(_CASE, values).scalar_one()
    if requester:
        session.execute(_ADDRESS, {"case_id": case_id, "address": requester, "added_by": "intake"})
    return CaseHandle(case_id, values["ref"], answer_due)


@dataclass(frozen=True)
class CaseHandle:
    """What the intake path needs back from a case it opened or joined."""

    id: int
    ref: str
    answer_due: datetime | None


def add_draft(
    session: Session, case_id: int, *, template: str, language: str, subject: str, body: str
) -> None:
    session.add(
        Draft(
            case_id=case_id,
            template=template,
            language=language,
            subject=subject,
            body=body,
            edited_by="intake",
        )
    )


def pause_case(session: Session, case: Case, *, at: datetime, reason: str, actor: str) -> None:
    """Stop the case's SLA clock while the desk waits on the requester."""
    assert case.id is not None
    if open_pause(session, case.id) is None:
        session.add(CasePause(case_id=case.id, started_at=at, reason=reason))
        touch(session, case, status="awaiting_verification")
        audit(session, case.id, actor, "clock paused", reason=reason, at=at.isoformat())


def open_pause(session: Session, case_id: int) -> CasePause | None:
    return session.exec(
        select(CasePause).where(CasePause.case_id == case_id, col(CasePause.ended_at).is_(None))
    ).first()


def pauses_of(session: Session, case_id: int) -> list[tuple[datetime, datetime | None]]:
    rows = session.exec(
        select(CasePause).where(CasePause.case_id == case_id).order_by(col(CasePause.id))
    )
    return [(row.started_at, row.ended_at) for row in rows]


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


def load_checkpoint(session: Session, mailbox: str) -> MailboxCheckpoint:
    """How far the mailbox has been read (a fresh, unsaved row when never)."""
    return session.get(MailboxCheckpoint, mailbox) or MailboxCheckpoint(mailbox=mailbox)


def save_checkpoint(session: Session, mailbox: str, uidvalidity: int, last_uid: int) -> None:
    """Everything up to ``last_uid`` is taken in and marked."""
    row = load_checkpoint(session, mailbox)
    if row.uidvalidity != uidvalidity:
        row.in_flight_upto, row.attempt_uid, row.attempts = None, None, 0
    row.uidvalidity = uidvalidity
    row.last_uid = last_uid
    if row.in_flight_upto is not None and row.in_flight_upto <= last_uid:
        row.in_flight_upto = None
    if row.attempt_uid is not None and row.attempt_uid <= last_uid:
        row.attempt_uid, row.attempts = None, 0
    row.updated_at = utcnow()
    session.add(row)


def begin_batch(session: Session, mailbox: str, uidvalidity: int, upto: int) -> None:
    """Messages up to ``upto`` are about to be taken in; cleared by the checkpoint after them."""
    row = load_checkpoint(session, mailbox)
    row.uidvalidity = uidvalidity
    row.in_flight_upto = max(upto, row.in_flight_upto or 0)
    row.updated_at = utcnow()
    session.add(row)


def count_attempt(session: Session, mailbox: str, uidvalidity: int, uid: int) -> int:
    """Record one more try at taking message ``uid`` in alone; how many tries, this one included."""
    row = load_checkpoint(session, mailbox)
    row.uidvalidity = uidvalidity
    row.attempts = row.attempts + 1 if row.attempt_uid == uid else 1
    row.attempt_uid = uid
    row.in_flight_upto = max(uid, row.in_flight_upto or 0)
    row.updated_at = utcnow()
    session.add(row)
    return row.attempts
