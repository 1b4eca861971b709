"""Queries and writes over the desk's tables, each a small function taking an open session.

No business rules here: what to do with a message is decided in ``handlers.intake``; this module
finds what that decision needs (``known_for``) and records its outcome.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from sqlalchemy import (
    ColumnElement,
    String,
    Table,
    and_,
    bindparam,
    func,
    insert,
    or_,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy import select as sa_select
from sqlalchemy.orm import QueryableAttribute, defer
from sqlmodel import Session, SQLModel, col, select

from handlers.clock import TOKYO
from handlers.intake import Known, KnownCase, references_in
from handlers.requesters import name_key
from handlers.status import FINISHED, Status
from storage import search
from storage.models import (
    AuditEvent,
    Case,
    CaseAddress,
    CaseCounter,
    CasePause,
    Draft,
    DraftFile,
    MailboxCheckpoint,
    MailMessage,
    OutboxItem,
    Verification,
    utcnow,
)

if TYPE_CHECKING:
    from mail.parse import ParsedMessage


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
    if is_stored(session, msg.sha256):
        return Known(duplicate=True)
    reused = (
        not msg.message_id_generated
        and session.connection().execute(_ID_TAKEN, {"message_id": msg.message_id}).first()
        is not None
    )
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
    item = reported_mail(session, msg)
    if item is not None and item.case_id is not None:
        bounced = session.get(Case, item.case_id)
    return Known(
        duplicate=False,
        message_id_reused=reused,
        thread_cases=_known_cases(session, thread_cases),
        reference_cases=_known_cases(session, reference_cases),
        bounced_case=_known_cases(session, [bounced])[0] if bounced else None,
    )


def next_reference(session: Session, year: int) -> str:
    """The next case reference of ``year``, unique under concurrent writers.

    One upsert, ``INSERT ... ON CONFLICT DO UPDATE SET last = last + 1 RETURNING last``: it
    creates the year's row or takes its row lock (PostgreSQL) / the write lock (SQLite) and
    increments it, so two writers never get the same number.
    """
    dialect = session.get_bind().dialect.name
    bump = _counter_next(dialect)
    if bump is None:  # pragma: no cover - parse_url admits only SQLite and PostgreSQL
        raise NotImplementedError(dialect)
    number: int = session.connection().execute(bump, {"year": year, "last": 1}).scalar_one()
    return f"PD-{year}-{number:06d}"


def _table(model: type[SQLModel]) -> Table:
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


# Core statements on the intake path, compiled once and run on the session's connection (same
# transaction, no ORM execute layer): the ORM's unit of work and per-call statement building
# cost more than the writes themselves.
_AUDIT = insert(_table(AuditEvent))
_MESSAGE = insert(_table(MailMessage))
# A large raw mail on SQLite: the row is inserted with a zero-filled blob of its size (which
# costs no memory) and the bytes are then written into it in chunks. A plain insert binds a copy
# of the bytes and builds the record in memory too: three copies of a 50 MB mail at once.
_MESSAGE_ZEROBLOB = insert(_table(MailMessage)).values(raw=func.zeroblob(bindparam("raw_size")))
_BLOB_CHUNK = 1 << 20
_CASE = insert(_table(Case)).returning(_table(Case).c.id)
_DRAFT = insert(_table(Draft)).returning(_table(Draft).c.id)
_ADDRESS = insert(_table(CaseAddress))
_MESSAGES = _table(MailMessage)
# The same mail is the same bytes; a Message-ID alone proves nothing (DESIGN rule 7).
_DUPLICATE = (
    select(_MESSAGES.c.id)
    .where(_MESSAGES.c.direction == "in", _MESSAGES.c.sha256 == bindparam("sha256"))
    .limit(1)
)
_ID_TAKEN = (
    select(_MESSAGES.c.id)
    .where(_MESSAGES.c.direction == "in", _MESSAGES.c.message_id == bindparam("message_id"))
    .limit(1)
)


_COUNTERS = _table(CaseCounter)
_BUMP = {"last": _COUNTERS.c.last + 1}


@functools.cache
def _counter_next(dialect: str) -> Any:
    """The upsert of ``next_reference`` on ``dialect``, built when first needed: the PostgreSQL
    dialect's import alone costs a reading command on SQLite more than its query."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return (
            pg_insert(_COUNTERS)
            .on_conflict_do_update(index_elements=[_COUNTERS.c.year], set_=_BUMP)
            .returning(_COUNTERS.c.last)
        )
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return (
            sqlite_insert(_COUNTERS)
            .on_conflict_do_update(index_elements=[_COUNTERS.c.year], set_=_BUMP)
            .returning(_COUNTERS.c.last)
        )
    return None


def audit(session: Session, case_id: int | None, actor: str, action: str, **detail: Any) -> None:
    session.connection().execute(
        _AUDIT,
        {"case_id": case_id, "at": utcnow(), "actor": actor, "action": action, "detail": detail},
    )


def _insert_message(session: Session, values: dict[str, Any]) -> int:
    """Insert one ``message`` row, its id; a large raw mail on SQLite is streamed into its
    blob."""
    from storage import crypto

    connection = session.connection()
    raw = values["raw"]
    if raw is None or len(raw) <= _BLOB_CHUNK or connection.dialect.name != "sqlite":
        (inserted,) = connection.execute(_MESSAGE, values).inserted_primary_key or (None,)
        assert inserted is not None
        return int(inserted)
    stored = crypto.seal(raw, crypto.active())  # what EncryptedRaw would bind
    row = {key: value for key, value in values.items() if key != "raw"}
    result = connection.execute(_MESSAGE_ZEROBLOB, {**row, "raw_size": len(stored)})
    (row_id,) = result.inserted_primary_key or (None,)
    driver = connection.connection.driver_connection
    view = memoryview(stored)
    with driver.blobopen("message", "raw", row_id) as blob:  # type: ignore[union-attr]
        for start in range(0, len(view), _BLOB_CHUNK):
            blob.write(view[start : start + _BLOB_CHUNK])
    assert row_id is not None
    return int(row_id)


def store_message(
    session: Session,
    msg: ParsedMessage,
    raw: bytes,
    *,
    case_id: int | None,
    disposition: str,
    classification: dict[str, Any],
    received_at: datetime,
    flags: Sequence[str] = (),
) -> None:
    """Store an incoming message and index its texts for search; ``flags`` are kept with its
    defects (``message_id_reused``)."""
    message_id = _insert_message(
        session,
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
            "defects": [*msg.defects, *flags],
            "size": msg.size,
            "raw": raw,
        },
    )
    search.add_message(
        session,
        message_id,
        subject=msg.subject,
        newest=msg.newest_text,
        signature=msg.signature,
        quoted=msg.quoted_text,
    )


def is_stored(session: Session, sha256: str) -> bool:
    """Whether a mail of these bytes came in already (a duplicate: the same mail again)."""
    return session.connection().execute(_DUPLICATE, {"sha256": sha256}).first() is not None


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
    message_id: str | None = None,
    sender: str = "",
    subject: str = "",
) -> None:
    """Keep bytes that could not be read as a message: under their own Message-ID when it could
    be read, else under one made from their hash; its subject, when read, is indexed."""
    message = _insert_message(
        session,
        {
            "case_id": case_id,
            "direction": "in",
            "message_id": message_id or f"sha256-{sha256}@privacy-desk.invalid",
            "sha256": sha256,
            "subject": subject,
            "sender": sender,
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
    if subject:
        search.add_message(session, message, subject=subject)


def open_case(
    session: Session,
    *,
    kind: str,
    intents: Iterable[str],
    language: str,
    requester: str,
    requester_name: str,
    received_at: datetime,
    requester_phone: str = "",
    ack_due: datetime | None,
    answer_due: datetime | None,
    needs_triage: bool,
    flags: Iterable[str],
    triage_due: datetime | None = None,
    status: str = Status.NEW,
    assignee: str | None = None,
    jurisdiction: str = "appi",
    slack_state: str = "pending",
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
        "requester_phone": requester_phone,
        "jurisdiction": jurisdiction,
        "received_at": received_at,
        "ack_due": ack_due,
        "answer_due": answer_due,
        "needs_triage": needs_triage,
        "triage_due": triage_due,
        "flags": sorted(flags),
        "slack_state": slack_state,
        "created_at": now,
        "updated_at": now,
    }
    values.update(assignee=assignee, closed_at=None)
    case_id: int = session.connection().execute(_CASE, values).scalar_one()
    if requester:
        session.connection().execute(
            _ADDRESS, {"case_id": case_id, "address": requester, "added_by": "intake"}
        )
    if requester_name:
        search.index_name(session, case_id, requester_name)
    return CaseHandle(case_id, values["ref"], answer_due)


@dataclass(frozen=True)
class CaseHandle:
    """What the intake path needs back from a case it opened or joined."""

    id: int
    ref: str
    answer_due: datetime | None


def add_draft(
    session: Session,
    case_id: int,
    *,
    template: str,
    language: str,
    subject: str,
    body: str,
    values: dict[str, Any] | None = None,
    editor: str = "intake",
) -> int:
    """Store a draft; its id."""
    draft_id: int = (
        session.connection()
        .execute(
            _DRAFT,
            {
                "case_id": case_id,
                "template": template,
                "language": language,
                "subject": subject,
                "body": body,
                "values": values or {},
                "revision": 1,
                "status": "draft",
                "edited_by": editor,
                "created_at": utcnow(),
            },
        )
        .scalar_one()
    )
    return draft_id


def drafts(
    session: Session, *, case_id: int | None = None, status: str | None = None
) -> list[Draft]:
    query = select(Draft)
    if case_id is not None:
        query = query.where(Draft.case_id == case_id)
    if status is not None:
        query = query.where(Draft.status == status)
    return list(session.exec(query.order_by(col(Draft.id))))


def add_draft_file(
    session: Session,
    draft_id: int,
    *,
    revision: int,
    name: str,
    mime_type: str,
    data: bytes,
    added_by: str,
    at: datetime,
) -> DraftFile:
    """Keep a file a draft sends from ``revision`` on (its bytes sealed like raw mail)."""
    row = DraftFile(
        draft_id=draft_id,
        revision=revision,
        name=name,
        mime_type=mime_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        added_by=added_by,
        added_at=at,
        raw=data,
    )
    session.add(row)
    session.flush()
    return row


def draft_files(
    session: Session, draft_ids: Iterable[int], *, revision: int | None = None
) -> dict[int, list[DraftFile]]:
    """The files of each draft (up to ``revision`` when given), in the order they were added;
    the bytes are loaded only when read (``DraftFile.raw`` is deferred)."""
    wanted = list(draft_ids)
    found: dict[int, list[DraftFile]] = {d: [] for d in wanted}
    if not wanted:
        return found
    query = (
        select(DraftFile)
        .where(col(DraftFile.draft_id).in_(wanted))
        .options(defer(cast("QueryableAttribute[bytes]", DraftFile.raw)))
    )
    if revision is not None:
        query = query.where(col(DraftFile.revision) <= revision)
    for row in session.exec(query.order_by(col(DraftFile.id))):
        found[row.draft_id].append(row)
    return found


def claim_draft(
    session: Session, draft_id: int, *, revision: int, approver: str, at: datetime
) -> bool:
    """Mark the draft approved if it is still the same unapproved revision; False if another
    approval (a double click, a second approver) got there first. One UPDATE decides, so two
    approvals at once cannot both win, on SQLite or PostgreSQL."""
    done = session.execute(
        update(_table(Draft))
        .where(
            _table(Draft).c.id == draft_id,
            _table(Draft).c.status == "draft",
            _table(Draft).c.revision == revision,
        )
        .values(status="approved", approved_by=approver, approved_at=at, approved_revision=revision)
    )
    claimed = bool(done.rowcount == 1)  # type: ignore[attr-defined]
    session.expire_all()
    return claimed


def queue_mail(
    session: Session,
    *,
    case_id: int | None,
    draft_id: int | None,
    template: str,
    message_id: str,
    sender: str,
    recipient: str,
    subject: str,
    language: str,
    raw: bytes,
    automatic: bool,
    in_reply_to: str | None,
    references: Sequence[str],
    at: datetime,
) -> OutboxItem:
    """Put a composed mail in the outbox, and on the case's file as a message going out (so a
    reply or a bounce that names its Message-ID finds the case). Message-IDs are kept without
    their angle brackets, as the parser gives those of incoming mail."""
    message_id = message_id.strip().strip("<>")
    item = OutboxItem(
        case_id=case_id,
        draft_id=draft_id,
        template=template,
        message_id=message_id,
        sender=sender,
        recipient=recipient,
        automatic=automatic,
        raw=raw,
        queued_at=at,
        next_attempt_at=at,
    )
    session.add(item)
    session.add(
        MailMessage(
            case_id=case_id,
            direction="out",
            message_id=message_id,
            sha256=hashlib.sha256(raw).hexdigest(),
            subject=subject,
            sender=sender,
            received_at=at,
            in_reply_to=in_reply_to,
            references=list(references),
            language=language,
            disposition="queued",
            size=len(raw),
            raw=raw,
        )
    )
    session.flush()
    return item


def outbox_item_for_draft(session: Session, draft_id: int) -> OutboxItem | None:
    return session.exec(select(OutboxItem).where(OutboxItem.draft_id == draft_id)).first()


def due_mail(session: Session, now: datetime, *, limit: int = 50) -> list[OutboxItem]:
    """Queued mail whose time has come, oldest first; on PostgreSQL the rows are locked and rows
    another sender holds are skipped (``FOR UPDATE SKIP LOCKED``), so no two send the same."""
    query = (
        select(OutboxItem)
        .where(OutboxItem.status == "queued", col(OutboxItem.next_attempt_at) <= now)
        .order_by(col(OutboxItem.next_attempt_at), col(OutboxItem.id))
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.exec(query))


def set_mail_status(session: Session, item: OutboxItem, status: str, **changes: Any) -> None:
    item.status = status
    for key, value in changes.items():
        setattr(item, key, value)
    session.add(item)
    for row in _sent_copies(session, item):
        row.disposition = status
        session.add(row)


def _sent_copies(session: Session, item: OutboxItem) -> list[MailMessage]:
    """The case-file copies of an outbox mail (outbound rows with its Message-ID)."""
    query = select(MailMessage).where(
        MailMessage.direction == "out", MailMessage.message_id == item.message_id
    )
    return list(session.exec(query))


def replace_raw(session: Session, item: OutboxItem, raw: bytes) -> None:
    """Keep ``raw`` in place of an outbox mail's bytes (its copy on the case file too, with the
    content hash and size of ``raw``: the copy in the mailbox's Sent folder is made of these
    bytes, and ``purge --mailbox`` finds it by them)."""
    item.raw = raw
    session.add(item)
    digest = hashlib.sha256(raw).hexdigest()
    for row in _sent_copies(session, item):
        row.raw = raw
        row.sha256, row.size = digest, len(raw)
        session.add(row)


def outbox(session: Session, *, status: str | None = None) -> list[OutboxItem]:
    query = select(OutboxItem)
    if status is not None:
        query = query.where(OutboxItem.status == status)
    return list(session.exec(query.order_by(col(OutboxItem.id))))


def reported_mail(session: Session, msg: ParsedMessage) -> OutboxItem | None:
    """The mail of ours that ``msg`` reports undelivered, when it is a true bounce: a DSN
    (multipart/report, delivery-status) naming one of our outbound IDs, for a mail already sent,
    with a ``Final-Recipient`` that is that mail's recipient. Anything else names nothing."""
    if not (msg.is_dsn and msg.original_message_id and msg.final_recipients):
        return None
    wanted = msg.original_message_id.strip().strip("<>")
    item = session.exec(select(OutboxItem).where(OutboxItem.message_id == wanted)).first()
    if item is None or item.status != "sent":
        return None
    if item.recipient.lower() not in msg.final_recipients:
        return None
    return item


def automatic_mail_since(session: Session, recipient: str | None, since: datetime) -> int:
    """How many automatic mails were queued for ``recipient`` (None: for anyone) since
    ``since``."""
    query = (
        select(func.count())
        .select_from(OutboxItem)
        .where(col(OutboxItem.automatic).is_(True), col(OutboxItem.queued_at) >= since)
    )
    if recipient is not None:
        query = query.where(OutboxItem.recipient == recipient)
    return int(session.exec(query).one())


def inbound_messages(session: Session, case_id: int) -> list[MailMessage]:
    """The case's messages from the requester, oldest first (what a reply threads under)."""
    return list(
        session.exec(
            select(MailMessage)
            .where(MailMessage.case_id == case_id, MailMessage.direction == "in")
            .order_by(col(MailMessage.received_at), col(MailMessage.id))
        )
    )


def add_verification(
    session: Session, case_id: int, *, code_hash: str, at: datetime, expires_at: datetime
) -> Verification:
    row = Verification(case_id=case_id, code_hash=code_hash, created_at=at, expires_at=expires_at)
    session.add(row)
    session.flush()
    return row


def open_verifications(session: Session, case_id: int, now: datetime) -> list[Verification]:
    """Codes of the case not used and not expired, newest first."""
    return list(
        session.exec(
            select(Verification)
            .where(
                Verification.case_id == case_id,
                col(Verification.used_at).is_(None),
                col(Verification.expires_at) > now,
            )
            .order_by(col(Verification.id).desc())
        )
    )


def pause_case(
    session: Session,
    case: Case,
    *,
    at: datetime,
    reason: str,
    actor: str,
    status: str = Status.AWAITING_VERIFICATION,
) -> None:
    """Stop the case's SLA clock while the desk waits on the requester."""
    assert case.id is not None
    if open_pause(session, case.id) is None:
        session.add(
            CasePause(case_id=case.id, started_at=at, reason=reason, due_at=case.answer_due)
        )
        touch(session, case, status=status, answer_due=None)  # no answer is due while paused
        audit(session, case.id, actor, "clock paused", reason=reason, at=at.isoformat())


def open_pause(session: Session, case_id: int) -> CasePause | None:
    return session.exec(
        select(CasePause).where(CasePause.case_id == case_id, col(CasePause.ended_at).is_(None))
    ).first()


def move_paused_deadline(session: Session, case_id: int, due_at: datetime) -> None:
    """The deadline of the open pause, recomputed while the clock stands (a reclassification)."""
    pause = open_pause(session, case_id)
    if pause is not None:
        pause.due_at = due_at
        session.add(pause)


def overdue(now: datetime) -> ColumnElement[bool]:
    """The one definition of an overdue case for queries (``handlers.sla.is_late`` in Python):
    not finished, and its answer was due before ``now`` or was already late when its clock
    stopped (a pause after the deadline does not revive it)."""
    late_when_paused = (
        select(CasePause.id)
        .where(
            CasePause.case_id == Case.id,
            col(CasePause.ended_at).is_(None),
            col(CasePause.due_at) < col(CasePause.started_at),
        )
        .exists()
    )
    return and_(
        col(Case.status).not_in(FINISHED),
        or_(col(Case.answer_due) < now, late_when_paused),
    )


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
        query = query.where(overdue(overdue_at))
    return list(session.exec(query.order_by(col(Case.answer_due).is_(None), col(Case.answer_due))))


def _has_any_intent(intents: Sequence[str]) -> ColumnElement[bool]:
    """The case carries one of ``intents``: its JSON list holds one as a quoted string (the same
    text on SQLite and PostgreSQL, where the column is JSON, not JSONB)."""
    listed = sql_cast(col(Case.intents), String)
    return or_(*(listed.like('%"' + i.replace("_", "\\_") + '"%', escape="\\") for i in intents))


class CaseLine(NamedTuple):
    """What the case listing shows of a case: read as plain rows, not loaded as ``Case``
    objects, so listing 100,000 cases costs what reading them does."""

    id: int
    ref: str
    status: str
    kind: str
    intents: list[str]
    language: str
    requester: str
    received_at: datetime
    answer_due: datetime | None
    needs_triage: bool
    triage_due: datetime | None
    flags: list[str]


_LISTED = [getattr(Case, name) for name in CaseLine._fields]


def case_page(
    session: Session,
    *,
    status: str | None = None,
    overdue_at: datetime | None = None,
    assignee: str | None = None,
    intents: Sequence[str] = (),
    received_since: datetime | None = None,
    limit: int | None = None,
) -> tuple[list[CaseLine], int]:
    """Up to ``limit`` cases (None: all) matching every filter given, soonest deadline first
    (cases without one last), and how many match in all: both counted and cut in SQL, so a
    page costs the same at 100,000 cases as at 100 (all of them: no count, they are counted)."""
    where: list[ColumnElement[bool]] = []
    if status:
        where.append(col(Case.status) == status)
    if overdue_at is not None:
        where.append(overdue(overdue_at))
    if assignee is not None:
        where.append(col(Case.assignee) == assignee)
    if intents:
        where.append(_has_any_intent(intents))
    if received_since is not None:
        where.append(col(Case.received_at) >= received_since)
    query = (
        sa_select(*_LISTED)
        .where(*where)
        .order_by(col(Case.answer_due).is_(None), col(Case.answer_due), col(Case.id))
    )
    if limit is None:
        lines = [CaseLine(*row) for row in session.execute(query)]
        return lines, len(lines)
    total = int(session.exec(select(func.count()).select_from(Case).where(*where)).one())
    return [CaseLine(*row) for row in session.execute(query.limit(limit))], total


def overdue_ids(session: Session, now: datetime, ids: Sequence[int] | None = None) -> set[int]:
    """Which cases (of ``ids``, or of all) are overdue at ``now`` (:func:`overdue`)."""
    query = select(Case.id).where(overdue(now))
    if ids is not None:
        query = query.where(col(Case.id).in_(ids))
    return {case_id for case_id in session.exec(query) if case_id is not None}


def queued_mail_of(session: Session, case_id: int) -> int:
    """How many mails of the case wait in the outbox (approved, not yet sent)."""
    query = select(func.count()).select_from(OutboxItem)
    query = query.where(OutboxItem.case_id == case_id, OutboxItem.status == "queued")
    return int(session.exec(query).one())


def addresses_of(session: Session, case_id: int) -> list[str]:
    """The addresses whose mail may join the case."""
    query = select(CaseAddress.address).where(CaseAddress.case_id == case_id)
    return list(session.exec(query.order_by(col(CaseAddress.id))))


def move_mail(session: Session, from_case: int, to_case: int, *, codes: bool) -> list[int]:
    """Every message of ``from_case``, in and out, and its outbox rows, now ``to_case``'s (a
    reply to any of them finds ``to_case``); with ``codes`` its unused verification codes too.
    The addresses whose mail may join ``from_case`` may join ``to_case``. The ids of the
    messages moved."""
    session.flush()  # changes made so far are written before the rows are moved under them
    moved = [
        i
        for i in session.exec(select(MailMessage.id).where(MailMessage.case_id == from_case))
        if i is not None
    ]
    session.execute(
        update(_MESSAGES).where(_MESSAGES.c.case_id == from_case).values(case_id=to_case)
    )
    outbox_rows = _table(OutboxItem)
    session.execute(
        update(outbox_rows).where(outbox_rows.c.case_id == from_case).values(case_id=to_case)
    )
    if codes:
        rows = _table(Verification)
        session.execute(
            update(rows)
            .where(rows.c.case_id == from_case, rows.c.used_at.is_(None))
            .values(case_id=to_case)
        )
    have = set(addresses_of(session, to_case))
    for address in addresses_of(session, from_case):
        if address not in have:
            session.connection().execute(
                _ADDRESS, {"case_id": to_case, "address": address, "added_by": "merge"}
            )
    session.expire_all()
    return moved


HISTORY_MAX = 10  # a requester's other cases shown at most (newest first)
_PHONE_CANDIDATES = 200  # cases of one phone number read to compare names (a shared line)


def requester_history(session: Session, case: Case, *, limit: int = HISTORY_MAX) -> list[Case]:
    """The requester's other cases, newest received first, at most ``limit``: those from the
    same address, and those whose requester has the same name and phone (``handlers.requesters``;
    a name alone is never enough). Duplicates merged away are left out: they are no requests of
    their own. Two indexed lookups (address; phone), each bounded, so a requester with
    thousands of cases costs what one with ten does."""
    newest = (col(Case.received_at).desc(), col(Case.id).desc())
    others = (col(Case.id) != case.id, col(Case.merged_into_id).is_(None))
    found: dict[int, Case] = {}
    if case.requester:
        query = select(Case).where(Case.requester == case.requester, *others)
        for row in session.exec(query.order_by(*newest).limit(limit)):
            found[row.id or 0] = row
    name = name_key(case.requester_name)
    if case.requester_phone and name:
        named = select(Case.id, Case.requester_name).where(
            Case.requester_phone == case.requester_phone, *others
        )
        ids = [
            i
            for i, other in session.exec(named.order_by(*newest).limit(_PHONE_CANDIDATES))
            if i not in found and name_key(other) == name
        ][:limit]
        if ids:
            for row in session.exec(select(Case).where(col(Case.id).in_(ids))):
                found[row.id or 0] = row
    ordered = sorted(found.values(), key=lambda c: (c.received_at, c.id or 0), reverse=True)
    return ordered[:limit]


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


def first_read(session: Session, mailbox: str, now: datetime) -> datetime:
    """When the desk first read the mailbox: ``now`` the first time it is asked, kept after."""
    row = load_checkpoint(session, mailbox)
    if row.first_read_at is None:
        row.first_read_at = now
        row.updated_at = utcnow()
        session.add(row)
    return row.first_read_at


HISTORIC_TAKEN = "historic mail taken in"  # the audit action staff's summary is owed for


def historic_untold(session: Session) -> int:
    """How many historic cases no ``HISTORIC_TAKEN`` event covers yet (intake died before it)."""
    told = session.exec(
        select(AuditEvent.detail)
        .where(AuditEvent.action == HISTORIC_TAKEN)
        .order_by(col(AuditEvent.id).desc())
    ).first()
    upto = int((told or {}).get("last_case_id") or 0)
    count = session.exec(
        select(func.count())
        .select_from(Case)
        .where(col(Case.slack_state) == "historic", col(Case.id) > upto)
    ).one()
    return int(count)


def historic_taken(session: Session, *, count: int, backlog_days: int, **detail: Any) -> None:
    """Historic mail was taken in (its cases all committed): staff are owed one summary of the
    historic cases up to the newest case there is now (``bot.slack.poster``)."""
    newest = session.exec(select(func.max(Case.id))).one() or 0
    audit(
        session,
        None,
        "intake",
        HISTORIC_TAKEN,
        count=count,
        backlog_days=backlog_days,
        last_case_id=int(newest),
        **detail,
    )


def begin_batch(session: Session, mailbox: str, uidvalidity: int, upto: int) -> None:
    """Messages up to ``upto`` are about to be taken in; cleared by the checkpoint after them."""
    row = load_checkpoint(session, mailbox)
    row.uidvalidity = uidvalidity
    row.in_flight_upto = max(upto, row.in_flight_upto or 0)
    row.updated_at = utcnow()
    session.add(row)


def forgive_attempt(session: Session, mailbox: str, uidvalidity: int, uid: int) -> None:
    """Take back the last try counted at message ``uid`` (it failed for a reason not its own)."""
    row = load_checkpoint(session, mailbox)
    if row.uidvalidity == uidvalidity and row.attempt_uid == uid and row.attempts > 0:
        row.attempts -= 1
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
