"""The desk's own data protection: finished cases lose their raw mail and texts after the
retention period (``purge``, run by ``privacy-desk purge`` and the scheduler), and one case's
whole file can be exported for a disclosure answer or an audit (``export_case``).

What a purge deletes, for each case ``handlers.retention`` finds due (a case on legal hold never
is): the raw bytes and subjects of its messages in and out, the raw bytes of its sent mail
(outbox rows still queued are left to send) and their copies in a ``file:`` outbox folder, its
drafts' subjects, bodies and template values, the files its drafts carried (their names in the
audit trail too; their SHA-256 stays), the requester's name and phone, its labelled examples,
its entries in the search index (``storage.search``: they hold the texts too), and staff's free
text: notes, how the identity was verified, why the deadline was extended or the clock paused
(in the case, its pauses and its audit trail). Its Slack posts (drafts, thread
lines) are deleted and its parent message becomes a placeholder by the case poster, which finds
them by the case's ``purged_at``: the purge is recorded before that Slack work, which is retried
until done. SQLite overwrites deleted bytes (``secure_delete``); on PostgreSQL the touched
tables are vacuumed after a purge. What stays, the minimum record: the case reference,
requester address, dates and deadlines, intents, status, decisions with their reasons, the
Message-IDs and hashes (so the mailbox, which the desk never expunges, is not taken in again),
and the audit trail, with one more event, ``purged``, counting what went. Messages that belong to no case (archived machine mail) lose their raw
bytes the same number of days after they came, and imported labelled examples (``privacy-desk
examples import``, linked to no case) are deleted that many days after their import. A purge is
idempotent: a case purged is due
again only if something happens to it afterwards.
"""

from __future__ import annotations

import json
import logging
import os
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Engine, delete, func, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, SQLModel, col, select
from sqlmodel.sql.expression import SelectOfScalar

from handlers import retention
from handlers.status import FINISHED
from storage import repo, search
from storage.db import writer
from storage.models import (
    AuditEvent,
    Case,
    CasePause,
    Draft,
    DraftFile,
    LabelledExample,
    MailMessage,
    OutboxItem,
    Verification,
)

log = logging.getLogger("privacy_desk.retention")

ACTOR = "retention"
PURGED = "purged"
HOLD, RELEASE = "legal hold", "legal hold released"
# Staff's own words in audit details, by action: they may quote the requester or their papers.
FREE_TEXT: dict[str, tuple[str, ...]] = {
    "note": ("text",),
    "identity verified": ("how",),
    "deadline extended": ("reason",),
    "clock paused": ("reason",),
}
# Audit events that name the files an answer carried (``files``: name, size, sha256 each).
FILE_ACTIONS = ("files attached", "draft approved", "mail sent", "mail written")
# What a purge writes over; vacuumed after a purge on PostgreSQL.
TOUCHED = (
    "message",
    "outboxitem",
    "draft",
    "draftfile",
    "auditevent",
    "labelledexample",
    "casepause",
    '"case"',
    "searchchunk",
)


@dataclass(frozen=True)
class PurgedCase:
    """What went (or would go) from one case."""

    ref: str
    closed_at: datetime
    messages: int  # raw messages in and out
    outbox: int  # raw mail sent
    drafts: int  # drafts with text
    notes: int  # staff free text in the audit trail (notes, how verified, why extended...)
    queued: int = 0  # mail still queued, left to be sent
    examples: int = 0  # labelled examples of the case
    files: int = 0  # copies in a ``file:`` outbox folder
    attachments: int = 0  # files its drafts carried


@dataclass
class PurgeSummary:
    days: int
    dry_run: bool
    cases: list[PurgedCase] = field(default_factory=list)
    caseless: int = 0  # raw messages that belong to no case
    examples: int = 0  # imported labelled examples (``privacy-desk examples import``)
    held: list[str] = field(default_factory=list)  # cases due but on legal hold: kept

    @property
    def messages(self) -> int:
        return sum(c.messages for c in self.cases) + self.caseless


def _activity(
    session: Session, case_ids: Sequence[int] | None = None
) -> list[retention.CaseActivity]:
    messages = (
        select(
            col(MailMessage.case_id).label("case_id"),
            func.max(MailMessage.received_at).label("last"),
        )
        .group_by(col(MailMessage.case_id))
        .subquery()
    )
    sent = (
        select(col(OutboxItem.case_id).label("case_id"), func.max(OutboxItem.sent_at).label("last"))
        .group_by(col(OutboxItem.case_id))
        .subquery()
    )
    query = (
        sa_select(
            col(Case.id),
            col(Case.ref),
            col(Case.status),
            col(Case.closed_at),
            col(Case.purged_at),
            col(Case.held_at),
            messages.c.last,
            sent.c.last,
        )
        .outerjoin(messages, messages.c.case_id == col(Case.id))
        .outerjoin(sent, sent.c.case_id == col(Case.id))
        .where(col(Case.status).in_(FINISHED))
    )
    if case_ids is not None:
        query = query.where(col(Case.id).in_(case_ids))
    return [
        retention.CaseActivity(
            id=case_id,
            ref=ref,
            status=status,
            closed_at=closed,
            last_message=last_message,
            last_sent=last_sent,
            purged_at=purged,
            held=held is not None,
        )
        for case_id, ref, status, closed, purged, held, last_message, last_sent in session.execute(
            query
        )
    ]


def _count(session: Session, query: SelectOfScalar[int]) -> int:
    return int(session.exec(query).one())


def _notes(session: Session, case_id: int) -> list[AuditEvent]:
    """The case's audit events that still hold staff's free text."""
    events = session.exec(
        select(AuditEvent).where(
            AuditEvent.case_id == case_id, col(AuditEvent.action).in_(FREE_TEXT)
        )
    )
    return [
        e
        for e in events
        if not e.detail.get(PURGED) and any(e.detail.get(key) for key in FREE_TEXT[e.action])
    ]


def _outbox_files(session: Session, case_id: int, folder: Path | None) -> list[Path]:
    """The case's mail written to the ``file:`` outbox ``folder`` and still there."""
    if folder is None:
        return []
    from mail.smtp import eml_name

    items = session.exec(
        select(OutboxItem).where(OutboxItem.case_id == case_id, OutboxItem.status != "queued")
    )
    found = (folder / eml_name(item.message_id, item.raw) for item in items)
    return [path for path in found if path.is_file()]


def _of_case(case_id: int) -> ColumnElement[bool]:
    """The draft files of the case's drafts."""
    return col(DraftFile.draft_id).in_(select(Draft.id).where(Draft.case_id == case_id))


def _file_names_dropped(session: Session, case_id: int) -> None:
    """The audit trail keeps which files went (size, SHA-256), not their names: a name such as
    開示データ_田中.csv names the requester."""
    events = session.exec(
        select(AuditEvent).where(
            AuditEvent.case_id == case_id, col(AuditEvent.action).in_(FILE_ACTIONS)
        )
    )
    for event in events:
        files = event.detail.get("files")
        if files:
            event.detail = {**event.detail, "files": [{**f, "name": ""} for f in files]}
            session.add(event)


def _what_goes(
    session: Session, case: retention.CaseActivity, closed: datetime, folder: Path | None
) -> PurgedCase:
    count = select(func.count())
    return PurgedCase(
        ref=case.ref,
        closed_at=closed,
        messages=_count(
            session,
            count.select_from(MailMessage).where(
                MailMessage.case_id == case.id,
                col(MailMessage.raw).is_not(None),
                MailMessage.disposition != "queued",
            ),
        ),
        outbox=_count(
            session,
            count.select_from(OutboxItem).where(
                OutboxItem.case_id == case.id,
                OutboxItem.status != "queued",
                func.length(col(OutboxItem.raw)) > 0,
            ),
        ),
        drafts=_count(
            session,
            count.select_from(Draft).where(
                Draft.case_id == case.id, (Draft.subject != "") | (Draft.body != "")
            ),
        ),
        notes=len(_notes(session, case.id)),
        examples=_count(
            session,
            count.select_from(LabelledExample).where(LabelledExample.case_id == case.id),
        ),
        files=len(_outbox_files(session, case.id, folder)),
        attachments=_count(session, count.select_from(DraftFile).where(_of_case(case.id))),
        queued=_count(
            session,
            count.select_from(OutboxItem).where(
                OutboxItem.case_id == case.id, OutboxItem.status == "queued"
            ),
        ),
    )


def _purge_case(
    session: Session,
    case: Case,
    gone: PurgedCase,
    now: datetime,
    days: int,
    folder: Path | None,
) -> None:
    assert case.id is not None
    # Before the commit: a file deleted for a purge that then fails is deleted again by the next.
    for path in _outbox_files(session, case.id, folder):
        path.unlink(missing_ok=True)
    session.execute(
        update(MailMessage)
        .where(col(MailMessage.case_id) == case.id, col(MailMessage.disposition) != "queued")
        .values(raw=None, subject="")
    )
    session.execute(
        update(OutboxItem)
        .where(col(OutboxItem.case_id) == case.id, col(OutboxItem.status) != "queued")
        .values(raw=b"")
    )
    session.execute(
        update(Draft).where(col(Draft.case_id) == case.id).values(subject="", body="", values={})
    )
    session.execute(delete(DraftFile).where(_of_case(case.id)))
    _file_names_dropped(session, case.id)
    for note in _notes(session, case.id):
        note.detail = {**note.detail, **dict.fromkeys(FREE_TEXT[note.action], ""), PURGED: True}
        session.add(note)
    session.execute(update(CasePause).where(col(CasePause.case_id) == case.id).values(reason=""))
    session.execute(delete(LabelledExample).where(col(LabelledExample.case_id) == case.id))
    search.forget_case(session, case.id)  # the search index holds its texts too
    # updated_at moves: the case poster makes the Slack parent a placeholder and deletes the
    # case's posts in its thread (found by purged_at).
    repo.touch(
        session,
        case,
        requester_name="",
        requester_phone="",
        purged_at=now,
        # "code": the requester mailed back a one-time code; anything else is staff's words.
        verified_how=case.verified_how if case.verified_how in (None, "code") else "",
        extension_reason=None if case.extension_reason is None else "",
    )
    case.updated_at = max(case.updated_at, now)
    session.add(
        AuditEvent(
            case_id=case.id,
            at=now,
            actor=ACTOR,
            action=PURGED,
            detail={
                "closed_at": gone.closed_at.isoformat(),
                "days": days,
                "messages": gone.messages,
                "outbox": gone.outbox,
                "drafts": gone.drafts,
                "notes": gone.notes,
                "examples": gone.examples,
                "files": gone.files,
                "attachments": gone.attachments,
                "queued_kept": gone.queued,
            },
        )
    )


def purge(
    engine: Engine,
    now: datetime,
    days: int,
    *,
    dry_run: bool = False,
    outbox_folder: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> PurgeSummary:
    """Purge the finished cases ``days`` past their closing at ``now`` (one transaction each),
    and the raw messages of no case ``days`` past their receipt; ``dry_run`` changes nothing.
    ``outbox_folder``: the folder of a ``file:`` outbox (``PD_SMTP_URL``), whose copies of a
    purged case's mail go too. ``progress(done, total)`` is told after each case: a run stopped
    half-way has purged the cases told, and a second run purges the rest."""
    summary = PurgeSummary(days=days, dry_run=dry_run)
    with Session(engine) as session:
        activity = _activity(session)
        due = retention.due(activity, now, days)
        summary.held = [
            c.ref for c in activity if c.held and retention.due([replace(c, held=False)], now, days)
        ]
    bind = engine if dry_run else writer(engine)  # a dry run takes no write lock
    for done, candidate in enumerate(due):
        if progress is not None:
            progress(done, len(due))
        with Session(bind) as session:
            # Looked at again under the write lock: a follow-up may have come in since.
            query = select(Case).where(Case.id == candidate.id)
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update()
            case = session.exec(query).one()
            again = _activity(session, [candidate.id])
            if not again or not retention.due(again, now, days):
                continue
            closed = retention.closed_at(again[0])
            assert closed is not None
            gone = _what_goes(session, again[0], closed, outbox_folder)
            summary.cases.append(gone)
            if dry_run:
                continue
            _purge_case(session, case, gone, now, days, outbox_folder)
            session.commit()
            log.info("%s purged (%d messages)", gone.ref, gone.messages)
    if progress is not None:
        progress(len(due), len(due))
    summary.caseless = _purge_caseless(bind, now, days, dry_run)
    # Imported labelled examples belong to no case: they go the same number of days after
    # they were imported (a staff label goes with its case's mail, above).
    from bot.learning import purge_imported

    summary.examples = purge_imported(engine, retention.caseless_cutoff(now, days), dry_run=dry_run)
    if summary.cases and not dry_run:
        _vacuum(engine)
    return summary


def _vacuum(engine: Engine) -> None:
    """On PostgreSQL, VACUUM the tables a purge wrote over: the old row versions holding the
    purged bytes are removed from the tables' pages (their space is then reused). SQLite needs
    nothing: ``secure_delete`` overwrites deleted content as it goes (``storage.db``), once the
    search index has merged away the entries of deleted rows (``search.compact``)."""
    if engine.dialect.name != "postgresql":
        with Session(writer(engine)) as session:
            search.compact(session)
            session.commit()
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in TOUCHED:
            connection.exec_driver_sql(f"VACUUM {table}")


def mailbox_copies(engine: Engine) -> tuple[dict[str, int], dict[str, int]]:
    """The content hashes (SHA-256 -> size) of purged cases' mail: (that came in, that went out),
    for ``purge --mailbox``. Held cases are never purged, so never here."""
    found: tuple[dict[str, int], dict[str, int]] = ({}, {})
    with Session(engine) as session:
        rows = session.exec(
            select(MailMessage.direction, MailMessage.sha256, MailMessage.size)
            .join(Case, col(MailMessage.case_id) == col(Case.id))
            .where(col(Case.purged_at).is_not(None), col(Case.held_at).is_(None))
        )
        for direction, sha, size in rows:
            found[0 if direction == "in" else 1][sha] = size
    return found


def record_mailbox_purge(engine: Engine, gone: dict[str, int]) -> None:
    """The audit trail's record of what ``purge --mailbox`` deleted, per folder."""
    with Session(writer(engine)) as session:
        repo.audit(session, None, ACTOR, "mailbox copies deleted", folders=gone)
        session.commit()


# ---- legal hold ------------------------------------------------------------------------------


class HoldError(Exception):
    """A hold or release that cannot be done (no such case, not an approver, not held...)."""


def hold(
    engine: Engine, ref: str, *, actor: str, reason: str, approvers: Sequence[str], now: datetime
) -> Case:
    """Put the case on legal hold (an approver, with a reason): purge skips it until released."""
    if actor not in approvers:
        raise HoldError(f"{actor} is not an approver (PD_APPROVERS)")
    if not reason.strip():
        raise HoldError("a legal hold needs a reason")
    with Session(writer(engine), expire_on_commit=False) as session:
        case = repo.case_by_ref(session, ref)
        if case is None:
            raise HoldError(f"no case {ref.upper()}")
        if case.held_at is not None:
            raise HoldError(f"{case.ref} is already on legal hold (since {case.held_at:%Y-%m-%d})")
        repo.touch(session, case, held_at=now, held_by=actor, hold_reason=reason.strip()[:500])
        assert case.id is not None
        repo.audit(session, case.id, actor, HOLD, reason=reason.strip()[:500])
        session.commit()
        log.info("%s put on legal hold", case.ref)
        return case


def release(engine: Engine, ref: str, *, actor: str, approvers: Sequence[str]) -> Case:
    """Lift the case's legal hold (an approver): the next purge takes it if it is due."""
    if actor not in approvers:
        raise HoldError(f"{actor} is not an approver (PD_APPROVERS)")
    with Session(writer(engine), expire_on_commit=False) as session:
        case = repo.case_by_ref(session, ref)
        if case is None:
            raise HoldError(f"no case {ref.upper()}")
        if case.held_at is None:
            raise HoldError(f"{case.ref} is not on legal hold")
        held = {"held_at": case.held_at.isoformat(), "held_by": case.held_by}
        repo.touch(session, case, held_at=None, held_by=None, hold_reason=None)
        assert case.id is not None
        repo.audit(session, case.id, actor, RELEASE, **held)
        session.commit()
        log.info("%s released from legal hold", case.ref)
        return case


def _purge_caseless(bind: Engine, now: datetime, days: int, dry_run: bool) -> int:
    cutoff = retention.caseless_cutoff(now, days)
    where = (
        col(MailMessage.case_id).is_(None),
        col(MailMessage.raw).is_not(None),
        col(MailMessage.received_at) <= cutoff,
    )
    with Session(bind) as session:
        found = _count(session, select(func.count()).select_from(MailMessage).where(*where))
        if found and not dry_run:
            ids = session.execute(sa_select(col(MailMessage.id)).where(*where)).scalars()
            search.forget_messages(session, [i for i in ids if i is not None])
            session.execute(update(MailMessage).where(*where).values(raw=None, subject=""))
            session.add(
                AuditEvent(
                    case_id=None,
                    at=now,
                    actor=ACTOR,
                    action=PURGED,
                    detail={"messages": found, "received_until": cutoff.isoformat(), "days": days},
                )
            )
            session.commit()
    return found


# ---- export ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseExport:
    """One case's whole file: ``record`` becomes case.json, ``files`` the messages as stored."""

    ref: str
    record: dict[str, Any]
    files: list[tuple[str, bytes]]
    purged_at: datetime | None


def _plain(row: SQLModel, *, without: set[str] | None = None) -> dict[str, Any]:
    dumped: dict[str, Any] = row.model_dump(mode="json", exclude=without or set())
    return dumped


def export_case(engine: Engine, ref: str, *, now: datetime) -> CaseExport | None:
    """The case's file as the desk holds it (raw mail decrypted); None when there is no case."""
    with Session(engine) as session:
        found = repo.case_file(session, ref)
        if found is None:
            return None
        case = found.case
        files: list[tuple[str, bytes]] = []
        messages: list[dict[str, Any]] = []
        names: dict[int, str] = {}
        for number, message in enumerate(found.messages, start=1):
            name = None
            if message.raw is not None:
                name = f"messages/{number:03d}-{message.direction}.eml"
                files.append((name, message.raw))
            if message.id is not None and name is not None:
                names[message.id] = name
            messages.append(
                {"file": name, "purged": message.raw is None, **_plain(message, without={"raw"})}
            )
        rows = repo.drafts(session, case_id=case.id)
        carried = repo.draft_files(session, [d.id for d in rows if d.id is not None])
        drafts = [  # with the files each sends: their names, sizes and hashes
            {**_plain(d), "files": [_plain(f, without={"raw"}) for f in carried[d.id or 0]]}
            for d in rows
        ]
        outbox = [
            _plain(item, without={"raw"})
            for item in session.exec(
                select(OutboxItem).where(OutboxItem.case_id == case.id).order_by(col(OutboxItem.id))
            )
        ]
        pauses = [
            _plain(p)
            for p in session.exec(
                select(CasePause).where(CasePause.case_id == case.id).order_by(col(CasePause.id))
            )
        ]
        verifications = [
            _plain(v, without={"code_hash"})
            for v in session.exec(
                select(Verification)
                .where(Verification.case_id == case.id)
                .order_by(col(Verification.id))
            )
        ]
        examples = [
            {
                **_plain(e, without={"raw"}),
                "file": names.get(e.message_id) if e.message_id is not None else None,
            }
            for e in session.exec(
                select(LabelledExample)
                .where(LabelledExample.case_id == case.id)
                .order_by(col(LabelledExample.id))
            )
        ]
        record: dict[str, Any] = {
            "ref": case.ref,
            "exported_at": now.isoformat(),
            "purged": None
            if case.purged_at is None
            else {
                "at": case.purged_at.isoformat(),
                "note": (
                    "raw mail, subjects, drafts' texts, labelled examples, staff's free text "
                    "(notes, how the identity was verified, reasons for an extension or a "
                    "pause) and the requester's name "
                    "were deleted under the retention policy; this is what is left"
                ),
            },
            "case": _plain(case),
            "addresses": found.addresses,
            "pauses": pauses,
            "messages": messages,
            "drafts": drafts,
            "outbox": outbox,
            "verifications": verifications,
            "labelled_examples": examples,
            "audit": [_plain(e) for e in found.events],
        }
        return CaseExport(case.ref, record, files, case.purged_at)


class ExportTargetError(Exception):
    """The place to write an export to is taken or cannot be written."""


def write_export(export: CaseExport, out: Path) -> Path:
    """Write the export into the folder ``out`` (new or empty), or into a new zip file when
    ``out`` ends in ``.zip``. Only the owner may read what is written: it is personal data."""
    entries = [
        ("case.json", json.dumps(export.record, ensure_ascii=False, indent=2).encode() + b"\n"),
        *export.files,
    ]
    try:
        if out.suffix.lower() == ".zip":
            fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with (
                os.fdopen(fd, "wb") as handle,
                zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive,
            ):
                for name, data in entries:
                    archive.writestr(name, data)
            return out
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise ExportTargetError(f"{out} is not an empty folder; export into a new one")
        out.mkdir(mode=0o700, parents=True, exist_ok=True)
        for name, data in entries:
            path = out / name
            path.parent.mkdir(mode=0o700, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
    except FileExistsError:
        raise ExportTargetError(f"{out} already exists; export into a new file") from None
    except OSError as exc:
        raise ExportTargetError(f"cannot write {out}: {exc.strerror}") from None
    return out
