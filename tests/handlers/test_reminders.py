"""Which reminder a case is owed, from its facts, pauses, what was sent and a fixed clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from handlers import reminders, sla
from handlers.reminders import (
    POLICIES,
    CaseFacts,
    ReminderPolicy,
    Wait,
    due_reminder,
    policy_for,
    rank,
    requester_reminder,
    schedule,
)

TOKYO = ZoneInfo("Asia/Tokyo")
MONDAY = datetime(2026, 6, 1, 10, 0, tzinfo=TOKYO)  # a complaint arrives
COMPLAINT = CaseFacts("PD-2026-000001", "new", ("complaint",), MONDAY)
DELETION = CaseFacts("PD-2026-000002", "in_progress", ("deletion",), MONDAY)


def at(day: int, hour: int = 0, minute: int = 0, month: int = 6) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TOKYO)


def names(facts: CaseFacts, until: datetime, pauses: list[sla.Pause] | None = None) -> list[str]:
    return [t.name for t in schedule(facts, pauses or [], until=until)]


def test_a_complaint_is_reminded_at_half_four_fifths_the_due_day_then_escalated_and_daily() -> None:
    # 3 business days: due Thursday 6/4, end of day. Time allowed: 3 days 14 hours.
    found = {t.name: t.at for t in schedule(COMPLAINT, [], until=at(9, 12))}
    assert found == {
        "50%": at(3, 5, 0),  # 1 day 19 hours after receipt
        "80%": MONDAY + (at(5) - timedelta(microseconds=1) - MONDAY) * 0.8,
        "due": at(4, 9),
        "escalated": at(5),  # the moment the deadline has passed
        "overdue-1": at(5, 9),
        "overdue-2": at(8, 9),  # Saturday and Sunday are no business days
        "overdue-3": at(9, 9),
    }


def test_a_deletion_request_is_reminded_but_never_escalated() -> None:
    assert names(DELETION, at(16, 12)) == ["50%", "80%", "due", "overdue-1"]
    assert schedule(DELETION, [], until=at(1, 12))[2].at == at(15, 9)  # due day: 6/15


def test_each_run_says_the_latest_reminder_that_fell_due_once() -> None:
    sent: set[str] = set()
    said = []
    hour = MONDAY
    while hour < at(9, 12):
        found = due_reminder(COMPLAINT, [], sent, hour)
        if found is not None:
            sent.add(found.name)
            said.append((found.name, hour))
        hour += timedelta(hours=1)
    assert said == [
        ("50%", at(3, 5)),
        ("80%", at(4, 7)),
        ("due", at(4, 9)),
        ("escalated", at(5, 0)),
        ("overdue-1", at(5, 9)),
        ("overdue-2", at(8, 9)),
        ("overdue-3", at(9, 9)),
    ]


def test_after_downtime_one_reminder_the_latest_and_the_missed_ones_never_come() -> None:
    back = at(16, 10)  # a deletion, nothing sent: 50%, 80%, due and overdue-1 have all passed
    found = due_reminder(DELETION, [], set(), back)
    assert found is not None and found.name == "overdue-1"
    assert due_reminder(DELETION, [], {"overdue-1"}, back) is None
    assert due_reminder(DELETION, [], {"overdue-1"}, back + timedelta(hours=5)) is None


def test_the_escalation_is_never_passed_over_and_the_overdue_reminders_follow() -> None:
    back = at(9, 10)  # the complaint went unwatched from receipt to the next Tuesday
    first = due_reminder(COMPLAINT, [], set(), back)
    assert first is not None and first.name == "escalated" and first.kind == "escalation"
    second = due_reminder(COMPLAINT, [], {"escalated"}, back)
    assert second is not None and second.name == "overdue-3"
    assert second.detail == {"days": 3}
    assert due_reminder(COMPLAINT, [], {"escalated", "overdue-3"}, back) is None


def test_a_clock_set_back_repeats_nothing() -> None:
    assert due_reminder(COMPLAINT, [], {"80%"}, at(3, 6)) is None  # 50% lies below 80%
    assert due_reminder(COMPLAINT, [], {"80%"}, at(4, 8)) is None
    found = due_reminder(COMPLAINT, [], {"80%"}, at(4, 9))
    assert found is not None and found.name == "due"


def test_a_paused_case_is_not_reminded() -> None:
    paused: list[sla.Pause] = [(at(2, 15), None)]
    assert schedule(DELETION, paused, until=at(30)) == []
    assert due_reminder(DELETION, paused, set(), at(30)) is None


def test_a_finished_case_is_not_reminded() -> None:
    answered = CaseFacts("PD-2026-000003", "answered", ("deletion",), MONDAY)
    assert due_reminder(answered, [], set(), at(30)) is None


def test_a_closed_pause_moves_the_reminders_by_the_time_waited() -> None:
    waited: list[sla.Pause] = [(at(2, 15), at(8, 9))]  # 5 days 18 hours
    moved = {t.name: t.at for t in schedule(DELETION, waited, until=at(1))}
    plain = {t.name: t.at for t in schedule(DELETION, [], until=at(1))}
    assert plain["due"] == at(15, 9) and moved["due"] == at(21, 9)  # deadline 6/15 -> 6/21
    # half of the time the clock ran: 1 day 5 hours before the pause, the rest after it
    running = (at(22) - MONDAY) - (at(8, 9) - at(2, 15))
    expected = at(8, 9) + (running / 2 - (at(2, 15) - MONDAY))
    assert abs(moved["50%"] - expected) < timedelta(milliseconds=1)
    assert abs(plain["50%"] - (MONDAY + (at(16) - MONDAY) / 2)) < timedelta(milliseconds=1)
    # so a reminder that fell due before the pause has not, once the pause is counted
    assert due_reminder(DELETION, [], set(), at(9)) is not None
    assert due_reminder(DELETION, waited, set(), at(9)) is None


def test_an_extension_moves_the_due_day() -> None:
    gdpr = CaseFacts(
        "PD-2026-000004",
        "in_progress",
        ("disclosure",),
        at(31, 12, month=1),
        jurisdiction="gdpr",
        extension=sla.Extension("many records", at(10, month=2)),
    )
    plain = CaseFacts("PD-2026-000004", "in_progress", ("disclosure",), at(31, 12, month=1), "gdpr")
    assert [t.at for t in schedule(plain, [], until=at(1, month=2)) if t.name == "due"] == [
        at(28, 9, month=2)
    ]
    assert [t.at for t in schedule(gdpr, [], until=at(1, month=2)) if t.name == "due"] == [
        at(30, 9, month=4)
    ]


def test_overdue_reminders_skip_the_year_end_closure() -> None:
    late = CaseFacts("PD-2026-000005", "new", ("inquiry",), at(18, 10, month=12))  # Friday
    found = {t.name: t.at for t in schedule(late, [], until=datetime(2027, 1, 6, tzinfo=TOKYO))}
    assert found["due"] == at(25, 9, month=12)  # 5 business days
    assert found["overdue-1"] == at(28, 9, month=12)
    assert found["overdue-2"] == datetime(2027, 1, 4, 9, tzinfo=TOKYO)  # closed 12/29 - 1/3


def test_thresholds_are_data_per_intent() -> None:
    assert POLICIES["complaint"].escalate and not POLICIES["deletion"].escalate
    quiet = {**POLICIES, "deletion": ReminderPolicy(progress=(0.25,), overdue=False)}
    listed = [t.name for t in schedule(DELETION, [], until=at(20), policies=quiet)]
    assert listed == ["25%", "due"]
    both = policy_for(["deletion", "complaint"], quiet)
    assert both.progress == (0.25, 0.5, 0.8) and both.overdue and both.escalate
    with pytest.raises(ValueError, match="between 0 and 1"):
        ReminderPolicy(progress=(1.5,))


def test_several_intents_remind_by_the_earliest_deadline_and_escalate_the_complaint() -> None:
    mixed = CaseFacts("PD-2026-000006", "new", ("deletion", "complaint"), MONDAY)
    found = {t.name: t.at for t in schedule(mixed, [], until=at(5, 12))}
    assert found["due"] == at(4, 9) and found["escalated"] == at(5)


def test_rank_orders_the_deadline_reminders_and_leaves_the_others_out() -> None:
    assert [rank(n) for n in ("50%", "80%", "due", "overdue-1", "overdue-12")] == [
        0.5,
        0.8,
        1.0,
        2.0,
        13.0,
    ]
    assert rank("escalated") is None and rank("requester:4") is None and rank("bogus") is None


def test_naive_times_are_refused_clearly() -> None:
    naive = CaseFacts("PD-2026-000007", "new", ("deletion",), datetime(2026, 6, 1, 10))
    with pytest.raises(sla.SlaError, match="timezone-aware"):
        due_reminder(naive, [], set(), at(9))


ASKED = at(2, 15)


@pytest.mark.parametrize(
    ("reason", "identity"),
    [("identity documents", True), ("identity verification", True), ("clarification", False)],
)
def test_waiting_on_the_requester(reason: str, identity: bool) -> None:
    wait = Wait(7, ASKED, reason)
    assert wait.identity is identity
    assert requester_reminder(wait, set(), ASKED + timedelta(days=6, hours=23)) is None
    first = requester_reminder(wait, set(), ASKED + timedelta(days=7))
    assert first is not None and (first.name, first.kind) == ("requester:7", "requester")
    assert first.deadline == ASKED  # it speaks of the day the requester was asked
    assert requester_reminder(wait, {"requester:7"}, ASKED + timedelta(days=13)) is None
    late = requester_reminder(wait, {"requester:7"}, ASKED + timedelta(days=14))
    if identity:
        assert late is not None and (late.name, late.kind) == ("unverified:7", "unverified")
        assert requester_reminder(wait, {"requester:7", "unverified:7"}, at(30)) is None
    else:
        assert late is None  # a clarification is never closed as unverified


def test_after_downtime_an_unanswered_verification_goes_straight_to_closing() -> None:
    wait = Wait(8, ASKED, "identity documents")
    found = requester_reminder(wait, set(), ASKED + timedelta(days=20))
    assert found is not None and found.name == "unverified:8"


def test_the_requester_wait_is_configurable() -> None:
    wait = Wait(9, ASKED, "clarification")
    found = requester_reminder(wait, set(), ASKED + timedelta(days=3), remind_after=timedelta(3))
    assert found is not None and found.name == "requester:9"


def test_triage_is_reminded_on_its_day_then_each_business_day_late_until_decided() -> None:
    received = datetime(2026, 6, 5, 16, 0, tzinfo=TOKYO)  # a Friday
    due = sla.triage_due(received, 1)  # Monday 8 June, end of day
    assert (
        reminders.triage_reminder(due, received, set(), datetime(2026, 6, 8, 8, 59, tzinfo=TOKYO))
        is None
    )
    first = reminders.triage_reminder(
        due, received, set(), datetime(2026, 6, 8, 9, 0, tzinfo=TOKYO)
    )
    assert first is not None and first.name == "triage" and first.kind == "triage"
    assert (
        reminders.triage_reminder(due, received, {"triage"}, datetime(2026, 6, 8, 18, tzinfo=TOKYO))
        is None
    )
    late = reminders.triage_reminder(
        due, received, {"triage"}, datetime(2026, 6, 10, 9, 0, tzinfo=TOKYO)
    )
    assert late is not None and late.name == "triage-late-2" and late.detail == {"days": 2}
    # after downtime the latest only, and the first never after a late one
    assert (
        reminders.triage_reminder(
            due, received, {"triage-late-2"}, datetime(2026, 6, 10, 12, tzinfo=TOKYO)
        )
        is None
    )
    assert (
        reminders.triage_reminder(None, received, set(), datetime(2026, 6, 10, 9, tzinfo=TOKYO))
        is None
    )
    assert reminders.rank("triage") is None and reminders.rank("triage-late-1") is None
