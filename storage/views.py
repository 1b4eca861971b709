"""Read-only questions staff ask of the desk (``/privacy``, the App Home): bounded pages of cases.

Every list is cut to ``limit`` rows and says how many there were in all, so Slack can say "and
K more"; the soonest deadline comes first, cases without one (paused) last.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from handlers.status import FINISHED
from storage import repo
from storage import search as fulltext
from storage.models import AuditEvent, Case, CasePause, Draft, MailMessage

SEARCH_MAX_CHARS = fulltext.MAX_QUERY


@dataclass(frozen=True)
class Page:
    """Up to ``limit`` cases, how many matched in all, and what Slack shows beside each."""

    cases: list[Case]
    total: int
    drafts_waiting: dict[int, int]  # case id -> drafts in status "draft"
    subjects: dict[int, str]  # case id -> subject of its first incoming message
    # cases whose clock stopped after their deadline had passed: late, though nothing is due
    late_paused: frozenset[int] = frozenset()
    # a search's pages: where each case matched (storage.search.FIELDS names)
    matched: dict[int, tuple[str, ...]] = field(default_factory=dict)
    # a search that matched more than it ranked (``storage.search.CANDIDATES``): ``total`` is
    # then the cases ranked, and more match ("at least N")
    capped: bool = False

    @property
    def more(self) -> int:
        return self.total - len(self.cases)


@dataclass(frozen=True)
class CaseSummary:
    case: Case
    subject: str
    drafts: list[Draft]  # waiting for approval, oldest first
    events: list[AuditEvent]  # the latest first


def _open() -> Any:
    return col(Case.status).not_in(FINISHED)


def _waiting() -> Any:
    """The case has a draft waiting for approval."""
    return select(Draft.id).where(Draft.case_id == Case.id, Draft.status == "draft").exists()


def _page(session: Session, where: list[Any], limit: int) -> Page:
    query = select(Case).where(*where)
    total = int(session.exec(select(func.count()).select_from(query.subquery())).one())
    cases = list(
        session.exec(
            query.order_by(
                col(Case.answer_due).is_(None), col(Case.answer_due), col(Case.id)
            ).limit(limit)
        )
    )
    return _with_details(session, cases, total)


def _with_details(session: Session, cases: list[Case], total: int) -> Page:
    ids = [c.id for c in cases]
    if not ids:
        return Page([], total, {}, {})
    waiting = session.exec(
        select(Draft.case_id, func.count())
        .where(col(Draft.case_id).in_(ids), Draft.status == "draft")
        .group_by(col(Draft.case_id))
    )
    subjects: dict[int, str] = {}
    first = session.exec(
        select(MailMessage.case_id, MailMessage.subject)
        .where(col(MailMessage.case_id).in_(ids), MailMessage.direction == "in")
        .order_by(col(MailMessage.id))
    )
    for case_id, subject in first:
        if case_id is not None:
            subjects.setdefault(case_id, subject)
    late_paused = session.exec(
        select(CasePause.case_id).where(
            col(CasePause.case_id).in_(ids),
            col(CasePause.ended_at).is_(None),
            col(CasePause.due_at) < col(CasePause.started_at),
        )
    )
    return Page(
        cases,
        total,
        {case_id: int(n) for case_id, n in waiting},
        subjects,
        frozenset(late_paused),
    )


def open_cases(session: Session, *, limit: int) -> Page:
    return _page(session, [_open()], limit)


def overdue(session: Session, now: datetime, *, limit: int) -> Page:
    return _page(session, [repo.overdue(now)], limit)


def assigned_to(session: Session, user: str, *, limit: int) -> Page:
    return _page(session, [_open(), Case.assignee == user], limit)


def due_between(session: Session, start: datetime, end: datetime, *, limit: int) -> Page:
    """Open cases due from ``start`` (inclusive) to ``end`` (exclusive): not yet overdue."""
    return _page(
        session, [_open(), col(Case.answer_due) >= start, col(Case.answer_due) < end], limit
    )


def awaiting_approval(session: Session, *, limit: int) -> Page:
    """Cases with a draft waiting for an approver, whatever their status."""
    return _page(session, [_waiting()], limit)


def search(session: Session, text: str, *, limit: int) -> Page:
    """Cases matching ``text`` (``storage.search``: part of a reference, a subject, a body or a
    requester name, Japanese included; a requester address only whole), the best first: a hit
    in the reference, address, name or a subject above hits in bodies, more hits above fewer,
    then the most recently received; a word with more matches than ``storage.search.CANDIDATES``
    among its newest only (``Page.capped``). ``Page.matched`` says where each matched. Raises
    ``storage.search.QueryError`` for a query that cannot be searched (one Latin letter)."""
    found = fulltext.find(session, text, limit=limit)
    ids = [hit.case_id for hit in found.hits]
    by_id = {c.id: c for c in session.exec(select(Case).where(col(Case.id).in_(ids)))}
    cases = [by_id[hit.case_id] for hit in found.hits if hit.case_id in by_id]
    page = _with_details(session, cases, found.total)
    matched = {hit.case_id: hit.fields for hit in found.hits}
    return replace(page, matched=matched, capped=found.capped)


def case_summary(session: Session, ref: str, *, events: int) -> CaseSummary | None:
    """One case as ``/privacy case`` shows it, or None if no case has that reference."""
    case = session.exec(select(Case).where(Case.ref == ref.upper())).first()
    if case is None or case.id is None:
        return None
    details = _with_details(session, [case], 1)
    drafts = list(
        session.exec(
            select(Draft)
            .where(Draft.case_id == case.id, Draft.status == "draft")
            .order_by(col(Draft.id))
        )
    )
    latest = list(
        session.exec(
            select(AuditEvent)
            .where(AuditEvent.case_id == case.id)
            .order_by(col(AuditEvent.id).desc())
            .limit(events)
        )
    )
    return CaseSummary(case, details.subjects.get(case.id, ""), drafts, latest)
