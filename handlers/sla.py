"""The SLA clock: when a case's acknowledgement and answer are due, from its policies as data.

Rules this module keeps (each one a choice; tests pin them down):

- Time zone: every instant is read in Asia/Tokyo; a receipt just before midnight UTC may already
  be the next day here, and that Tokyo date is the receipt date.
- Due moment: the end of the due day, 23:59:59.999999 Asia/Tokyo. Periods are counted in whole
  days (as the Civil Code, Art. 141, does: a period ends when its last day ends), so a reply sent
  at any time on the due day is on time.
- Counting: N ``calendar_days`` = receipt date + N; N ``business_days`` = the N-th business day
  after the receipt date (the receipt day never counts); N ``months`` = the same day N months
  later, clamped to the month's end (Jan 31 + 1 month = Feb 28). A calendar-day deadline that
  lands on a holiday is not moved: earlier is the safe side.
- Business days: Monday to Friday, except Japanese public holidays (the ``holidays`` package)
  and the year-end closure (12/29-1/3 unless configured otherwise). Other jurisdictions use the
  same desk calendar.
- Pauses (the desk waits on the requester): each pause, overlapping ones merged, moves a
  deadline by the days between its start date and its end date in Tokyo, counted like a period
  (the start day does not count, the resume day does): calendar days for ``calendar_days`` and
  ``months`` policies, business days for ``business_days`` ones. A pause that starts and ends
  on the same day moves nothing. A pause that starts after a deadline has passed does not revive
  it. Acknowledgements are never paused. While a pause is open no answer is due; the time that
  was left when it began is kept in ``Deadlines.remaining``.
- Undecided cases (DESIGN rule 6): until a person decides what a case asks for, it is clocked
  as if it asked for every rights request as well, so it carries the earlier of its own deadline
  and the strictest rights-request deadline of its jurisdiction (``clocked_intents``); deciding
  it has a deadline of its own (``triage_due``), counted in business days like the others.
- Extension: one, with a reason, for the intents whose policy offers one, granted before their
  deadline. When the answer and the extension share a unit they are counted together from the
  receipt (GDPR: Jan 31 + 3 months = Apr 30, not Feb 28 + 2 months). An extension the case
  already has (``Extension.recorded``) is never refused afterwards: when the case's jurisdiction
  changes, it applies to the intents whose new policy offers one and for which it came in time,
  and moves nothing otherwise; it stays used either way (the requester was told).
- Jurisdictions: ``appi``, ``gdpr`` and ``ccpa``, each with a policy for every intent that has a
  clock. ``Rules`` is what the desk runs on: the packaged table with the operator's file
  (``PD_SLA_POLICIES``) merged over it per (jurisdiction, intent), the calendar, and the
  jurisdiction of new cases (``PD_JURISDICTION``).

Errors: ``SlaError`` (a ``ValueError``) for bad policy files and bad input to ``deadlines``; a
policy file's problems are all found in one reading, one line each in ``SlaError.problems``.
"""

from __future__ import annotations

import calendar as _calendar
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Literal, TypeAlias, cast, get_args

import holidays

from handlers.clock import TOKYO
from handlers.intents import ALL_INTENTS, AUTO_REPLY, RIGHTS, SPAM

END_OF_DAY = time(23, 59, 59, 999999)

Unit: TypeAlias = Literal["calendar_days", "business_days", "months"]
UNITS: tuple[str, ...] = get_args(Unit)
MonthDay: TypeAlias = tuple[int, int]
PolicyKey: TypeAlias = tuple[str, str]  # (jurisdiction, intent)
PolicyTable: TypeAlias = Mapping[PolicyKey, "Policy"]
Pause: TypeAlias = tuple[datetime, datetime | None]

_DEFAULTS = "sla_policies.toml"
JURISDICTIONS: tuple[str, ...] = ("appi", "gdpr", "ccpa")
# The intents a case's clock may count; the others (machine mail, spam) owe nothing.
TIMED: tuple[str, ...] = tuple(i for i in ALL_INTENTS if i not in (AUTO_REPLY, SPAM))
_POLICY_KEYS = ("jurisdiction", "intent", "answer", "ack", "extension", "note")


class SlaError(ValueError):
    """A policy file, a policy lookup or an input to the clock is not usable; the message says why
    (``problems``: one line per problem, as many as one reading found)."""

    def __init__(self, *problems: str, key: str = "", **values: object) -> None:
        self.problems = list(problems)
        # A refusal staff may meet in Slack also names itself by a key of the ``[refusal]``
        # staff texts with its values (``bot.replies.Reason``); the message stays English.
        self.key, self.values = key, values
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class Period:
    amount: int
    unit: Unit


@dataclass(frozen=True)
class Policy:
    jurisdiction: str
    intent: str
    answer: Period
    ack: Period | None = None
    extension: Period | None = None  # None: the law offers no extension
    note: str = ""


@dataclass(frozen=True)
class Extension:
    reason: str
    granted_at: datetime
    # True: the case has it already (it is applied where it holds, never refused again);
    # False: it is being granted now, and refused when it cannot be.
    recorded: bool = False


@dataclass(frozen=True)
class BusinessCalendar:
    """The desk's working days: weekdays that are neither Japanese holidays nor the closure."""

    # (month, day) of the first and last closed day; the range may wrap over the new year.
    year_end_closure: tuple[MonthDay, MonthDay] | None = ((12, 29), (1, 3))

    def is_business_day(self, day: date) -> bool:
        if day.weekday() >= 5 or day in _japanese_holidays(day.year):
            return False
        return not self._in_closure(day)

    def add_business_days(self, day: date, n: int) -> date:
        """The n-th business day after ``day`` (``day`` itself never counts); ``day`` when n is 0."""
        for _ in range(n):
            day += timedelta(days=1)
            while not self.is_business_day(day):
                day += timedelta(days=1)
        return day

    def business_days_between(self, start: date, end: date) -> int:
        """Business days after ``start`` up to and including ``end``."""
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            count += self.is_business_day(day)
        return count

    def _in_closure(self, day: date) -> bool:
        if self.year_end_closure is None:
            return False
        first, last = self.year_end_closure
        here = (day.month, day.day)
        if first <= last:
            return first <= here <= last
        return here >= first or here <= last


@lru_cache(maxsize=16)
def _japanese_holidays(year: int) -> frozenset[date]:
    # Outside the package's range it silently knows no holidays; a wrong deadline is worse.
    japan = holidays.country_holidays("JP", years=year)
    if not japan.start_year <= year <= japan.end_year:
        raise SlaError(f"no Japanese holiday data for {year}", key="sla_no_holidays", year=year)
    return frozenset(japan.keys())


@dataclass(frozen=True)
class Deadlines:
    received: datetime  # in Asia/Tokyo
    jurisdiction: str
    due: Mapping[str, datetime | None]  # per intent; None while the clock is paused
    answer_due: datetime | None  # the earliest of ``due``; None while paused
    ack_due: datetime | None  # None: no policy asks for an acknowledgement
    paused_days: int  # calendar days of closed pauses (how long the desk waited)
    paused_since: datetime | None  # start of the open pause, if the clock is stopped now
    remaining: timedelta | None  # answer time left when the open pause began (negative: late)
    extended: bool
    extension: Extension | None

    @property
    def paused(self) -> bool:
        return self.paused_since is not None


# ---- policies as data ----


@dataclass(frozen=True)
class Rules:
    """What the desk's clock runs on: the policy table, the business calendar, and the
    jurisdiction new cases get (``load_rules``)."""

    table: PolicyTable
    calendar: BusinessCalendar
    jurisdiction: str = "appi"


def default_policies() -> PolicyTable:
    """The shipped policies (``handlers/sla_policies.toml``)."""
    return _defaults()[0]


def default_rules() -> Rules:
    """The shipped policies and calendar; new cases under APPI."""
    return Rules(default_policies(), load_calendar())


def load_rules(path: str | Path | None = None, *, jurisdiction: str = "appi") -> Rules:
    """The rules of the settings: the shipped policies with the operator file at ``path`` merged
    over them, its calendar where it has one, and ``jurisdiction`` for new cases. ``SlaError``
    lists every problem of the file."""
    if jurisdiction not in JURISDICTIONS:
        raise SlaError(f"unknown jurisdiction {jurisdiction!r} (one of {', '.join(JURISDICTIONS)})")
    if path is None:
        return Rules(default_policies(), load_calendar(), jurisdiction)
    table, calendar = _read(Path(path))
    merged = MappingProxyType({**default_policies(), **table})
    return Rules(merged, calendar or load_calendar(), jurisdiction)


def load_policies(path: str | Path | None = None) -> PolicyTable:
    """The shipped policies, with the entries of the operator file at ``path`` merged over them."""
    return load_rules(path).table


def load_calendar(path: str | Path | None = None) -> BusinessCalendar:
    """The shipped business calendar, or the operator file's ``[calendar]`` where it has one."""
    calendar = _defaults()[1]
    if path is not None:
        calendar = _read(Path(path))[1] or calendar
    if calendar is None:
        raise SlaError(f"the shipped {_DEFAULTS} has no [calendar]")
    return calendar


def parse_policies(
    data: Mapping[str, object], *, source: str, base: PolicyTable | None = None
) -> tuple[dict[PolicyKey, Policy], BusinessCalendar | None]:
    """Policies and the calendar (None when absent) from parsed TOML; ``source`` names it in
    errors. An entry whose (jurisdiction, intent) is in ``base`` keeps the values of ``base``'s
    policy for the keys it does not give; any other entry must give its ``answer``. Every
    problem is found before ``SlaError`` lists them."""
    problems: list[str] = []
    for name in sorted(set(data) - {"policy", "calendar"}):
        problems.append(f"{source}: unknown top-level key {name!r} (policy, calendar)")
    entries = data.get("policy", [])
    if not isinstance(entries, list):
        problems.append(f"{source}: 'policy' must be an array of tables ([[policy]])")
        entries = []
    table: dict[PolicyKey, Policy] = {}
    seen: set[tuple[str, ...]] = set()
    for number, entry in enumerate(entries, start=1):
        where = f"{source}: policy #{number}"
        if isinstance(entry, dict):
            names = tuple(str(entry.get(k, "")).strip().lower() for k in ("jurisdiction", "intent"))
            if all(names) and names in seen:
                problems.append(f"{where} ({names[0]}/{names[1]}): defined twice")
            seen.add(names)
        policy = _policy(entry, where, base or {}, problems)
        if policy is not None:
            table[(policy.jurisdiction, policy.intent)] = policy
    calendar = None
    if "calendar" in data:
        try:
            calendar = _calendar_of(data["calendar"], f"{source}: [calendar]")
        except SlaError as exc:
            problems += exc.problems
    if problems:
        raise SlaError(*problems)
    return table, calendar


@lru_cache(maxsize=1)
def _defaults() -> tuple[PolicyTable, BusinessCalendar | None]:
    text = resources.files("handlers").joinpath(_DEFAULTS).read_text(encoding="utf-8")
    table, calendar = parse_policies(tomllib.loads(text), source=_DEFAULTS)
    return MappingProxyType(table), calendar


def _read(path: Path) -> tuple[dict[PolicyKey, Policy], BusinessCalendar | None]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SlaError(f"cannot read SLA policy file {path}: {exc.strerror or exc}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SlaError(f"SLA policy file {path} is not valid TOML: {exc}") from exc
    return parse_policies(data, source=str(path), base=default_policies())


def _policy(entry: object, where: str, base: PolicyTable, problems: list[str]) -> Policy | None:
    """The entry as a policy, or None with its problems added to ``problems``."""
    if not isinstance(entry, dict):
        problems.append(f"{where}: must be a table")
        return None
    found: list[str] = []
    jurisdiction = _named(entry, "jurisdiction", JURISDICTIONS, where, found)
    intent = _named(entry, "intent", ALL_INTENTS, where, found)
    if jurisdiction and intent:
        where = f"{where} ({jurisdiction}/{intent})"
    for key in sorted(set(entry) - set(_POLICY_KEYS)):
        found.append(f"{where}: unknown key {key!r} ({', '.join(_POLICY_KEYS)})")
    before = base.get((jurisdiction, intent)) if jurisdiction and intent else None
    answer = before.answer if before else None
    if "answer" in entry:
        answer = _checked(
            lambda: _period(entry["answer"], f"{where}: answer", optional=False), found
        )
    elif before is None and jurisdiction and intent:
        found.append(f"{where}: 'answer' is required")
    ack, extension = (before.ack, before.extension) if before else (None, None)
    if "ack" in entry:
        ack = _checked(lambda: _period(entry["ack"], f"{where}: ack", optional=True), found)
    if "extension" in entry:
        extension = _checked(
            lambda: _period(entry["extension"], f"{where}: extension", optional=True), found
        )
    note = entry.get("note", before.note if before else "")
    if not isinstance(note, str):
        found.append(f"{where}: 'note' must be a string")
    problems += found
    if found or answer is None or not jurisdiction or not intent:
        return None
    return Policy(jurisdiction, intent, answer, ack=ack, extension=extension, note=str(note))


def _checked(read: Callable[[], Period | None], problems: list[str]) -> Period | None:
    try:
        return read()
    except SlaError as exc:
        problems += exc.problems
        return None


def _named(
    entry: Mapping[str, object],
    key: str,
    known: Sequence[str],
    where: str,
    problems: list[str],
) -> str:
    """The entry's ``key`` (lower case), one of ``known``; "" with a problem added otherwise."""
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{where}: {key!r} must be a non-empty string")
        return ""
    name = value.strip().lower()
    if name not in known:
        problems.append(f"{where}: unknown {key} {value!r} (one of {', '.join(known)})")
        return ""
    return name


def _period(value: object, where: str, *, optional: bool) -> Period | None:
    if optional and value == "none":
        return None
    if not isinstance(value, dict) or set(value) != {"amount", "unit"}:
        wanted = '{ amount = N, unit = "..." }' + (' or "none"' if optional else "")
        raise SlaError(f"{where}: must be {wanted}")
    amount, unit = value["amount"], value["unit"]
    # bool is an int in Python; `amount = true` is a typo, not 1.
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 1:
        raise SlaError(f"{where}: amount must be a positive integer, not {amount!r}")
    if unit not in UNITS:
        raise SlaError(f"{where}: unit must be one of {', '.join(UNITS)}, not {unit!r}")
    return Period(amount, cast(Unit, unit))


def _calendar_of(value: object, where: str) -> BusinessCalendar:
    if not isinstance(value, dict) or set(value) != {"year_end_closure"}:
        raise SlaError(f"{where}: must hold exactly 'year_end_closure'")
    closure = value["year_end_closure"]
    if closure == "none":
        return BusinessCalendar(year_end_closure=None)
    if not isinstance(closure, list) or len(closure) != 2:
        raise SlaError(f'{where}: year_end_closure must be ["MM-DD", "MM-DD"] or "none"')
    first, last = (_month_day(item, where) for item in closure)
    return BusinessCalendar(year_end_closure=(first, last))


def _month_day(value: object, where: str) -> MonthDay:
    try:
        if not isinstance(value, str):
            raise ValueError
        month, day = (int(part) for part in value.split("-"))
        date(2000, month, day)  # a leap year, so 02-29 is accepted
    except ValueError:
        raise SlaError(f"{where}: {value!r} is not a MM-DD day") from None
    return month, day


# ---- the clock ----

# Kinds of case whose name is also an intent with a policy of its own (see ``clocked_intents``).
_KINDS_WITHOUT_POLICY = ("other", "privacy")


def clocked_intents(intents: Iterable[str], kind: str, *, undecided: bool) -> list[str]:
    """What the clock counts for a case: its intents (machine mail and spam owe nothing), or its
    kind when it has none; while nobody has decided what it asks for, every rights request too,
    so no human mail waits without the clock the law may give it. Empty: no deadline."""
    wanted = [i for i in dict.fromkeys(intents) if i not in (AUTO_REPLY, SPAM)]
    if not wanted and kind not in _KINDS_WITHOUT_POLICY:
        wanted = [kind]
    if undecided:
        wanted += [i for i in RIGHTS if i not in wanted]
    return wanted


def triage_due(
    received: datetime, business_days: int, *, calendar: BusinessCalendar | None = None
) -> datetime:
    """When a person must have decided what a case asks for: the end of the ``business_days``-th
    business day after its receipt (Tokyo)."""
    if business_days < 1:
        raise SlaError(f"triage needs at least one business day, not {business_days}")
    calendar = load_calendar() if calendar is None else calendar
    day = calendar.add_business_days(_tokyo(received, "received").date(), business_days)
    return _end_of(day)


def deadlines(
    received: datetime,
    intents: Iterable[str],
    *,
    jurisdiction: str = "appi",
    pauses: Sequence[Pause] = (),
    extension: Extension | None = None,
    table: PolicyTable | None = None,
    calendar: BusinessCalendar | None = None,
) -> Deadlines:
    """Each intent's answer deadline, the case's (the earliest) and its acknowledgement deadline."""
    table = default_policies() if table is None else table
    calendar = load_calendar() if calendar is None else calendar
    received = _tokyo(received, "received")
    wanted = list(dict.fromkeys(intents))
    if not wanted:
        raise SlaError("a case without intents has no deadline", key="sla_no_intents")
    policies = [_lookup(table, jurisdiction, intent) for intent in wanted]
    closed, open_since = _merge(pauses, received)
    start = received.date()

    due_days = {p.intent: _due_day(start, p.answer, None, closed, calendar) for p in policies}
    extendable: list[Policy] = []
    if extension is not None and extension.recorded:
        extendable = _kept_extension(extension, policies, due_days)
    elif extension is not None:
        extendable = _check_extension(extension, policies, due_days, received)
    for p in extendable:
        due_days[p.intent] = _due_day(start, p.answer, p.extension, closed, calendar)
    extended = bool(extendable)

    due = {intent: _end_of(day) for intent, day in due_days.items()}
    answer_due = min(due.values())
    acks = [_end_of(_advance(start, p.ack, calendar)) for p in policies if p.ack is not None]
    return Deadlines(
        received=received,
        jurisdiction=jurisdiction,
        due=due if open_since is None else dict.fromkeys(due),
        answer_due=answer_due if open_since is None else None,
        ack_due=min(acks, default=None),
        paused_days=sum((end - begin).days for begin, end in closed),
        paused_since=open_since,
        remaining=None if open_since is None else answer_due - open_since,
        extended=extended,
        extension=extension if extended else None,
    )


def time_left(deadlines: Deadlines, now: datetime) -> timedelta:
    """Time until the answer is due (negative when late); frozen while the clock is paused."""
    _tokyo(now, "now")
    if deadlines.answer_due is None:
        assert deadlines.remaining is not None  # answer_due is None only while paused
        return deadlines.remaining
    return deadlines.answer_due - now


def is_overdue(deadlines: Deadlines, now: datetime) -> bool:
    """Whether the answer is late; a case that was late when its clock stopped stays late."""
    _tokyo(now, "now")
    since, left = deadlines.paused_since, deadlines.remaining
    return is_late(
        deadlines.answer_due,
        now,
        paused_since=since,
        due_when_paused=None if since is None or left is None else since + left,
    )


def is_late(
    answer_due: datetime | None,
    now: datetime,
    *,
    paused_since: datetime | None = None,
    due_when_paused: datetime | None = None,
) -> bool:
    """``is_overdue`` for a stored case (``storage.repo.overdue`` is the same rule in SQL): its
    answer is due before ``now``, or, while its clock is stopped (no answer due), the deadline
    running when the clock stopped had already passed."""
    if answer_due is not None:
        return answer_due < now
    if paused_since is None or due_when_paused is None:
        return False
    return due_when_paused < paused_since


def _lookup(table: PolicyTable, jurisdiction: str, intent: str) -> Policy:
    try:
        return table[(jurisdiction, intent)]
    except KeyError:
        raise SlaError(
            f"no SLA policy for intent {intent!r} under {jurisdiction!r}",
            key="sla_no_policy",
            intents=[intent],
            law=jurisdiction,
        ) from None


def _tokyo(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise SlaError(
            f"{name} must be a timezone-aware datetime, got {moment.isoformat()}",
            key="sla_bad_time",
            when=moment.isoformat(),
        )
    return moment.astimezone(TOKYO)


def _end_of(day: date) -> datetime:
    return datetime.combine(day, END_OF_DAY, tzinfo=TOKYO)


def _merge(
    pauses: Sequence[Pause], received: datetime
) -> tuple[list[tuple[date, date]], datetime | None]:
    """Closed pauses as merged (start date, end date) pairs in Tokyo, and the open pause's start."""
    spans: list[tuple[datetime, datetime | None]] = []
    for begin, end in pauses:
        begin = _tokyo(begin, "pause start")
        end = None if end is None else _tokyo(end, "pause end")
        if begin < received:
            raise SlaError(
                f"a pause starts at {begin.isoformat()}, before the receipt",
                key="sla_bad_pause",
                when=begin.isoformat(),
            )
        if end is not None and end < begin:
            raise SlaError(
                f"a pause ends at {end.isoformat()}, before it starts",
                key="sla_bad_pause",
                when=end.isoformat(),
            )
        spans.append((begin, end))
    # Overlapping pauses are one wait: merging keeps a day from being counted twice.
    merged: list[tuple[datetime, datetime | None]] = []
    for begin, end in sorted(spans, key=lambda span: span[0]):
        if merged:
            last_begin, last_end = merged[-1]
            if last_end is None:
                continue  # the open pause swallows everything after it
            if begin <= last_end:
                merged[-1] = (last_begin, None if end is None else max(end, last_end))
                continue
        merged.append((begin, end))
    open_since = merged[-1][0] if merged and merged[-1][1] is None else None
    closed = [(begin.date(), end.date()) for begin, end in merged if end is not None]
    return closed, open_since


def _due_day(
    start: date,
    answer: Period,
    extension: Period | None,
    pauses: Sequence[tuple[date, date]],
    calendar: BusinessCalendar,
) -> date:
    if extension is None:
        day = _advance(start, answer, calendar)
    elif extension.unit == answer.unit:
        day = _advance(start, Period(answer.amount + extension.amount, answer.unit), calendar)
    else:
        day = _advance(_advance(start, answer, calendar), extension, calendar)
    for begin, end in pauses:
        if begin > day:
            break  # the deadline had passed when the desk began to wait
        if answer.unit == "business_days":
            day = calendar.add_business_days(day, calendar.business_days_between(begin, end))
        else:
            day += timedelta(days=(end - begin).days)
    return day


def _advance(day: date, period: Period, calendar: BusinessCalendar) -> date:
    if period.unit == "calendar_days":
        return day + timedelta(days=period.amount)
    if period.unit == "business_days":
        return calendar.add_business_days(day, period.amount)
    year, month = divmod(day.month - 1 + period.amount, 12)
    year, month = day.year + year, month + 1
    return date(year, month, min(day.day, _calendar.monthrange(year, month)[1]))


def _kept_extension(
    extension: Extension, policies: Sequence[Policy], due_days: Mapping[str, date]
) -> list[Policy]:
    """The policies a case's own extension still applies to: those offering one, whose original
    deadline it came before (under a jurisdiction changed since, perhaps none)."""
    granted = _tokyo(extension.granted_at, "extension granted_at")
    return [
        p for p in policies if p.extension is not None and granted <= _end_of(due_days[p.intent])
    ]


def _check_extension(
    extension: Extension,
    policies: Sequence[Policy],
    due_days: Mapping[str, date],
    received: datetime,
) -> list[Policy]:
    """The policies the extension applies to; raises when it cannot be granted."""
    if not extension.reason.strip():
        raise SlaError(
            "an extension needs a reason (it is told to the requester)", key="sla_no_reason"
        )
    granted = _tokyo(extension.granted_at, "extension granted_at")
    if granted < received:
        raise SlaError(
            "an extension cannot be granted before the request was received",
            key="sla_too_early",
        )
    extendable = [p for p in policies if p.extension is not None]
    if not extendable:
        names = ", ".join(f"{p.jurisdiction}/{p.intent}" for p in policies)
        raise SlaError(
            f"no extension is allowed for {names}",
            key="sla_no_extension",
            law=policies[0].jurisdiction,
            intents=[p.intent for p in policies],
        )
    # The law asks for the notice within the original period: a late extension is no extension.
    late = [p.intent for p in extendable if granted > _end_of(due_days[p.intent])]
    if late:
        raise SlaError(
            f"an extension must be granted before the deadline; already passed for {late}",
            key="sla_too_late",
            intents=late,
        )
    return extendable
