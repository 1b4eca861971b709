"""The desk's one notion of time: the Tokyo zone its dates are read in, and the clock it asks.

Components take a ``Clock`` (a keyword argument defaulting to ``now``) so tests can set the time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

TOKYO = ZoneInfo("Asia/Tokyo")

Clock = Callable[[], datetime]


def now() -> datetime:
    """The current instant, timezone-aware, in UTC."""
    return datetime.now(UTC)
