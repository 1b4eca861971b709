"""The month's figures (handlers.stats) on fixed records: what counts where, times to answer,
the share answered on time, extensions, refusals, and the month a case belongs to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from handlers.intents import PRIVACY
from handlers.stats import (
    COLUMNS,
    CaseRecord,
    Figures,
    Month,
    MonthError,
    MonthReport,
    month_report,
    rows,
)

TOKYO = ZoneInfo("Asia/Tokyo")
NOVEMBER = Month(2026, 11)
AS_OF = datetime(2026, 12, 20, 9, 0, tzinfo=TOKYO)


def at(day: int, hour: int = 10, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=TOKYO)


def case(
    received: datetime,
    *,
    answered_after: float | None = None,
    due_after: float | None = 14,
    intents: tuple[str, ...] = ("deletion",),
    language: str = "ja",
    status: str | None = None,
    extended: bool = False,
    rejected: bool = False,
) -> CaseRecord:
    answered = None if answered_after is None else received + timedelta(days=answered_after)
    return CaseRecord(
        received_at=received,
        intents=intents,
        language=language,
        status=status or ("answered" if answered else "in_progress"),
        answer_due=None if due_after is None else received + timedelta(days=due_after),
        answered_at=answered,
        extended=extended,
        rejected=rejected,
    )


def report(*records: CaseRecord, month: Month = NOVEMBER) -> MonthReport:
    return month_report(records, month, as_of=AS_OF)


def intent(found: MonthReport, name: str) -> Figures:
    return dict(found.by_intent)[name]


def language(found: MonthReport, name: str) -> Figures:
    return dict(found.by_language)[name]


def test_a_month_is_yyyy_mm_in_tokyo_time() -> None:
    month = Month.parse("2026-11")
    assert (month.start, month.end) == (at(1, 0), datetime(2026, 12, 1, tzinfo=TOKYO))
    assert str(Month.parse(" 2026-01 ")) == "2026-01"
    assert Month(2026, 12).end == datetime(2027, 1, 1, tzinfo=TOKYO)
    # 1 November 00:00 in Tokyo is 31 October 15:00 UTC
    assert month.holds(datetime(2026, 10, 31, 15, 0, tzinfo=UTC))
    assert not month.holds(datetime(2026, 10, 31, 14, 59, 59, tzinfo=UTC))
    assert Month.before(datetime(2027, 1, 5, tzinfo=TOKYO)) == Month(2026, 12)
    assert Month.before(datetime(2026, 11, 30, 15, 30, tzinfo=UTC)) == Month(2026, 11)
    for bad in ("2026-13", "2026-00", "2026-1", "26-11", "2026/11", "November", "", "0000-05"):
        with pytest.raises(MonthError, match="YYYY-MM"):
            Month.parse(bad)


def test_median_and_95th_percentile_of_the_days_to_answer() -> None:
    days = (1, 2, 3, 4, 5, 10)
    found = report(*(case(at(2 + i), answered_after=d) for i, d in enumerate(days)))
    assert found.total.answered == 6
    assert found.total.median_days == pytest.approx(3.5)
    # inclusive method: rank (6 - 1) * 0.95 = 4.75, between 5 and 10: 5 + 0.75 * 5
    assert found.total.p95_days == pytest.approx(8.75)


def test_days_are_fractional_calendar_days_from_receipt() -> None:
    found = report(*(case(at(3, hour=9), answered_after=d) for d in (0.5, 1.25, 1.25, 2, 30.75)))
    assert found.total.median_days == pytest.approx(1.25)
    # rank 4 * 0.95 = 3.8: 2 + 0.8 * (30.75 - 2)
    assert found.total.p95_days == pytest.approx(25.0)


def test_times_are_not_shown_below_five_answers() -> None:
    found = report(*(case(at(2 + i), answered_after=3) for i in range(4)))
    assert (found.total.median_days, found.total.p95_days) == (None, None)
    [total] = [r for r in rows(found) if r["group"] == "all"]
    assert (total["median_days_to_answer"], total["p95_days_to_answer"]) == ("n/a", "n/a")
    five = report(*(case(at(2 + i), answered_after=3) for i in range(5)))
    assert (five.total.median_days, five.total.p95_days) == (3.0, 3.0)


def test_share_answered_within_the_deadline() -> None:
    found = report(
        case(at(2), answered_after=3),  # on time
        case(at(3), answered_after=14),  # on the last moment: on time
        case(at(4), answered_after=13.9),  # on time
        case(at(5), answered_after=20),  # late
        case(at(6)),  # still open, past its deadline on 20 December: late
        case(at(28), due_after=30),  # open, due 28 December: not judged yet
        case(at(7), status="closed"),  # closed without an answer: owed none
        case(at(8), answered_after=2, due_after=None),  # no deadline applies: not judged
    )
    total = found.total
    assert (total.received, total.answered, total.on_time, total.late) == (8, 5, 3, 2)
    assert (total.open, total.closed_unanswered) == (2, 1)
    assert total.on_time_share == pytest.approx(3 / 5)
    [row] = [r for r in rows(found) if r["group"] == "all"]
    assert row["on_time_share"] == "0.600"


def test_extensions_and_refusals_are_counted() -> None:
    found = report(
        case(at(2), answered_after=40, due_after=60, extended=True),
        case(at(3), extended=True, due_after=60),  # open, due in January
        case(at(4), answered_after=5, rejected=True, status="rejected", intents=("disclosure",)),
        case(at(5), answered_after=5),
    )
    assert (found.total.extended, found.total.refused, found.total.answered) == (2, 1, 3)
    # the extended deadline is the one an answer is judged against
    assert found.total.late == 0
    assert (intent(found, "disclosure").refused, intent(found, "deletion").refused) == (1, 0)
    assert intent(found, "deletion").extended == 2


def test_a_case_counts_in_the_month_it_was_received() -> None:
    october_case = case(at(28, month=10), answered_after=6)  # answered on 3 November
    november_case = case(at(10), answered_after=2)
    november = report(october_case, november_case)
    assert (november.total.received, november.total.answered) == (1, 1)
    assert november.total.median_days is None
    october = report(october_case, november_case, month=Month(2026, 10))
    assert (october.total.received, october.total.answered, october.total.on_time) == (1, 1, 1)
    # the month's edge is midnight in Tokyo, not in UTC
    late_evening = case(datetime(2026, 10, 31, 16, 0, tzinfo=UTC))  # 1 November 01:00 JST
    assert report(late_evening).total.received == 1
    assert report(late_evening, month=Month(2026, 10)).total.received == 0


def test_an_answer_after_the_report_is_not_counted_yet() -> None:
    found = month_report(
        [case(at(10), answered_after=5)], NOVEMBER, as_of=at(12)
    )  # answered on the 15th, report on the 12th
    assert (found.total.answered, found.total.open, found.total.late) == (0, 1, 0)


def test_intents_and_languages_each_have_their_row() -> None:
    found = report(
        case(at(2), answered_after=1, intents=("deletion", "stop_use")),
        case(at(3), answered_after=1, intents=("inquiry",), language="en"),
        case(at(4), intents=("complaint",), language=""),
        case(at(5), intents=("rate_question",)),  # not a privacy request
        case(at(6), intents=()),  # nothing recognised
        case(at(7), intents=("auto_reply", "deletion")),
    )
    assert found.total.received == 4  # the two-intent case once
    assert [name for name, _ in found.by_intent] == list(PRIVACY)
    assert {name: f.received for name, f in found.by_intent} == {
        "disclosure": 0,
        "correction": 0,
        "deletion": 2,
        "stop_use": 1,
        "stop_provision": 0,
        "complaint": 1,
        "inquiry": 1,
    }
    assert [name for name, _ in found.by_language] == ["ja", "en", "unknown"]
    assert (language(found, "ja").received, language(found, "en").answered) == (2, 1)
    assert found.other_cases == 2


def test_an_empty_month_gives_zeros() -> None:
    found = report()
    assert found.total == Figures()
    assert found.total.on_time_share is None
    table = rows(found)
    assert [(r["group"], r["key"]) for r in table] == [
        ("all", "all"),
        *(("intent", i) for i in PRIVACY),
        ("language", "ja"),
        ("language", "en"),
        ("other", "not_a_privacy_request"),
    ]
    for row in table:
        assert list(row) == list(COLUMNS)
        assert row["received"] == "0"
