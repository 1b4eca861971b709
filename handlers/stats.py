"""The month's figures on the desk's requests, as a regulator or a CCPA §7102 report asks for them.

Plain functions over plain records: the service (``bot.report``) reads the cases and writes the
files. What the figures mean:

- A case counts in the month it was **received**, in Asia/Tokyo time (the desk's calendar), even
  when it is answered in a later month: a case received on 31 October and answered on 3 November
  is October's.
- A case is **answered** when its answer mail left the desk: an answer template, a refusal or a
  close for an unverified requester (``handlers.replies.STATUS_AFTER_SENDING``). A refusal is an
  answer (the requester is told why) and is counted again under ``refused``.
- **Days to answer** are calendar days, fractional, from the receipt to the sending of that mail;
  time the desk waited on the requester is not taken off (the deadline allows for it instead).
- **On time** compares the answer with the deadline as it stood when the answer left (pauses and
  an extension granted by then included). **Late** counts answers after their deadline and cases
  still open past theirs; ``on_time_share`` is on time / (on time + late). Cases still open and
  not yet due, closed without an answer, or under no deadline are in neither.
- **Median** and **95th percentile** are shown only from ``MIN_FOR_TIMES`` answers on (else
  ``n/a``): with fewer, a "median" is one requester's own answer time. The median is
  ``statistics.median``; the 95th percentile is ``statistics.quantiles(days, n=20,
  method="inclusive")[18]`` (linear interpolation between the closest ranks, as a spreadsheet's
  PERCENTILE.INC).
- Counts are given as they are, small ones too: a regulator's report is counts, and a count with
  an intent and a language names nobody. No record here holds a reference, an address, a name or
  any text of a message, so no figure or row can carry one.
- A case with several intents counts once in each intent's row and once in the totals. Cases that
  ask for no privacy right (plan questions, provider corrections, unrecognised mail) are left out
  of every figure and only counted, as ``other_cases``.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from handlers.clock import TOKYO
from handlers.intents import PRIVACY
from handlers.status import FINISHED

MIN_FOR_TIMES = 5
TREND_MONTHS = 12
LANGUAGES = ("ja", "en")  # always listed, so an empty month still shows both
DAY = timedelta(days=1)


class MonthError(ValueError):
    """A month that is not YYYY-MM."""


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        found = re.fullmatch(r"(\d{4})-(\d{2})", text.strip())
        if found is None or not 1 <= int(found.group(2)) <= 12 or int(found.group(1)) < 1:
            raise MonthError(f"a month is YYYY-MM (such as 2026-11), not {text!r}")
        return cls(int(found.group(1)), int(found.group(2)))

    @classmethod
    def before(cls, moment: datetime) -> Month:
        """The last full month before ``moment``, in Tokyo."""
        local = moment.astimezone(TOKYO)
        return cls(local.year - 1, 12) if local.month == 1 else cls(local.year, local.month - 1)

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=TOKYO)

    @property
    def end(self) -> datetime:
        """The start of the next month (the month holds moments before it)."""
        if self.month == 12:
            return datetime(self.year + 1, 1, 1, tzinfo=TOKYO)
        return datetime(self.year, self.month + 1, 1, tzinfo=TOKYO)

    def holds(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def back(self, months: int) -> Month:
        """The month ``months`` before this one."""
        index = self.year * 12 + self.month - 1 - months
        return Month(index // 12, index % 12 + 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass(frozen=True)
class CaseRecord:
    """What the figures need of one case, and nothing that could name its requester."""

    received_at: datetime
    intents: tuple[str, ...]
    language: str
    status: str
    # The answer deadline when the answer left (for an open case: as it stands at the report);
    # None when no deadline applies to the case.
    answer_due: datetime | None
    answered_at: datetime | None  # when the answer mail was sent; None: not answered
    extended: bool
    rejected: bool  # the answer was a refusal


@dataclass(frozen=True)
class Figures:
    received: int = 0
    answered: int = 0
    on_time: int = 0
    late: int = 0  # answered after the deadline, or still open past it
    extended: int = 0
    refused: int = 0
    open: int = 0
    closed_unanswered: int = 0
    median_days: float | None = None
    p95_days: float | None = None

    @property
    def on_time_share(self) -> float | None:
        judged = self.on_time + self.late
        return self.on_time / judged if judged else None


@dataclass(frozen=True)
class MonthReport:
    month: Month
    as_of: datetime
    total: Figures
    by_intent: tuple[tuple[str, Figures], ...]  # every privacy intent, in PRIVACY's order
    by_language: tuple[tuple[str, Figures], ...]  # ja, en, then any other seen
    other_cases: int  # received in the month, asking for no privacy right
    # The privacy requests of the twelve months ending with this one, oldest first.
    trend: tuple[tuple[Month, Figures], ...] = ()
    # Privacy requests open at ``as_of`` whatever the month they came in, and how many of them
    # are past their deadline.
    open_now: int = 0
    late_now: int = 0


COLUMNS = (
    "month",
    "group",
    "key",
    "received",
    "answered",
    "answered_on_time",
    "late",
    "on_time_share",
    "median_days_to_answer",
    "p95_days_to_answer",
    "extended",
    "refused",
    "open",
    "closed_without_answer",
)


def percentiles(days: Sequence[float]) -> tuple[float | None, float | None]:
    """(median, 95th percentile) of the days to answer; (None, None) below MIN_FOR_TIMES."""
    if len(days) < MIN_FOR_TIMES:
        return None, None
    return statistics.median(days), statistics.quantiles(days, n=20, method="inclusive")[18]


def figures(records: Iterable[CaseRecord], *, as_of: datetime) -> Figures:
    """The figures of these cases, as of ``as_of`` (an answer after it is not counted yet)."""
    received = answered = on_time = late = extended = refused = opened = closed = 0
    days: list[float] = []
    for record in records:
        received += 1
        extended += record.extended
        done = record.answered_at is not None and record.answered_at <= as_of
        if done:
            assert record.answered_at is not None
            answered += 1
            refused += record.rejected
            days.append((record.answered_at - record.received_at) / DAY)
            if record.answer_due is not None:
                if record.answered_at <= record.answer_due:
                    on_time += 1
                else:
                    late += 1
        elif record.answered_at is None and record.status in FINISHED:
            closed += 1
        else:
            opened += 1
            if record.answer_due is not None and record.answer_due < as_of:
                late += 1
    median, p95 = percentiles(days)
    return Figures(
        received=received,
        answered=answered,
        on_time=on_time,
        late=late,
        extended=extended,
        refused=refused,
        open=opened,
        closed_unanswered=closed,
        median_days=median,
        p95_days=p95,
    )


def month_report(records: Iterable[CaseRecord], month: Month, *, as_of: datetime) -> MonthReport:
    """The month's figures: cases received in ``month`` (Tokyo), in total, by intent and by
    language; other months' cases are ignored."""
    privacy: list[CaseRecord] = []
    other = 0
    for record in records:
        if not month.holds(record.received_at):
            continue
        intents = tuple(i for i in record.intents if i in PRIVACY)
        if not intents:
            other += 1
            continue
        privacy.append(record if intents == record.intents else _with_intents(record, intents))
    languages = [*LANGUAGES, *sorted({r.language or "unknown" for r in privacy} - set(LANGUAGES))]
    return MonthReport(
        month=month,
        as_of=as_of,
        total=figures(privacy, as_of=as_of),
        by_intent=tuple(
            (i, figures((r for r in privacy if i in r.intents), as_of=as_of)) for i in PRIVACY
        ),
        by_language=tuple(
            (lang, figures((r for r in privacy if (r.language or "unknown") == lang), as_of=as_of))
            for lang in languages
        ),
        other_cases=other,
    )


def trend(
    records: Sequence[CaseRecord], last: Month, *, as_of: datetime, months: int = TREND_MONTHS
) -> tuple[tuple[Month, Figures], ...]:
    """Each of the ``months`` months ending with ``last``, oldest first: the figures of the privacy
    requests received in it, judged as of ``as_of``."""
    out = []
    for back in range(months - 1, -1, -1):
        month = last.back(back)
        privacy = [
            r
            for r in records
            if month.holds(r.received_at) and any(i in PRIVACY for i in r.intents)
        ]
        out.append((month, figures(privacy, as_of=as_of)))
    return tuple(out)


def _with_intents(record: CaseRecord, intents: tuple[str, ...]) -> CaseRecord:
    return CaseRecord(
        received_at=record.received_at,
        intents=intents,
        language=record.language,
        status=record.status,
        answer_due=record.answer_due,
        answered_at=record.answered_at,
        extended=record.extended,
        rejected=record.rejected,
    )


def _number(value: float | None, places: int) -> str:
    return "n/a" if value is None else f"{value:.{places}f}"


def rows(report: MonthReport) -> list[dict[str, str]]:
    """The report as CSV rows (``COLUMNS``): the totals, each intent, each language, and the
    count of other cases. Keys are intent names and language codes only."""
    month = str(report.month)
    out = []
    groups = [
        ("all", "all", report.total),
        *(("intent", key, f) for key, f in report.by_intent),
        *(("language", key, f) for key, f in report.by_language),
    ]
    for group, key, f in groups:
        out.append(
            {
                "month": month,
                "group": group,
                "key": key,
                "received": str(f.received),
                "answered": str(f.answered),
                "answered_on_time": str(f.on_time),
                "late": str(f.late),
                "on_time_share": _number(f.on_time_share, 3),
                "median_days_to_answer": _number(f.median_days, 2),
                "p95_days_to_answer": _number(f.p95_days, 2),
                "extended": str(f.extended),
                "refused": str(f.refused),
                "open": str(f.open),
                "closed_without_answer": str(f.closed_unanswered),
            }
        )
    other = dict.fromkeys(COLUMNS, "")
    other.update(month=month, group="other", key="not_a_privacy_request")
    other["received"] = str(report.other_cases)
    out.append(other)
    return out
