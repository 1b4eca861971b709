"""What a Slack ID looks like: a user (``U…``, ``W…``), whom a message may mention, or a user group (``S…``).

Settings check the IDs an operator gives with it; Slack texts mention a person only when it says
so, and show anything else (a name, ``intake``) as text.
"""

from __future__ import annotations

import re

_ID = re.compile(r"[UWS][A-Z0-9]{6,}")


def is_slack_id(value: str | None) -> bool:
    """A Slack user or user-group ID."""
    return value is not None and _ID.fullmatch(value) is not None


def is_user_id(value: str | None) -> bool:
    """A Slack user ID: a person Slack can mention with ``<@…>``."""
    return is_slack_id(value) and value is not None and not value.startswith("S")


def is_group_id(value: str | None) -> bool:
    """A Slack user-group ID, mentioned with ``<!subteam^…>``."""
    return is_slack_id(value) and value is not None and value.startswith("S")
