"""The scheduler's queries: reminders and digests recorded before they are posted, what became of
them, and the facts a digest counts.

Rows are inserted with ``ON CONFLICT DO NOTHING`` on their unique key (a reminder per case and
threshold, a digest per Tokyo day), so an insert that finds its row already there tells the caller
another replica or an earlier run took it. Which statuses count as finished, delivered or an answer
is the caller's rule (``handlers``), given as arguments.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Table, func, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, SQLModel, col, select

from handlers.status import Status
from storage import repo
from storage.models import Case, CasePause, Digest, Draft, OutboxItem, SentReminder

OPEN = ("pending", "uncertain")  # recorded, not known to be in Slack
HISTORIC = "historic"  # the slack_state of a case opened from historic mail


def _table(model: type[SQLModel]) -> Table:
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


REMINDERS = _table(SentReminder)
DIGESTS = _table(Digest)


def insert_new(session: Session, table: Table, unique: list[str], **values: Any) -> Any:
    """Insert a row unless one with the same ``unique`` columns exists (``ON CONFLICT DO
    NOTHING``, on SQLite and PostgreSQL alike): its primary key, or None when it existed."""
    dialect = session.get_bind().dialect.name
    make = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        make(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=unique)
        .returning(*table.primary_key.columns)
    )
    return session.connection().execute(statement).scalar_one_or_none()


# ---- reminders ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    """A recorded reminder, as a pass needs it."""

    id: int
    threshold: str
    state: str
    text: str


@dataclass
class OpenCases:
    """What one pass reads: the open cases (historic ones left out), their pauses and reminders."""

    cases: list[Case] = field(default_factory=list)
    pauses: dict[int, list[CasePause]] = field(default_factory=lambda: defaultdict(list))
    recorded: dict[int, list[Recorded]] = field(default_factory=lambda: defaultdict(list))
    dropped: int = 0  # reminders of finished cases, no longer needed


def open_cases(session: Session, finished: Collection[str]) -> OpenCases:
    """Drop the reminders still waiting for Slack of cases now ``finished`` (committed), then
    read the others' cases, pauses and reminders, oldest first."""
    done = sorted(finished)
    found = OpenCases()
    dropped = session.execute(
        update(REMINDERS)
        .where(
            REMINDERS.c.state.in_(OPEN),
            REMINDERS.c.case_id.in_(select(Case.id).where(col(Case.status).in_(done))),
        )
        .values(state="dropped")
    )
    found.dropped = int(dropped.rowcount)  # type: ignore[attr-defined]
    session.commit()
    found.cases = list(
        session.exec(
            select(Case)
            .where(col(Case.status).not_in(done))
            .where(col(Case.slack_state) != HISTORIC)
            .order_by(col(Case.id))
        )
    )
    for pause in session.exec(
        select(CasePause)
        .join(Case, col(Case.id) == col(CasePause.case_id))
        .where(col(Case.status).not_in(done))
        .order_by(col(CasePause.id))
    ):
        found.pauses[pause.case_id].append(pause)
    for row in session.exec(
        select(SentReminder)
        .join(Case, col(Case.id) == col(SentReminder.case_id))
        .where(col(Case.status).not_in(done))
        .order_by(col(SentReminder.id))
    ):
        assert row.id is not None
        found.recorded[row.case_id].append(Recorded(row.id, row.threshold, row.state, row.text))
    return found


def record(session: Session, case_id: int, threshold: str, now: datetime, text: str) -> int | None:
    """Insert a reminder ``pending`` (not committed): its id, or None when it was there."""
    return insert_new(  # type: ignore[no-any-return]
        session,
        REMINDERS,
        ["case_id", "threshold"],
        case_id=case_id,
        threshold=threshold,
        sent_at=now,
        state="pending",
        text=text,
    )


def supersede(session: Session, ids: Sequence[int]) -> int:
    """Mark the reminders ``ids`` still waiting for Slack superseded (not committed): how many."""
    if not ids:
        return 0
    done = session.execute(
        update(REMINDERS)
        .where(REMINDERS.c.id.in_(ids), REMINDERS.c.state.in_(OPEN))
        .values(state="superseded")
    )
    return int(done.rowcount)  # type: ignore[attr-defined]


def set_state(session: Session, ids: Sequence[int], state: str) -> None:
    """The reminders ``ids`` are now in ``state`` (committed)."""
    session.execute(update(REMINDERS).where(REMINDERS.c.id.in_(ids)).values(state=state))
    session.commit()


def posted(
    session: Session, case_id: int, row: Recorded, ts: str, now: datetime, action: str
) -> None:
    """The reminder is in Slack as message ``ts``: recorded, with its audit event (``posted``:
    told already, the case poster does not tell it again), committed together."""
    session.execute(
        update(REMINDERS)
        .where(REMINDERS.c.id == row.id)
        .values(state="posted", posted_at=now, ts=ts)
    )
    repo.audit(
        session, case_id, "scheduler", action, threshold=row.threshold, text=row.text, posted=True
    )
    session.commit()


def asked_for(
    session: Session, case_id: int, kind: str, delivered: Collection[str]
) -> list[str] | None:
    """What the last identity request of this ``kind`` that went out asked for, if any."""
    asked = session.exec(
        select(Draft)
        .where(Draft.case_id == case_id, Draft.template == "identity_request")
        .where(col(Draft.status).in_(("approved", *delivered)))
        .order_by(col(Draft.id).desc())
    ).first()
    if asked is not None and asked.values.get("kind") == kind and asked.values.get("needed"):
        return [str(item) for item in asked.values["needed"]]
    return None


# ---- the daily digest -------------------------------------------------------------------------


def digest(session: Session, day: date) -> Digest | None:
    return session.get(Digest, day)


def record_digest(
    session: Session, day: date, now: datetime, text: str, last_case_id: int
) -> Digest | None:
    """Insert the day's digest ``pending`` and supersede earlier days' still waiting for Slack
    (committed): the row, or None when it was there."""
    inserted = insert_new(
        session,
        DIGESTS,
        ["day"],
        day=day,
        recorded_at=now,
        state="pending",
        text=text,
        last_case_id=last_case_id,
    )
    if inserted is None:
        session.rollback()
        return None
    session.execute(
        update(DIGESTS)
        .where(DIGESTS.c.day < day, DIGESTS.c.state.in_(OPEN))
        .values(state="superseded")
    )
    session.commit()
    return session.get(Digest, day)


def set_digest_state(session: Session, day: date, state: str) -> None:
    session.execute(update(DIGESTS).where(DIGESTS.c.day == day).values(state=state))
    session.commit()


def digest_posted(session: Session, day: date, ts: str, now: datetime) -> None:
    session.execute(
        update(DIGESTS).where(DIGESTS.c.day == day).values(state="posted", posted_at=now, ts=ts)
    )
    session.commit()


@dataclass(frozen=True)
class DigestFacts:
    """What a day's digest counts: case references, with the deadlines it shows."""

    newest: int  # the newest case counted (the next digest's "new" starts after it)
    new: list[str]
    soon: list[tuple[str, datetime]]  # (ref, answer due)
    overdue: list[str]
    approval: list[str]
    answered: list[str]
    triage: list[tuple[str, datetime | None]]  # (ref, triage due)
    historic: list[bool]  # each open historic case: whether it is overdue (repo.overdue)


def digest_facts(
    session: Session,
    day: date,
    now: datetime,
    *,
    soon_until: datetime,
    yesterday: tuple[datetime, datetime],
    finished: Collection[str],
    delivered: Collection[str],
    answers: Collection[str],
) -> DigestFacts:
    """The facts of ``day``'s digest: new since the last digest (or over the last day, for the
    first), due before ``soon_until``, overdue, waiting for approval, answered ``yesterday``
    (start, end), waiting for triage; historic cases only counted."""
    done = sorted(finished)
    previous = session.exec(
        select(Digest).where(col(Digest.day) < day).order_by(col(Digest.day).desc())
    ).first()
    newest = session.exec(select(func.max(Case.id))).one() or 0
    # Historic cases are counted on a line of their own, never listed one by one.
    listed = col(Case.slack_state) != HISTORIC
    new_query = (
        select(Case.ref).where(Case.status != Status.QUARANTINED, listed).order_by(col(Case.id))
    )
    if previous is not None:
        new_query = new_query.where(col(Case.id) > previous.last_case_id)
    else:  # the first digest: what came in over the last day
        new_query = new_query.where(col(Case.received_at) >= now - timedelta(days=1))
    new = list(session.exec(new_query.where(col(Case.id) <= newest)))
    open_cases = select(Case.ref, Case.answer_due).where(col(Case.status).not_in(done), listed)
    soon = [
        (ref, due)
        for ref, due in session.exec(
            open_cases.where(
                col(Case.answer_due) >= now, col(Case.answer_due) < soon_until
            ).order_by(col(Case.answer_due))
        )
        if due is not None
    ]
    overdue = [
        ref
        for ref, _ in session.exec(
            open_cases.where(repo.overdue(now)).order_by(col(Case.answer_due))
        )
    ]
    triage = list(
        session.exec(
            select(Case.ref, Case.triage_due)
            .where(col(Case.needs_triage), col(Case.status).not_in(done), listed)
            .order_by(col(Case.triage_due))
        )
    )
    approval = list(
        session.exec(
            select(Case.ref)
            .where(col(Case.id).in_(select(Draft.case_id).where(Draft.status == "draft")))
            .where(col(Case.status).not_in(done), listed)
            .order_by(col(Case.id))
        )
    )
    start, end = yesterday
    answered = list(
        session.exec(
            select(Case.ref)
            .where(
                col(Case.id).in_(
                    select(OutboxItem.case_id).where(
                        col(OutboxItem.status).in_(delivered),
                        col(OutboxItem.template).in_(answers),
                        col(OutboxItem.sent_at) >= start,
                        col(OutboxItem.sent_at) < end,
                    )
                )
            )
            .order_by(col(Case.id))
        )
    )
    historic = [
        bool(late)
        for late in session.exec(
            select(repo.overdue(now)).where(
                col(Case.slack_state) == HISTORIC, col(Case.status).not_in(done)
            )
        )
    ]
    return DigestFacts(newest, new, soon, overdue, approval, answered, triage, historic)
