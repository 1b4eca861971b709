"""Which reminder a case is owed now: thresholds as data per intent, decided from the case's
facts, its pauses, the reminders already recorded and the time.

Rules this module keeps (tests pin them down):

- Thresholds are computed every time from the current deadline and the pauses, never stored as
  times: pausing, resuming or extending a case moves its future reminders.
- A case whose clock is stopped (an open pause) or that is finished gets no deadline reminder.
- Progress thresholds (``"50%"``, ``"80%"``) count the time allowed while the clock ran: the
  moment when that share of the unpaused time from receipt to deadline has passed. One that
  would fall on or after the due-day reminder is dropped.
- ``"due"``: on the due day at the policy's hour (Tokyo). ``"overdue-N"``: the N-th business day
  after the due day, at that hour. ``"escalated"``: just after the deadline of an intent whose
  policy escalates (complaints), once.
- At most one reminder per case per run, and the latest one that fell due: after downtime a case
  gets one message, not a flood, and a reminder ranked below one already recorded never comes
  (a clock set back repeats nothing). The escalation is never passed over: when due, it goes
  first, and the reminders below it still come in later runs.
- Triage (DESIGN rule 6): a case nobody has decided is reminded on its triage day at the
  policy hour (``"triage"``, or at once when received later that day) and each business day it
  is late (``"triage-late-N"``), the latest that fell due, until a person decides. Triage stands
  outside the deadline order and goes before the deadline reminders.
- Waiting on the requester (an open pause): after ``remind_after`` a reminder mail is drafted
  (``"requester:<pause id>"``); for an identity verification, after ``give_up_after`` staff are
  told and a closing mail drafted (``"unverified:<pause id>"``), which supersedes the reminder.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from types import MappingProxyType
from typing import Literal, TypeAlias

from handlers import sla
from handlers.clock import TOKYO
from handlers.intents import ALL_INTENTS, COMPLAINT
from handlers.replies import VERIFICATION_PAUSE
from handlers.status import NO_REMINDERS

Kind: TypeAlias = Literal[
    "progress", "due", "overdue", "escalation", "requester", "unverified", "triage"
]


# Pause reasons that wait on the requester's identity (a code out, or documents asked for);
# any other reason (a clarification) is not closed as unverified.
IDENTITY_WAITS: frozenset[str] = frozenset({VERIFICATION_PAUSE, "identity documents"})

ESCALATED = "escalated"
DUE = "due"
TRIAGE = "triage"
_TRIAGE_LATE = re.compile(r"^triage-late-(\d+)$")
_PROGRESS = re.compile(r"^(\d{1,3})%$")
_OVERDUE = re.compile(r"^overdue-(\d+)$")


@dataclass(frozen=True)
class ReminderPolicy:
    """When an intent's cases are reminded: shares of the time allowed, the due day, each
    business day while overdue, and whether the escalation group hears of it when late."""

    progress: tuple[float, ...] = (0.5, 0.8)
    due_day: bool = True
    overdue: bool = True
    escalate: bool = False
    at: time = time(9, 0)  # the hour (Tokyo) of the due-day and overdue reminders

    def __post_init__(self) -> None:
        if any(not 0 < share < 1 for share in self.progress):
            raise ValueError(f"progress shares must be between 0 and 1, not {self.progress}")
        if len({round(share * 100) for share in self.progress}) != len(self.progress):
            raise ValueError(f"progress shares must differ in whole percents: {self.progress}")


POLICIES: Mapping[str, ReminderPolicy] = MappingProxyType(
    {intent: ReminderPolicy(escalate=intent == COMPLAINT) for intent in ALL_INTENTS}
)
DEFAULT_POLICY = ReminderPolicy()


@dataclass(frozen=True)
class CaseFacts:
    """What the reminders need of a case. ``intents`` are those its deadline counts (for a case
    with none, its kind, as ``bot.replies.case_deadlines`` chooses)."""

    ref: str
    status: str
    intents: tuple[str, ...]
    received_at: datetime
    jurisdiction: str = "appi"
    extension: sla.Extension | None = None


@dataclass(frozen=True)
class Wait:
    """An open pause: the desk waits on the requester since ``started_at``."""

    id: int
    started_at: datetime
    reason: str

    @property
    def identity(self) -> bool:
        return self.reason in IDENTITY_WAITS


@dataclass(frozen=True)
class Threshold:
    """One reminder: its name (unique per case, what is recorded), what it is about, when it
    falls due, and the deadline (or the start of the wait) it speaks of."""

    name: str
    kind: Kind
    at: datetime
    deadline: datetime
    detail: Mapping[str, int] = field(default_factory=dict)  # overdue: {"days": N}


def rank(name: str) -> float | None:
    """The order of the deadline reminders (50% < 80% < due < overdue-1 < ...); None for the
    escalation and the requester reminders, which stand outside that order."""
    if name == DUE:
        return 1.0
    if match := _PROGRESS.match(name):
        return int(match[1]) / 100
    if match := _OVERDUE.match(name):
        return 1.0 + int(match[1])
    return None


def progress_name(share: float) -> str:
    return f"{round(share * 100)}%"


def policy_for(intents: Sequence[str], policies: Mapping[str, ReminderPolicy]) -> ReminderPolicy:
    """One policy for a case with several intents: every share any of them asks for, the due-day
    and overdue reminders if any asks, the earliest hour. (Escalation stays per intent.)"""
    chosen = [policies.get(intent, DEFAULT_POLICY) for intent in intents] or [DEFAULT_POLICY]
    return ReminderPolicy(
        progress=tuple(sorted({share for p in chosen for share in p.progress})),
        due_day=any(p.due_day for p in chosen),
        overdue=any(p.overdue for p in chosen),
        escalate=any(p.escalate for p in chosen),
        at=min(p.at for p in chosen),
    )


def schedule(
    facts: CaseFacts,
    pauses: Sequence[sla.Pause],
    *,
    until: datetime,
    policies: Mapping[str, ReminderPolicy] = POLICIES,
    table: sla.PolicyTable | None = None,
    calendar: sla.BusinessCalendar | None = None,
) -> list[Threshold]:
    """The case's deadline reminders in time order, overdue ones up to ``until``; [] while its
    clock is stopped or once it is finished."""
    return _thresholds(facts, pauses, until, policies, table, calendar, every_overdue=True)


def due_reminder(
    facts: CaseFacts,
    pauses: Sequence[sla.Pause],
    sent: Collection[str],
    now: datetime,
    *,
    policies: Mapping[str, ReminderPolicy] = POLICIES,
    table: sla.PolicyTable | None = None,
    calendar: sla.BusinessCalendar | None = None,
) -> Threshold | None:
    """The deadline reminder the case is owed at ``now`` given those already recorded
    (``sent``, by name), or None. Raises ``sla.SlaError`` when the case has no usable deadline."""
    fallen = [
        t
        for t in _thresholds(facts, pauses, now, policies, table, calendar, every_overdue=False)
        if t.at <= now and t.name not in sent
    ]
    escalation = [t for t in fallen if t.kind == "escalation"]
    if escalation:
        return escalation[0]
    floor = max((r for r in map(rank, sent) if r is not None), default=float("-inf"))
    ordered = [(r, t) for t in fallen if (r := rank(t.name)) is not None and r > floor]
    return max(ordered, key=lambda pair: pair[0])[1] if ordered else None


def requester_reminder(
    wait: Wait,
    sent: Collection[str],
    now: datetime,
    *,
    remind_after: timedelta = timedelta(days=7),
    give_up_after: timedelta = timedelta(days=14),
) -> Threshold | None:
    """What the desk owes a case waiting on its requester at ``now``: a reminder mail draft, or
    (an identity verification unanswered for ``give_up_after``) telling staff and a closing
    draft. The later one wins; each comes once per pause."""
    remind, give_up = f"requester:{wait.id}", f"unverified:{wait.id}"
    if give_up in sent:
        return None
    if wait.identity and now >= wait.started_at + give_up_after:
        at = wait.started_at + give_up_after
        return Threshold(give_up, "unverified", at, wait.started_at)
    if remind not in sent and now >= wait.started_at + remind_after:
        return Threshold(remind, "requester", wait.started_at + remind_after, wait.started_at)
    return None


def triage_reminder(
    triage_due: datetime | None,
    received_at: datetime,
    sent: Collection[str],
    now: datetime,
    *,
    at: time = DEFAULT_POLICY.at,
    calendar: sla.BusinessCalendar | None = None,
) -> Threshold | None:
    """The triage reminder a case nobody has decided is owed at ``now`` (``triage_due`` is None
    once decided): on its triage day, then each business day it is late; the latest that fell
    due and was not recorded yet, or None."""
    if triage_due is None:
        return None
    calendar = sla.load_calendar() if calendar is None else calendar
    due = triage_due.astimezone(TOKYO)
    late = _overdue_days(due, now.astimezone(TOKYO), at, calendar)
    if late >= 1:
        day = calendar.add_business_days(due.date(), late)
        name = f"triage-late-{late}"
        moment = datetime.combine(day, at, tzinfo=TOKYO)
        if name not in sent:
            return Threshold(name, "triage", moment, due, {"days": late})
        return None
    moment = max(datetime.combine(due.date(), at, tzinfo=TOKYO), received_at)
    if now >= moment and TRIAGE not in sent and not any(map(_TRIAGE_LATE.match, sent)):
        return Threshold(TRIAGE, "triage", moment, due)
    return None


def _thresholds(
    facts: CaseFacts,
    pauses: Sequence[sla.Pause],
    until: datetime,
    policies: Mapping[str, ReminderPolicy],
    table: sla.PolicyTable | None,
    calendar: sla.BusinessCalendar | None,
    *,
    every_overdue: bool,
) -> list[Threshold]:
    # A quarantined case is chased: it is human mail nobody could read, with its clock.
    if facts.status in NO_REMINDERS:
        return []
    calendar = sla.load_calendar() if calendar is None else calendar
    clock = sla.deadlines(
        facts.received_at,
        facts.intents,
        jurisdiction=facts.jurisdiction,
        pauses=pauses,
        extension=facts.extension,
        table=table,
        calendar=calendar,
    )
    if clock.answer_due is None:  # the clock is stopped: nothing is due while the desk waits
        return []
    due = clock.answer_due
    policy = policy_for(list(clock.due), policies)
    due_day_at = datetime.combine(due.date(), policy.at, tzinfo=TOKYO)
    out: list[Threshold] = []
    spans = _closed_spans(pauses, clock.received, due)
    for share in policy.progress:
        at = _share_passed(clock.received, due, spans, share)
        if not policy.due_day or at < due_day_at:
            out.append(Threshold(progress_name(share), "progress", at, due))
    if policy.due_day:
        out.append(Threshold(DUE, "due", max(due_day_at, clock.received), due))
    if policy.overdue:
        latest = _overdue_days(due, until.astimezone(TOKYO), policy.at, calendar)
        for n in range(1, latest + 1) if every_overdue else range(latest, latest + 1):
            if n < 1:
                continue
            day = calendar.add_business_days(due.date(), n)
            at = datetime.combine(day, policy.at, tzinfo=TOKYO)
            out.append(Threshold(f"overdue-{n}", "overdue", at, due, {"days": n}))
    escalating = [
        deadline
        for intent, deadline in clock.due.items()
        if deadline is not None and policies.get(intent, DEFAULT_POLICY).escalate
    ]
    if escalating:
        deadline = min(escalating)
        out.append(
            Threshold(ESCALATED, "escalation", deadline + timedelta(microseconds=1), deadline)
        )
    return sorted(out, key=lambda t: t.at)


def _closed_spans(
    pauses: Sequence[sla.Pause], received: datetime, due: datetime
) -> list[tuple[datetime, datetime]]:
    """Closed pauses, merged and clipped to receipt..deadline, in time order."""
    spans = sorted(
        (max(begin, received), min(end, due))
        for begin, end in pauses
        if end is not None and end > received and begin < due
    )
    merged: list[tuple[datetime, datetime]] = []
    for begin, end in spans:
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        elif end > begin:
            merged.append((begin, end))
    return merged


def _share_passed(
    received: datetime, due: datetime, spans: Sequence[tuple[datetime, datetime]], share: float
) -> datetime:
    """The moment ``share`` of the running (unpaused) time between receipt and deadline passed."""
    running = (due - received) - sum((end - begin for begin, end in spans), timedelta())
    left = running * share
    moment = received
    for begin, end in spans:
        if begin - moment >= left:
            break
        left -= begin - moment
        moment = end
    return (moment + left).astimezone(TOKYO)


def _overdue_days(due: datetime, now: datetime, at: time, calendar: sla.BusinessCalendar) -> int:
    """How many overdue reminders (one per business day after the due day) have fallen by now."""
    today = now.date()
    count = calendar.business_days_between(due.date(), today)
    if count and calendar.is_business_day(today) and now.time() < at:
        count -= 1
    return count
