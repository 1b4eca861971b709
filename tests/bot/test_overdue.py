"""One definition of overdue: a case that was late when its clock stopped stays late in the
listing, the Home's overdue list, the overdue gauge and the digest; one paused in time does not."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine
from sqlmodel import Session

from bot.health import DatabaseGauges
from bot.replies import ReplySettings
from bot.scheduler import Scheduler, SchedulerSettings
from bot.words import words
from handlers import sla
from handlers.clock import TOKYO
from storage import repo, views
from storage.db import writer

NOW = datetime(2026, 6, 10, 9, 0, tzinfo=TOKYO)  # a Wednesday, the digest's hour


def _paused_case(engine: Engine, received: datetime, paused: datetime, requester: str) -> str:
    """A deletion request received at ``received`` whose clock stopped at ``paused``."""
    with Session(writer(engine)) as session:
        handle = repo.open_case(
            session,
            kind="privacy",
            intents=["deletion"],
            language="ja",
            requester=requester,
            requester_name="",
            received_at=received,
            ack_due=None,
            answer_due=sla.deadlines(received, ["deletion"]).answer_due,
            needs_triage=False,
            flags=(),
        )
        case = repo.case_by_ref(session, handle.ref)
        assert case is not None
        repo.pause_case(session, case, at=paused, reason="clarification", actor="U0STAFF001")
        session.commit()
        assert case.answer_due is None  # no answer is due while the clock stands
        return handle.ref


@pytest.fixture
def cases(engine: Engine) -> tuple[str, str]:
    """(late, in time): both paused now; the first after its deadline (6/3) had passed, the
    second before its deadline (6/8), which the calendar has passed since."""
    late = _paused_case(
        engine,
        datetime(2026, 5, 20, 10, tzinfo=TOKYO),
        datetime(2026, 6, 5, 10, tzinfo=TOKYO),
        "a@x.jp",
    )
    in_time = _paused_case(
        engine,
        datetime(2026, 5, 25, 10, tzinfo=TOKYO),
        datetime(2026, 6, 1, 10, tzinfo=TOKYO),
        "b@x.jp",
    )
    return late, in_time


def test_the_overdue_listing_keeps_a_case_paused_late(
    engine: Engine, cases: tuple[str, str]
) -> None:
    late, _ = cases
    with Session(engine) as session:
        assert [c.ref for c in repo.list_cases(session, overdue_at=NOW)] == [late]


def test_the_home_overdue_list_keeps_a_case_paused_late(
    engine: Engine, cases: tuple[str, str]
) -> None:
    late, _ = cases
    with Session(engine) as session:
        page = views.overdue(session, NOW, limit=10)
    assert [c.ref for c in page.cases] == [late] and page.total == 1


def test_the_overdue_gauge_counts_a_case_paused_late(
    engine: Engine, cases: tuple[str, str]
) -> None:
    families = {f.name: f for f in DatabaseGauges(engine, lambda: NOW).collect()}
    [sample] = families["privacy_desk_cases_overdue"].samples
    assert sample.value == 1


@pytest.fixture
def scheduler(engine: Engine, slack: Any) -> Iterator[Scheduler]:
    made = Scheduler(
        engine,
        AsyncWebClient(token=slack.bot_token, base_url=slack.base_url, retry_handlers=[]),
        slack.channel,
        SchedulerSettings.from_env({"PD_DIGEST_TIME": "09:00"}),
        ReplySettings.from_env({"PD_FROM_ADDRESS": "privacy@example-hikaku.co.jp"}),
        words=words("en"),
    )
    yield made
    made.close()


def test_the_digest_counts_a_case_paused_late(
    scheduler: Scheduler, slack: Any, cases: tuple[str, str]
) -> None:
    late, _ = cases
    assert asyncio.run(scheduler.run_once(NOW)).digests == 1
    [text] = [m["text"] for m in slack.messages() if "daily digest" in m["text"]]
    assert f"• Overdue (1): {late}" in text.splitlines()


def test_privacy_overdue_says_the_paused_case_is_late(
    engine: Engine, cases: tuple[str, str]
) -> None:
    """``/privacy overdue`` and ``/privacy open`` tell a late paused case from one paused in
    time: the first is LATE, the second only paused."""
    from bot.slack.home import _Desk

    late, in_time = cases
    desk = _Desk(engine, "full", lambda: NOW, words("en"))
    client = AsyncWebClient(token="xoxb-unused")  # these answers make no Slack call
    overdue = asyncio.run(desk.answer("overdue", "U0STAFF001", client))
    listed = asyncio.run(desk.answer("open", "U0STAFF001", client))
    [line] = [x for x in overdue.splitlines() if late in x]
    assert "LATE (clock paused after the deadline)" in line
    [paused] = [x for x in listed.splitlines() if in_time in x]
    assert "LATE" not in paused and "clock paused" in paused
