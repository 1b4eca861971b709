"""One check for a Slack ID: users are mentioned, groups are group mentions, the rest is text."""

from __future__ import annotations

import pytest

from bot.slack.ids import is_group_id, is_slack_id, is_user_id
from bot.slack.texts import mention


@pytest.mark.parametrize("value", ["U0APPROVE1", "W0123ABCD", "UABCDEFGH"])
def test_users(value: str) -> None:
    assert is_slack_id(value) and is_user_id(value) and not is_group_id(value)
    assert mention(value) == f"<@{value}>"


def test_groups() -> None:
    assert is_slack_id("S0LEGAL0001") and is_group_id("S0LEGAL0001")
    assert not is_user_id("S0LEGAL0001")
    assert mention("S0LEGAL0001") == "<!subteam^S0LEGAL0001>"


@pytest.mark.parametrize(
    "value", [None, "", "intake", "sato", "SATO", "U1", "u0approve1", "C0DESK0001", "U0APPROVE1 x"]
)
def test_anything_else_is_text(value: str | None) -> None:
    assert not is_slack_id(value) and not is_user_id(value) and not is_group_id(value)
