"""Which reply a case calls for, who may approve it, and when the desk may mail at all.

Plain functions over plain data: the service (bot/) renders, stores, sends and records.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from handlers.intents import (
    COMPLAINT,
    CORRECTION,
    DELETION,
    DISCLOSURE,
    INQUIRY,
    STOP_PROVISION,
    STOP_USE,
)
from handlers.status import Status

ACK = "ack"

# The reason of the SLA pause while a one-time code is out: only the identity proven ends it.
VERIFICATION_PAUSE = "identity verification"

# Replies that ask the requester for something (by the draft's ``kind`` value): once approved,
# the SLA clock stops, with this reason, until the requester answers.
ASKS_REQUESTER: dict[str, dict[str, str]] = {
    "identity_request": {"identity": "identity documents", "clarification": "clarification"},
}
# What staff may ask a requester for (``CaseDesk.ask``, the case thread, ``privacy-desk ask``).
ASK_KINDS = tuple(ASKS_REQUESTER["identity_request"])

# The first reply a new case gets, by kind (the acknowledgement of a rights request or
# complaint; a redirect for a plan question; a receipt to a provider).
FIRST_REPLY: dict[str, str] = {
    "privacy": ACK,
    "rate_question": "rate_redirect",
    "provider_correction": "provider_ack",
}

# The answer that closes a request, by intent, in the order a case with several intents is
# answered (a disclosure first, then what was done, then words).
ANSWER_FOR_INTENT: dict[str, str] = {
    DISCLOSURE: "disclosure_answer",
    CORRECTION: "correction_done",
    DELETION: "deletion_done",
    STOP_USE: "suspension_done",
    STOP_PROVISION: "third_party_stopped",
    COMPLAINT: "complaint_answer",
    INQUIRY: "inquiry_answer",
}

# Replies that report a rights request carried out: sent only for a verified requester.
CARRIES_OUT: frozenset[str] = frozenset(
    {ANSWER_FOR_INTENT[i] for i in (DISCLOSURE, CORRECTION, DELETION, STOP_USE, STOP_PROVISION)}
)

# Outbox (and draft) states of mail that left the outbox: sent, or written to the folder of a
# ``file:`` outbox (for trying the desk: it reached nobody, yet the case moves on the same way).
DELIVERED = ("sent", "written")
# What the audit trail calls it, by the same state.
DELIVERED_ACTIONS = tuple(f"mail {status}" for status in DELIVERED)
# The status a case takes once the reply from this template has gone out.
STATUS_AFTER_SENDING: dict[str, Status] = {
    **{template: Status.ANSWERED for template in ANSWER_FOR_INTENT.values()},
    "refusal": Status.REJECTED,
    "unverified_close": Status.CLOSED,
}


def first_reply(kind: str) -> str | None:
    return FIRST_REPLY.get(kind)


def answer_template(intents: Iterable[str]) -> str | None:
    """The answer template for a case's intents (the first in ANSWER_FOR_INTENT's order)."""
    wanted = set(intents)
    return next((t for intent, t in ANSWER_FOR_INTENT.items() if intent in wanted), None)


def status_after_sending(template: str) -> Status | None:
    return STATUS_AFTER_SENDING.get(template)


def sent_without_approval(template: str, *, auto_ack: bool) -> bool:
    """Only the acknowledgement may leave unapproved, and only when the operator says so."""
    return auto_ack and template == ACK


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str
    key: str = ""  # the reason as a key of the staff texts (``refusal.<key>``), with its values
    values: Mapping[str, str] = field(default_factory=dict)


def may_approve(
    approver: str,
    *,
    approvers: Sequence[str],
    approver_groups: Iterable[str] = (),
    four_eyes: bool = False,
    last_editor: str | None = None,
) -> Verdict:
    """Whether ``approver`` may approve a draft last edited by ``last_editor``.

    ``approvers`` holds user IDs or names and user-group IDs; ``approver_groups`` are the groups
    the approver belongs to. With four eyes, the approver must not be the last editor (drafts
    made by the desk itself, ``intake``, have no human editor).
    """
    if not approvers:
        return Verdict(False, "no approvers are configured (PD_APPROVERS)", "no_approvers")
    listed = set(approvers)
    if approver not in listed and not listed & set(approver_groups):
        return Verdict(False, f"{approver} is not an approver", "not_approver", {"who": approver})
    if four_eyes and last_editor is not None and last_editor == approver:
        return Verdict(
            False, "four eyes: the approver must not be the last editor of the draft", "four_eyes"
        )
    return Verdict(True, "")


def within_daily_cap(sent_today: int, cap: int) -> bool:
    """At most ``cap`` automatic mails to one recipient a day (0: no automatic mail at all)."""
    return sent_today < cap
