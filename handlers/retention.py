"""Which finished cases have outlived the retention period: their raw mail and texts go.

A case is finished when answered, closed or rejected. It *closed* at the last thing that
happened to it: its ``closed_at`` (closing, or a refusal sent), the last mail sent to the
requester (an answer sets ``answered`` without a ``closed_at``), or the last message that came
in (a follow-up to a finished case starts the period again). It is due ``days`` after that, and
again only if something happened to it after its last purge. A case on legal hold is never due:
its period runs on, and it is purged at the first purge after its release.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from handlers.status import FINISHED

SETTING = "PD_RETENTION_DAYS"
DEFAULT_DAYS = 365


class RetentionError(ValueError):
    """``PD_RETENTION_DAYS`` is not a number of days."""


def parse_days(value: str | None) -> int:
    """The retention period of a ``PD_RETENTION_DAYS`` value (blank: the default, 365)."""
    if value is None or not value.strip():
        return DEFAULT_DAYS
    text = value.strip()
    if not text.isdigit() or int(text) < 1:
        raise RetentionError(f"{SETTING} must be a whole number of days (1 or more), not {text!r}")
    return int(text)


@dataclass(frozen=True)
class CaseActivity:
    """What retention needs to know of one case."""

    id: int
    ref: str
    status: str
    closed_at: datetime | None
    last_message: datetime | None  # the newest message in or out of the case
    last_sent: datetime | None  # the newest mail the server took
    purged_at: datetime | None
    held: bool = False  # on legal hold


def closed_at(case: CaseActivity) -> datetime | None:
    """When a finished case closed, for retention (None while it is not finished)."""
    if case.status not in FINISHED:
        return None
    moments = [m for m in (case.closed_at, case.last_message, case.last_sent) if m is not None]
    return max(moments) if moments else None


def purge_after(case: CaseActivity, days: int) -> datetime | None:
    """When the case's raw mail may go (None: not finished, on legal hold, or purged since it
    closed)."""
    closed = closed_at(case)
    if case.held or closed is None or (case.purged_at is not None and case.purged_at >= closed):
        return None
    return closed + timedelta(days=days)


def due(cases: Iterable[CaseActivity], now: datetime, days: int) -> list[CaseActivity]:
    """The cases whose raw mail and texts are due for purging at ``now``, oldest first."""
    found = [(when, c) for c in cases if (when := purge_after(c, days)) is not None and when <= now]
    return [c for _, c in sorted(found, key=lambda pair: (pair[0], pair[1].id))]


def caseless_cutoff(now: datetime, days: int) -> datetime:
    """A message that belongs to no case (archived machine mail) goes ``days`` after it came:
    those received at or before this moment are due."""
    return now - timedelta(days=days)
