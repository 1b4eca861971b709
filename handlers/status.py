"""A case's status, the moves between statuses the desk makes, and the named sets the desk asks about.

The database keeps the status as text (``Status`` is a ``StrEnum``, so a stored value compares
equal to its member). ``TRANSITIONS`` is the one table of moves: every status change the service
makes is one of its entries.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType


class Status(StrEnum):
    NEW = "new"
    AWAITING_VERIFICATION = "awaiting_verification"  # the clock is paused for an identity proof
    AWAITING_REQUESTER = "awaiting_requester"  # the clock is paused for a clarification
    IN_PROGRESS = "in_progress"
    AWAITING_APPROVAL = "awaiting_approval"
    ANSWERED = "answered"
    CLOSED = "closed"
    REJECTED = "rejected"  # refused, with reasons (APPI Art. 36)
    QUARANTINED = "quarantined"  # a message that could not be processed, kept for a human


# Nothing more is owed on these: no reminders, no overdue, purged after the retention period.
FINISHED: frozenset[Status] = frozenset({Status.ANSWERED, Status.CLOSED, Status.REJECTED})
OPEN: frozenset[Status] = frozenset(Status) - FINISHED
# The desk waits on the requester: the SLA clock is paused; their answer resumes it.
WAITING: frozenset[Status] = frozenset({Status.AWAITING_VERIFICATION, Status.AWAITING_REQUESTER})
# Cases the scheduler sends no reminder for (a paused clock also holds reminders back).
NO_REMINDERS: frozenset[Status] = FINISHED

# What ends a case, by the reply that went out (handlers.replies.STATUS_AFTER_SENDING) or by staff.
_ENDS = frozenset({Status.ANSWERED, Status.REJECTED, Status.CLOSED})

TRANSITIONS: Mapping[Status, frozenset[Status]] = MappingProxyType(
    {
        # Staff approve a reply (in progress), ask the requester (paused), answer, refuse, close.
        Status.NEW: frozenset({Status.IN_PROGRESS, *WAITING, *_ENDS}),
        Status.AWAITING_APPROVAL: frozenset({Status.IN_PROGRESS, *WAITING, *_ENDS}),
        Status.IN_PROGRESS: frozenset({*WAITING, *_ENDS}),
        # The requester's answer or a proven code resumes the clock.
        Status.AWAITING_VERIFICATION: frozenset({Status.IN_PROGRESS, *_ENDS}),
        Status.AWAITING_REQUESTER: frozenset({Status.IN_PROGRESS, *_ENDS}),
        # A person takes a quarantined message in hand like a new case.
        Status.QUARANTINED: frozenset({Status.IN_PROGRESS, *WAITING, *_ENDS}),
        # A case with several intents may be answered by several mails; a refusal or a close
        # that was approved before the answer went out still goes out and counts.
        Status.ANSWERED: frozenset({Status.ANSWERED, Status.REJECTED, Status.CLOSED}),
        Status.CLOSED: frozenset(),
        Status.REJECTED: frozenset(),
    }
)


def can_move(current: str, to: str) -> bool:
    """Whether a case in status ``current`` may take status ``to`` (unknown statuses may not)."""
    try:
        return Status(to) in TRANSITIONS[Status(current)]
    except ValueError:
        return False
