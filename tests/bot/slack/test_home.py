"""The App Home: whoever opens it sees their own cases, what is overdue, what is due in the next
three days and what waits for approval — each list bounded, requesters masked, mail text
escaped — and a failed publish is logged without personal data, never raised. Events are
signed as Slack signs them; the Web API is the double, which checks Block Kit's limits."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine
from sqlmodel import Session
from support import add_case as support_add_case
from support import settle

from bot.slack import home
from bot.slack.staff import Staff
from bot.words import words

SECRET = "signing-secret-of-the-test"
NOW = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)
ALICE = "U0ALICE001"
OUTSIDER = "U0OUTSIDE1"  # in the workspace, not in the case channel
SECTIONS = ["My cases", "Overdue", "Due in the next 3 days", "Waiting for approval"]


def double() -> Any:
    return sys.modules["slack_double"]  # loaded by the slack fixture


def add_case(session: Session, requester: str, **given: Any) -> str:
    """A case received three days before NOW whose subject would ping the channel."""
    return support_add_case(
        session,
        requester,
        **{
            "received": NOW - timedelta(days=3),
            "subject": "<!channel> 個人情報削除のお願い",
            **given,
        },
    )


class Home:
    def __init__(self, engine: Engine, slack: Any, **options: Any) -> None:
        self.engine, self.slack = engine, slack
        slack.add_user(ALICE, name="alice")
        slack.add_user(OUTSIDER, name="outsider", channels=())
        client = AsyncWebClient(token=slack.bot_token, base_url=slack.base_url, retry_handlers=[])
        self.app = AsyncApp(signing_secret=SECRET, client=client)
        staff = Staff(client, channel=slack.channel)
        home.register(
            self.app, engine, staff=staff, clock=lambda: NOW, words=words("en"), **options
        )

    async def open(self, user: str, *, tab: str = "home", secret: str = SECRET) -> int:
        """``user`` opens the app's ``tab``; the status the app answered."""
        envelope = double().event_callback(double().app_home_opened(user, tab=tab))
        request = double().event(envelope, secret)
        response = await self.app.async_dispatch(
            AsyncBoltRequest(body=request.body, headers=request.multi_headers())
        )
        await settle()  # the publish happens after the ack
        return int(response.status)

    def sections(self, user: str) -> dict[str, str]:
        """``{"Overdue (1)": "<its section text>", ...}`` of the Home published for ``user``."""
        view = self.slack.published_home(user)
        assert view is not None and view["type"] == "home"
        blocks = view["blocks"]
        found = {}
        for i, block in enumerate(blocks):
            if block["type"] == "header" and i + 1 < len(blocks):
                after = blocks[i + 1]
                if after["type"] == "section":
                    found[block["text"]["text"]] = after["text"]["text"]
        return found


def refs_in(text: str) -> list[str]:
    return re.findall(r"PD-\d{4}-\d{6}", text)


@pytest.fixture
def desk(engine: Engine, slack: Any) -> Home:
    return Home(engine, slack)


async def test_the_home_shows_the_four_lists(desk: Home) -> None:
    with Session(desk.engine) as session:
        late = add_case(session, "late@example.jp", due=NOW - timedelta(hours=5), assignee=ALICE)
        soon = add_case(session, "soon@example.jp", due=NOW + timedelta(days=2), draft=True)
        later = add_case(session, "later@example.jp", due=NOW + timedelta(days=4), assignee=ALICE)
        add_case(session, "done@example.jp", due=NOW - timedelta(days=9), status="closed")
        paused = add_case(session, "paused@example.jp", due=None, draft=True)
        session.commit()
    assert await desk.open(ALICE) == 200
    shown = desk.sections(ALICE)
    assert list(shown) == [
        "My cases (2)",
        "Overdue (1)",
        "Due in the next 3 days (1)",
        "Waiting for approval (2)",
    ]
    assert refs_in(shown["My cases (2)"]) == [late, later]
    assert refs_in(shown["Overdue (1)"]) == [late]
    assert "OVERDUE by 0d 5h" in shown["Overdue (1)"]
    assert refs_in(shown["Due in the next 3 days (1)"]) == [soon]
    assert "2026-03-12 12:00 JST (2d 0h left)" in shown["Due in the next 3 days (1)"]
    assert refs_in(shown["Waiting for approval (2)"]) == [soon, paused]
    assert "1 draft waiting" in shown["Waiting for approval (2)"]
    line = shown["Overdue (1)"]
    assert "削除 deletion" in line and "in_progress" in line and "l***@example.jp" in line


async def test_an_outsider_learns_nothing_and_staff_see_only_masked_addresses(
    desk: Home,
) -> None:
    """Someone in the workspace but not staff (DESIGN rule 8) gets a refusal Home with nothing of
    any case; a member of the case channel sees masked addresses and no mail subject."""
    with Session(desk.engine) as session:
        late = add_case(
            session, "hanako.sato@example.jp", due=NOW - timedelta(days=1), assignee=ALICE
        )
        session.commit()
    assert await desk.open(OUTSIDER) == 200
    refused = json.dumps(desk.slack.published_home(OUTSIDER), ensure_ascii=False)
    assert "not on its staff" in refused
    assert late not in refused and "example.jp" not in refused and "Overdue" not in refused
    assert desk.slack.published_home(ALICE) is None  # published only for who opened it
    assert await desk.open(ALICE) == 200
    shown = desk.sections(ALICE)
    assert refs_in(shown["Overdue (1)"]) == [late]
    everything = json.dumps(desk.slack.published_home(ALICE), ensure_ascii=False)
    assert "hanako.sato" not in everything and "h***@example.jp" in everything
    assert "<!channel>" not in everything  # no mail subject on the Home at all


async def test_empty_lists_say_so(desk: Home) -> None:
    assert await desk.open(ALICE) == 200
    assert desk.sections(ALICE) == {
        "My cases (0)": "_No open cases are assigned to you._",
        "Overdue (0)": "_Nothing is overdue._",
        "Due in the next 3 days (0)": "_Nothing is due in the next 3 days._",
        "Waiting for approval (0)": "_No drafts are waiting for approval._",
    }


async def test_the_messages_tab_and_forged_events_publish_nothing(desk: Home) -> None:
    assert await desk.open(ALICE, tab="messages") == 200
    assert await desk.open(ALICE, secret="not-the-secret") == 401
    assert desk.slack.calls("views.publish") == []


@pytest.mark.parametrize("mode, shown", [("none", "(hidden)"), ("full", "&lt;x&gt;@example.jp")])
async def test_the_operator_chooses_how_requesters_are_shown(
    engine: Engine, slack: Any, mode: str, shown: str
) -> None:
    desk = Home(engine, slack, mask_mode=mode)
    with Session(engine) as session:
        add_case(session, "<x>@example.jp", due=NOW - timedelta(days=1))
        session.commit()
    assert await desk.open(ALICE) == 200
    assert shown in desk.sections(ALICE)["Overdue (1)"]


@pytest.mark.parametrize("fault", ["ratelimited", "not_enabled", "down"])
async def test_a_failed_publish_is_logged_without_personal_data(
    desk: Home, fault: str, caplog: pytest.LogCaptureFixture
) -> None:
    with Session(desk.engine) as session:
        add_case(session, "hanako.sato@example.jp", due=NOW - timedelta(days=1), assignee=ALICE)
        session.commit()
    assert await desk.open(OUTSIDER) == 200  # the app is running (bolt has its auth.test)
    if fault == "ratelimited":
        desk.slack.rate_limit("views.publish", retry_after=30)
    elif fault == "down":
        desk.slack.down()
    else:
        desk.slack.fail("views.publish", error=fault)
    with caplog.at_level(logging.INFO, logger="privacy_desk.slack"):
        assert await desk.open(ALICE) == 200
    [record] = [r for r in caplog.records if "App Home not published" in r.getMessage()]
    expected = {"ratelimited": "ratelimited (retry after 30 s)", "not_enabled": "not_enabled"}
    assert expected.get(fault, "Slack unreachable") in record.getMessage()
    assert "hanako" not in caplog.text and "example.jp" not in caplog.text
    if fault == "down":
        desk.slack.up()
    assert await desk.open(ALICE) == 200  # the next opening publishes
    assert desk.slack.published_home(ALICE) is not None


async def test_three_hundred_cases_stay_within_slacks_limits(desk: Home) -> None:
    with Session(desk.engine) as session:
        for n in range(150):  # overdue, and mine
            add_case(
                session, f"late{n}@example.jp", due=NOW - timedelta(hours=n + 1), assignee=ALICE
            )
        for n in range(150):  # due within 3 days, with a draft each
            add_case(session, f"soon{n}@example.jp", due=NOW + timedelta(minutes=n + 1), draft=True)
        session.commit()
    assert await desk.open(ALICE) == 200
    view = desk.slack.published_home(ALICE)  # the double refuses what Slack would
    assert view is not None and len(view["blocks"]) <= 100
    shown = desk.sections(ALICE)
    assert list(shown) == [
        "My cases (150)",
        "Overdue (150)",
        "Due in the next 3 days (150)",
        "Waiting for approval (150)",
    ]
    for text in shown.values():
        assert len(text) <= 3000
        assert len(refs_in(text)) == home.HOME_LINES
        assert text.endswith(f"_…and {150 - home.HOME_LINES} more_")
    # the soonest deadline first: the longest overdue leads, then the one due in a minute
    assert "(OVERDUE by 6d 6h)" in shown["Overdue (150)"].splitlines()[0]
    assert "(0d 0h left)" in shown["Due in the next 3 days (150)"].splitlines()[0]
