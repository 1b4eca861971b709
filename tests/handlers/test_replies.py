"""The pure approval rules: which reply a case calls for, who may approve it, what a sent reply
does to the case, and when the desk may mail without a person."""

from __future__ import annotations

import pytest

from handlers.intents import COMPLAINT, DELETION, DISCLOSURE, INQUIRY, STOP_USE
from handlers.replies import (
    ACK,
    ANSWER_FOR_INTENT,
    CARRIES_OUT,
    answer_template,
    first_reply,
    may_approve,
    sent_without_approval,
    status_after_sending,
    within_daily_cap,
)
from handlers.status import Status

APPROVERS = ("U0APPROVE1", "S0LEGAL0001", "sato")


# ---- who may approve ----------------------------------------------------------------------


def test_nobody_may_approve_while_no_approvers_are_configured() -> None:
    verdict = may_approve("U0APPROVE1", approvers=())
    assert not verdict.allowed and "PD_APPROVERS" in verdict.reason


@pytest.mark.parametrize("approver", ["U0APPROVE1", "sato"])
def test_a_listed_approver_may_approve(approver: str) -> None:
    assert may_approve(approver, approvers=APPROVERS).allowed


def test_a_member_of_a_listed_group_may_approve() -> None:
    assert may_approve("U0GROUPED1", approvers=APPROVERS, approver_groups=["S0LEGAL0001"]).allowed


def test_anyone_else_may_not() -> None:
    verdict = may_approve("U0STAFF001", approvers=APPROVERS, approver_groups=["S0OTHERS01"])
    assert not verdict.allowed and verdict.reason == "U0STAFF001 is not an approver"


def test_four_eyes_refuse_the_last_editor() -> None:
    verdict = may_approve(
        "U0APPROVE1", approvers=APPROVERS, four_eyes=True, last_editor="U0APPROVE1"
    )
    assert not verdict.allowed and "four eyes" in verdict.reason
    # Another approver may; so may the editor when four eyes are off.
    assert may_approve(
        "sato", approvers=APPROVERS, four_eyes=True, last_editor="U0APPROVE1"
    ).allowed
    assert may_approve("U0APPROVE1", approvers=APPROVERS, last_editor="U0APPROVE1").allowed


def test_four_eyes_allow_any_approver_of_a_draft_no_person_edited() -> None:
    assert may_approve("U0APPROVE1", approvers=APPROVERS, four_eyes=True, last_editor=None).allowed


def test_four_eyes_do_not_let_a_stranger_approve() -> None:
    verdict = may_approve("U0STAFF001", approvers=APPROVERS, four_eyes=True, last_editor="sato")
    assert not verdict.allowed and "not an approver" in verdict.reason


# ---- what a sent reply does to the case ---------------------------------------------------


@pytest.mark.parametrize("template", sorted(ANSWER_FOR_INTENT.values()))
def test_an_answer_leaves_the_case_answered(template: str) -> None:
    assert status_after_sending(template) is Status.ANSWERED


def test_a_refusal_rejects_and_an_unverified_close_closes() -> None:
    assert status_after_sending("refusal") is Status.REJECTED
    assert status_after_sending("unverified_close") is Status.CLOSED


@pytest.mark.parametrize("template", [ACK, "identity_request", "verification_code", "nonsense"])
def test_other_mail_leaves_the_status_alone(template: str) -> None:
    assert status_after_sending(template) is None


# ---- which reply ---------------------------------------------------------------------------


def test_the_first_reply_by_kind() -> None:
    assert first_reply("privacy") == ACK
    assert first_reply("rate_question") == "rate_redirect"
    assert first_reply("provider_correction") == "provider_ack"
    assert first_reply("other") is None


def test_a_case_with_several_intents_is_answered_in_the_table_s_order() -> None:
    assert answer_template([INQUIRY, DELETION, DISCLOSURE]) == "disclosure_answer"
    assert answer_template([COMPLAINT, STOP_USE]) == "suspension_done"
    assert answer_template([]) is None


def test_only_rights_carried_out_need_a_verified_requester() -> None:
    assert ANSWER_FOR_INTENT[DELETION] in CARRIES_OUT
    assert ANSWER_FOR_INTENT[COMPLAINT] not in CARRIES_OUT
    assert ANSWER_FOR_INTENT[INQUIRY] not in CARRIES_OUT


# ---- mail without a person -----------------------------------------------------------------


def test_only_the_acknowledgement_leaves_unapproved_and_only_when_turned_on() -> None:
    assert sent_without_approval(ACK, auto_ack=True)
    assert not sent_without_approval(ACK, auto_ack=False)
    assert not sent_without_approval("deletion_done", auto_ack=True)


def test_the_daily_cap_of_automatic_mail() -> None:
    assert within_daily_cap(2, 3) and not within_daily_cap(3, 3)
    assert not within_daily_cap(0, 0)  # 0: no automatic mail at all
