"""The SLA clock on fixed dates: every expected deadline is counted by hand in the test."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from handlers import sla
from handlers.intents import RIGHTS
from handlers.sla import (
    TOKYO,
    BusinessCalendar,
    Deadlines,
    Extension,
    Period,
    SlaError,
    deadlines,
    default_policies,
    is_overdue,
    load_calendar,
    load_policies,
    time_left,
)


def jst(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=TOKYO)


def end_of(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 23, 59, 59, 999999, tzinfo=TOKYO)


# ---- policies as data ----


def test_shipped_defaults() -> None:
    table = default_policies()
    for intent in ("disclosure", "correction", "deletion", "stop_provision"):
        assert table[("appi", intent)].answer == Period(14, "calendar_days")
        assert table[("appi", intent)].extension is None  # APPI has no statutory extension
    assert table[("appi", "stop_use")].answer == Period(15, "business_days")
    assert table[("appi", "complaint")].answer == Period(3, "business_days")
    assert table[("appi", "inquiry")].answer == Period(5, "business_days")
    assert table[("appi", "provider_correction")].answer == Period(10, "business_days")
    assert table[("appi", "rate_question")].answer == Period(5, "business_days")
    assert table[("gdpr", "disclosure")].answer == Period(1, "months")
    assert table[("gdpr", "disclosure")].extension == Period(2, "months")
    ccpa = table[("ccpa", "deletion")]
    assert (ccpa.ack, ccpa.answer, ccpa.extension) == (
        Period(10, "business_days"),
        Period(45, "calendar_days"),
        Period(45, "calendar_days"),
    )
    assert load_calendar() == BusinessCalendar(year_end_closure=((12, 29), (1, 3)))


def test_operator_file_replaces_entries_by_jurisdiction_and_intent(tmp_path: Path) -> None:
    path = tmp_path / "sla.toml"
    path.write_text(
        """
[calendar]
year_end_closure = "none"

[[policy]]
jurisdiction = "appi"
intent = "complaint"
answer = { amount = 2, unit = "business_days" }
note = "stricter house rule"

[[policy]]
jurisdiction = "appi"
intent = "disclosure"
answer = { amount = 14, unit = "calendar_days" }
extension = { amount = 14, unit = "calendar_days" }
""",
        encoding="utf-8",
    )
    table = load_policies(path)
    assert table[("appi", "complaint")].answer == Period(2, "business_days")
    assert table[("appi", "complaint")].note == "stricter house rule"
    assert table[("appi", "disclosure")].extension == Period(14, "calendar_days")
    assert table[("appi", "inquiry")] == default_policies()[("appi", "inquiry")]  # untouched
    assert load_calendar(path) == BusinessCalendar(year_end_closure=None)

    # Thu 2026-03-05 + 2 business days = Fri 3/6, Mon 3/9.
    found = deadlines(jst(2026, 3, 5), ["complaint"], table=table)
    assert found.answer_due == end_of(2026, 3, 9)


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        (
            "[[policy]]\njurisdiction = 'appi'\nintent = 'complaint'\n"
            "answer = { amount = 3, unit = 'weeks' }\n",
            "unit must be one of",
        ),
        (
            "[[policy]]\njurisdiction = 'appi'\nintent = 'complain'\n"
            "answer = { amount = 3, unit = 'business_days' }\n",
            "unknown intent 'complain'",
        ),
        (
            "[[policy]]\njurisdiction = 'appi'\nintent = 'complaint'\n"
            "answer = { amount = 0, unit = 'business_days' }\n",
            "positive integer",
        ),
        (
            "[[policy]]\njurisdiction = 'eu'\nintent = 'complaint'\n",
            "unknown jurisdiction 'eu'",
        ),
        (
            "[[policy]]\njurisdiction = 'appi'\nintent = 'complaint'\nanswr = 3\n",
            "unknown key 'answr'",
        ),
        ("[calendar]\nyear_end_closure = ['12-32', '01-03']\n", "not a MM-DD day"),
        ("policy = [\n", "not valid TOML"),
    ],
)
def test_bad_operator_file_is_a_clear_error(tmp_path: Path, text: str, complaint: str) -> None:
    path = tmp_path / "sla.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SlaError, match=complaint) as caught:
        load_policies(path)
    assert str(path) in str(caught.value)


def test_every_jurisdiction_has_a_policy_for_every_intent_with_a_clock() -> None:
    table = default_policies()
    missing = [(j, i) for j in sla.JURISDICTIONS for i in sla.TIMED if (j, i) not in table]
    assert missing == []


def test_an_operator_entry_keeps_the_keys_it_does_not_give(tmp_path: Path) -> None:
    path = tmp_path / "sla.toml"
    path.write_text(
        "[[policy]]\njurisdiction = 'gdpr'\nintent = 'deletion'\n"
        "answer = { amount = 20, unit = 'calendar_days' }\n\n"
        "[[policy]]\njurisdiction = 'ccpa'\nintent = 'disclosure'\nextension = 'none'\n",
        encoding="utf-8",
    )
    rules = sla.load_rules(path, jurisdiction="gdpr")
    assert rules.jurisdiction == "gdpr"
    gdpr = rules.table[("gdpr", "deletion")]
    assert (gdpr.answer, gdpr.extension) == (Period(20, "calendar_days"), Period(2, "months"))
    assert gdpr.note == default_policies()[("gdpr", "deletion")].note
    ccpa = rules.table[("ccpa", "disclosure")]
    assert (ccpa.ack, ccpa.extension) == (Period(10, "business_days"), None)
    changed = {k for k, v in rules.table.items() if default_policies()[k] != v}
    assert changed == {("gdpr", "deletion"), ("ccpa", "disclosure")}


def test_every_problem_of_an_operator_file_is_told_at_once(tmp_path: Path) -> None:
    path = tmp_path / "sla.toml"
    path.write_text(
        "colour = 'red'\n"
        "[[policy]]\njurisdiction = 'eu'\nintent = 'deletion'\n\n"
        "[[policy]]\njurisdiction = 'gdpr'\nintent = 'erasure'\n\n"
        "[[policy]]\njurisdiction = 'gdpr'\nintent = 'deletion'\nextension = 2\n"
        "ack = { amount = 1, unit = 'weeks' }\n\n"
        "[[policy]]\njurisdiction = 'gdpr'\nintent = 'deletion'\n\n"
        "[calendar]\nyear_end_closure = ['12-29']\n",
        encoding="utf-8",
    )
    with pytest.raises(SlaError) as caught:
        sla.load_rules(path)
    problems = caught.value.problems
    assert [p.removeprefix(f"{path}: ") for p in problems] == [
        "unknown top-level key 'colour' (policy, calendar)",
        "policy #1: unknown jurisdiction 'eu' (one of appi, gdpr, ccpa)",
        "policy #2: unknown intent 'erasure' (one of " + ", ".join(sla.ALL_INTENTS) + ")",
        "policy #3 (gdpr/deletion): ack: unit must be one of calendar_days, business_days, "
        "months, not 'weeks'",
        'policy #3 (gdpr/deletion): extension: must be { amount = N, unit = "..." } or "none"',
        "policy #4 (gdpr/deletion): defined twice",
        '[calendar]: year_end_closure must be ["MM-DD", "MM-DD"] or "none"',
    ]
    assert all(p.startswith(f"{path}: ") for p in problems)


def test_an_unknown_jurisdiction_for_new_cases_is_refused() -> None:
    with pytest.raises(SlaError, match="unknown jurisdiction 'eu'"):
        sla.load_rules(None, jurisdiction="eu")


def test_missing_operator_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SlaError, match="cannot read SLA policy file"):
        load_policies(tmp_path / "absent.toml")


# ---- counting ----


def test_appi_fourteen_calendar_days() -> None:
    found = deadlines(jst(2026, 3, 2, 9, 15), ["disclosure"])
    # 2026-03-02 + 14 days = 2026-03-16, due at the end of that day in Tokyo.
    assert found.due == {"disclosure": end_of(2026, 3, 16)}
    assert found.answer_due == end_of(2026, 3, 16)
    assert found.ack_due is None
    assert (found.paused_days, found.paused, found.extended) == (0, False, False)


def test_complaint_three_business_days_across_a_weekend() -> None:
    # Received Thu 2026-03-05: Fri 3/6 (1), Sat and Sun skipped, Mon 3/9 (2), Tue 3/10 (3).
    found = deadlines(jst(2026, 3, 5, 17), ["complaint"])
    assert found.answer_due == end_of(2026, 3, 10)


def test_stop_use_fifteen_business_days_across_golden_week() -> None:
    # Received Fri 2026-04-24. Business days after it:
    #   Mon 4/27 (1), Tue 4/28 (2), Wed 4/29 Showa Day -, Thu 4/30 (3), Fri 5/1 (4),
    #   Sat 5/2 -, Sun 5/3 Constitution Day -, Mon 5/4 Greenery Day -, Tue 5/5 Children's Day -,
    #   Wed 5/6 substitute holiday (for Sunday 5/3) -, Thu 5/7 (5), Fri 5/8 (6),
    #   Mon 5/11 (7) ... Fri 5/15 (11), Mon 5/18 (12), Tue 5/19 (13), Wed 5/20 (14), Thu 5/21 (15).
    # Without the four weekday holidays it would be three weeks later, Fri 5/15.
    found = deadlines(jst(2026, 4, 24), ["stop_use"])
    assert found.answer_due == end_of(2026, 5, 21)


def test_complaint_across_the_year_end_closure_and_new_year() -> None:
    # Received Mon 2026-12-28. Closed 12/29-1/3 (1/1 is also a holiday, 1/2-1/3 a weekend):
    # Mon 2027-01-04 (1), Tue 1/5 (2), Wed 1/6 (3).
    found = deadlines(jst(2026, 12, 28), ["complaint"])
    assert found.answer_due == end_of(2027, 1, 6)


def test_year_end_closure_is_configurable() -> None:
    # Without the closure: Tue 12/29 (1), Wed 12/30 (2), Thu 12/31 (3).
    open_desk = BusinessCalendar(year_end_closure=None)
    found = deadlines(jst(2026, 12, 28), ["complaint"], calendar=open_desk)
    assert found.answer_due == end_of(2026, 12, 31)
    # A closure inside one year: Mon 8/10 and Tue 8/11 (Mountain Day) ... closed 8/12-8/14.
    obon = BusinessCalendar(year_end_closure=((8, 12), (8, 14)))
    assert not obon.is_business_day(date(2026, 8, 13))
    assert obon.add_business_days(date(2026, 8, 10), 1) == date(2026, 8, 17)


def test_receipt_late_at_night_utc_is_the_next_day_in_tokyo() -> None:
    # 2026-03-01 16:30 UTC is 2026-03-02 01:30 in Tokyo: the receipt date is 3/2, so 3/16.
    found = deadlines(datetime(2026, 3, 1, 16, 30, tzinfo=UTC), ["deletion"])
    assert found.received == jst(2026, 3, 2, 1, 30)
    assert found.received.tzinfo == TOKYO
    assert found.answer_due == end_of(2026, 3, 16)


def test_gdpr_month_clamps_to_the_month_end() -> None:
    assert deadlines(jst(2026, 1, 31), ["disclosure"], jurisdiction="gdpr").answer_due == (
        end_of(2026, 2, 28)
    )
    assert deadlines(jst(2028, 1, 31), ["disclosure"], jurisdiction="gdpr").answer_due == (
        end_of(2028, 2, 29)  # leap year
    )
    assert deadlines(jst(2026, 12, 15), ["deletion"], jurisdiction="gdpr").answer_due == (
        end_of(2027, 1, 15)
    )


def test_gdpr_extension_counts_three_months_from_receipt() -> None:
    extension = Extension(reason="complex request", granted_at=jst(2026, 2, 10))
    found = deadlines(jst(2026, 1, 31), ["disclosure"], jurisdiction="gdpr", extension=extension)
    # One month plus two counted together: Jan 31 + 3 months = Apr 30, not Feb 28 + 2 = Apr 28.
    assert found.answer_due == end_of(2026, 4, 30)
    assert found.extended
    assert found.extension == extension


def test_ccpa_acknowledgement_answer_and_extension() -> None:
    received = jst(2026, 3, 2)  # a Monday
    found = deadlines(received, ["disclosure"], jurisdiction="ccpa")
    # Ack: 3/3, 3/4, 3/5, 3/6, 3/9, 3/10, 3/11, 3/12, 3/13, 3/16 (10th business day).
    assert found.ack_due == end_of(2026, 3, 16)
    # Answer: 3/2 + 45 days = 3/31 (29 days) + 16 = 4/16.
    assert found.answer_due == end_of(2026, 4, 16)

    extension = Extension(reason="many systems to search", granted_at=jst(2026, 4, 10))
    extended = deadlines(received, ["disclosure"], jurisdiction="ccpa", extension=extension)
    # 3/2 + 90 days = 5/31; the acknowledgement does not move.
    assert extended.answer_due == end_of(2026, 5, 31)
    assert extended.ack_due == end_of(2026, 3, 16)


def test_multi_intent_case_is_due_at_the_earliest_deadline() -> None:
    # Received Mon 2026-03-02: disclosure 3/16; complaint Tue 3/3, Wed 3/4, Thu 3/5.
    found = deadlines(jst(2026, 3, 2), ["disclosure", "complaint", "disclosure"])
    assert found.due == {"disclosure": end_of(2026, 3, 16), "complaint": end_of(2026, 3, 5)}
    assert found.answer_due == end_of(2026, 3, 5)


# ---- pauses ----


def test_pause_moves_a_calendar_day_deadline_by_the_days_waited() -> None:
    # Waiting from Wed 3/4 15:00 to Mon 3/9 11:00 moves 3/16 by 9 - 4 = 5 days to 3/21.
    found = deadlines(
        jst(2026, 3, 2), ["disclosure"], pauses=[(jst(2026, 3, 4, 15), jst(2026, 3, 9, 11))]
    )
    assert found.answer_due == end_of(2026, 3, 21)
    assert found.paused_days == 5
    assert not found.paused


def test_pause_moves_a_business_day_deadline_by_the_business_days_waited() -> None:
    # Complaint received Thu 3/5, due Tue 3/10. Waiting Fri 3/6 -> Mon 3/9: business days after
    # Friday up to Monday are {Mon 3/9}, one, so the deadline moves to Wed 3/11.
    found = deadlines(jst(2026, 3, 5), ["complaint"], pauses=[(jst(2026, 3, 6), jst(2026, 3, 9))])
    assert found.answer_due == end_of(2026, 3, 11)
    assert found.paused_days == 3


def test_pause_within_one_day_moves_nothing() -> None:
    found = deadlines(
        jst(2026, 3, 2), ["disclosure"], pauses=[(jst(2026, 3, 4, 9), jst(2026, 3, 4, 18))]
    )
    assert found.answer_due == end_of(2026, 3, 16)
    assert found.paused_days == 0


def test_overlapping_pauses_count_once() -> None:
    pauses = [(jst(2026, 3, 4), jst(2026, 3, 7)), (jst(2026, 3, 6), jst(2026, 3, 9))]
    found = deadlines(jst(2026, 3, 2), ["disclosure"], pauses=pauses)
    assert found.paused_days == 5  # 3/4 -> 3/9, not 3 + 3
    assert found.answer_due == end_of(2026, 3, 21)


def test_pause_after_the_deadline_does_not_revive_it() -> None:
    # Complaint due 3/5; a pause starting 3/6 must not make the case on time again.
    found = deadlines(jst(2026, 3, 2), ["complaint"], pauses=[(jst(2026, 3, 6), jst(2026, 3, 20))])
    assert found.answer_due == end_of(2026, 3, 5)
    assert is_overdue(found, jst(2026, 3, 20, 12))


def test_open_pause_stops_the_clock_and_keeps_the_time_left() -> None:
    pauses = [(jst(2026, 3, 10, 9), None)]
    found = deadlines(
        jst(2026, 3, 2), ["disclosure", "complaint"], jurisdiction="ccpa", pauses=pauses
    )
    assert found.paused
    assert found.paused_since == jst(2026, 3, 10, 9)
    assert found.answer_due is None
    assert found.due == {"disclosure": None, "complaint": None}
    assert found.ack_due == end_of(2026, 3, 16)  # acknowledgements are never paused
    # Complaint (3/5) was already late when the desk began to wait: it stays late.
    assert found.remaining == end_of(2026, 3, 5) - jst(2026, 3, 10, 9)
    assert is_overdue(found, jst(2026, 6, 1))

    on_time = deadlines(jst(2026, 3, 2), ["disclosure"], pauses=pauses)
    left = end_of(2026, 3, 16) - jst(2026, 3, 10, 9)
    assert left == timedelta(days=6, hours=14, minutes=59, seconds=59, microseconds=999999)
    assert on_time.remaining == left
    # Frozen: the same a day or a month later.
    assert time_left(on_time, jst(2026, 3, 11)) == left
    assert time_left(on_time, jst(2026, 4, 11)) == left
    assert not is_overdue(on_time, jst(2026, 4, 11))


def test_a_closed_pause_before_an_open_one_still_moves_the_deadline() -> None:
    pauses = [(jst(2026, 3, 3), jst(2026, 3, 5)), (jst(2026, 3, 10, 9), None)]
    found = deadlines(jst(2026, 3, 2), ["disclosure"], pauses=pauses)
    assert found.paused_days == 2
    assert found.remaining == end_of(2026, 3, 18) - jst(2026, 3, 10, 9)


@pytest.mark.parametrize(
    ("pause", "complaint"),
    [
        ((jst(2026, 3, 1), jst(2026, 3, 3)), "before the receipt"),
        ((jst(2026, 3, 5), jst(2026, 3, 4)), "before it starts"),
        ((datetime(2026, 3, 5), None), "timezone-aware"),
    ],
)
def test_bad_pause_is_a_clear_error(
    pause: tuple[datetime, datetime | None], complaint: str
) -> None:
    with pytest.raises(SlaError, match=complaint):
        deadlines(jst(2026, 3, 2), ["disclosure"], pauses=[pause])


# ---- extension ----


def test_extension_refused_for_appi() -> None:
    extension = Extension(reason="complex request", granted_at=jst(2026, 3, 5))
    with pytest.raises(SlaError, match="no extension is allowed for appi/disclosure"):
        deadlines(jst(2026, 3, 2), ["disclosure"], extension=extension)


@pytest.mark.parametrize(
    ("extension", "complaint"),
    [
        (Extension(reason="  ", granted_at=jst(2026, 3, 5)), "needs a reason"),
        (Extension(reason="complex", granted_at=jst(2026, 5, 1)), "before the deadline"),
        (Extension(reason="complex", granted_at=jst(2026, 2, 1)), "before the request"),
    ],
)
def test_extension_needs_a_reason_and_must_come_in_time(
    extension: Extension, complaint: str
) -> None:
    with pytest.raises(SlaError, match=complaint):
        deadlines(jst(2026, 3, 2), ["deletion"], jurisdiction="gdpr", extension=extension)


def test_an_extension_the_case_has_is_kept_where_the_new_law_allows_it() -> None:
    # Granted under GDPR on 3/3; the case then moves under CCPA (45 + 45 days) and APPI (none).
    had = Extension(reason="complex", granted_at=jst(2026, 3, 3), recorded=True)
    ccpa = deadlines(jst(2026, 3, 2), ["deletion"], jurisdiction="ccpa", extension=had)
    assert ccpa.answer_due == end_of(2026, 5, 31) and ccpa.extended  # 3/2 + 90 days
    appi = deadlines(jst(2026, 3, 2), ["deletion"], jurisdiction="appi", extension=had)
    assert appi.answer_due == end_of(2026, 3, 16) and not appi.extended
    assert appi.extension is None
    # one granted after the new law's own deadline moves nothing either
    late = Extension(reason="complex", granted_at=jst(2026, 3, 20), recorded=True)
    found = deadlines(jst(2026, 3, 2), ["deletion", "complaint"], jurisdiction="gdpr")
    kept = deadlines(
        jst(2026, 3, 2), ["deletion", "complaint"], jurisdiction="gdpr", extension=late
    )
    assert kept.due["deletion"] == end_of(2026, 6, 2)  # before 4/2: it holds for the deletion
    assert kept.due["complaint"] == found.due["complaint"]


def test_extension_applies_to_the_intents_that_allow_it() -> None:
    # GDPR deletion extends to 3 months; the complaint's desk target does not move.
    extension = Extension(reason="complex", granted_at=jst(2026, 3, 3))
    found = deadlines(
        jst(2026, 3, 2), ["deletion", "complaint"], jurisdiction="gdpr", extension=extension
    )
    assert found.due == {"deletion": end_of(2026, 6, 2), "complaint": end_of(2026, 3, 5)}
    assert found.extended


# ---- staff helpers and bad input ----


def test_time_left_and_overdue() -> None:
    found = deadlines(jst(2026, 3, 2), ["disclosure"])
    assert time_left(found, jst(2026, 3, 16, 12)) == end_of(2026, 3, 16) - jst(2026, 3, 16, 12)
    assert not is_overdue(found, end_of(2026, 3, 16))
    assert is_overdue(found, jst(2026, 3, 17, 0))
    assert time_left(found, jst(2026, 3, 17, 0)) == timedelta(microseconds=-1)


@pytest.mark.parametrize(
    ("call", "complaint"),
    [
        (lambda: deadlines(datetime(2026, 3, 2, 10), ["disclosure"]), "timezone-aware"),
        (lambda: deadlines(jst(2026, 3, 2), []), "without intents"),
        (lambda: deadlines(jst(2026, 3, 2), ["spam"]), "no SLA policy for intent 'spam'"),
        (
            lambda: deadlines(jst(2026, 3, 2), ["rate_question"], jurisdiction="eu"),
            "under 'eu'",
        ),
        (lambda: time_left(deadlines(jst(2026, 3, 2), ["inquiry"]), datetime(2026, 3, 3)), "aware"),
    ],
)
def test_bad_input_is_a_clear_error(call: Callable[[], object], complaint: str) -> None:
    with pytest.raises(SlaError, match=complaint):
        call()


def test_deadlines_is_plain_data() -> None:
    found = deadlines(jst(2026, 3, 2), ["inquiry"])
    assert isinstance(found, Deadlines)
    # Inquiry, 5 business days after Mon 3/2: Tue 3/3 ... Mon 3/9.
    assert found.answer_due == end_of(2026, 3, 9)


# ---- undecided cases (DESIGN rule 6) ----


def test_an_undecided_case_is_clocked_as_every_rights_request_too() -> None:
    assert sla.clocked_intents([], "other", undecided=False) == []
    assert sla.clocked_intents([], "other", undecided=True) == list(RIGHTS)
    assert sla.clocked_intents(["inquiry"], "privacy", undecided=True) == ["inquiry", *RIGHTS]
    assert sla.clocked_intents(["spam"], "other", undecided=False) == []
    assert sla.clocked_intents([], "rate_question", undecided=False) == ["rate_question"]
    received = datetime(2026, 6, 1, 10, tzinfo=TOKYO)
    undecided = sla.deadlines(received, sla.clocked_intents(["inquiry"], "privacy", undecided=True))
    decided = sla.deadlines(received, ["deletion"])
    assert undecided.answer_due == min(
        sla.deadlines(received, ["inquiry"]).answer_due or received, decided.answer_due or received
    )


def test_triage_is_due_at_the_end_of_the_nth_business_day_after_receipt() -> None:
    friday_night = datetime(2026, 6, 5, 23, 30, tzinfo=TOKYO)
    assert sla.triage_due(friday_night, 1) == datetime(2026, 6, 8, 23, 59, 59, 999999, tzinfo=TOKYO)
    assert sla.triage_due(friday_night, 2) == datetime(2026, 6, 9, 23, 59, 59, 999999, tzinfo=TOKYO)
    # received late on a Monday UTC that is already Tuesday in Tokyo
    utc = datetime(2026, 6, 1, 16, 0, tzinfo=UTC)
    assert sla.triage_due(utc, 1) == datetime(2026, 6, 3, 23, 59, 59, 999999, tzinfo=TOKYO)
    with pytest.raises(sla.SlaError):
        sla.triage_due(friday_night, 0)


def test_a_stored_case_is_late_by_the_same_rule_as_its_deadlines() -> None:
    received, stopped = jst(2026, 3, 2), jst(2026, 3, 10, 9)
    for intents, late in ((["complaint"], True), (["disclosure"], False)):
        running = deadlines(received, intents, jurisdiction="ccpa")
        paused = deadlines(received, intents, jurisdiction="ccpa", pauses=[(stopped, None)])
        # What the database keeps of a pause: no answer due, and the deadline running then.
        stored = sla.is_late(
            paused.answer_due,
            jst(2026, 6, 1),
            paused_since=paused.paused_since,
            due_when_paused=running.answer_due,
        )
        assert stored == is_overdue(paused, jst(2026, 6, 1)) == late
    assert sla.is_late(end_of(2026, 3, 5), jst(2026, 3, 6))
    assert not sla.is_late(end_of(2026, 3, 5), jst(2026, 3, 5, 23))
    assert not sla.is_late(None, jst(2026, 3, 6))  # no deadline at all: never late
