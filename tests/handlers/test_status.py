"""The status vocabulary: the named sets and the one table of moves."""

from __future__ import annotations

import pytest

from handlers.replies import STATUS_AFTER_SENDING
from handlers.status import FINISHED, NO_REMINDERS, OPEN, TRANSITIONS, WAITING, Status, can_move


def test_every_status_has_its_row_in_the_table() -> None:
    assert set(TRANSITIONS) == set(Status)


def test_open_and_finished_divide_the_statuses() -> None:
    assert set(Status) == OPEN | FINISHED
    assert not OPEN & FINISHED
    assert {str(s) for s in FINISHED} == {"answered", "closed", "rejected"}
    assert Status.QUARANTINED in OPEN  # human mail nobody could read is still owed an answer
    assert WAITING <= OPEN
    assert NO_REMINDERS == FINISHED


def test_stored_text_compares_equal_to_the_status() -> None:
    assert Status.AWAITING_VERIFICATION == "awaiting_verification"
    assert "closed" in FINISHED


@pytest.mark.parametrize("current", sorted(Status))
def test_a_sent_reply_moves_every_case_but_a_closed_or_rejected_one(current: Status) -> None:
    for after in set(STATUS_AFTER_SENDING.values()):
        assert can_move(current, after) == (current not in (Status.CLOSED, Status.REJECTED))


def test_the_moves_the_desk_makes() -> None:
    assert can_move("new", "in_progress")  # a reply approved
    assert can_move("in_progress", "awaiting_requester")  # a question asked: the clock stops
    assert can_move("new", "awaiting_verification")  # a one-time code sent
    assert can_move("awaiting_verification", "in_progress")  # the requester answered
    assert can_move("quarantined", "closed")  # staff close what could not be read
    assert can_move("in_progress", "closed")


def test_what_the_desk_never_does() -> None:
    assert not can_move("closed", "in_progress")
    assert not can_move("rejected", "answered")
    assert not can_move("answered", "in_progress")
    assert not can_move("in_progress", "new")
    assert not can_move("new", "quarantined")  # only intake quarantines, when it opens a case
    assert not can_move("new", "no such status")
    assert not can_move("no such status", "closed")
