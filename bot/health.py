"""What the running service says about itself: each component's state (``GET /healthz``) and the
Prometheus metrics (``GET /metrics``).

Components report as they work (``Health.report``); a component that has not reported since its
``stale_after`` is shown as stale. The metrics are counters and histograms updated where things
happen, and gauges read from the database when Prometheus scrapes (cases overdue, mail waiting),
so every replica reports the same figures. No label ever holds a reference, an address or text.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from prometheus_client import Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from storage import repo
from storage.models import Case, OutboxItem

log = logging.getLogger("privacy_desk.health")

# states a component may be in; "ok" and "standby" (another replica leads) are healthy
HEALTHY = ("ok", "standby", "disabled")

MESSAGES = Counter(
    "privacy_desk_messages_ingested", "Messages taken in, by what intake did", ["action"]
)
CASES_OPENED = Counter("privacy_desk_cases_opened", "Cases opened, by intent", ["intent"])
SLACK_DELAY = Histogram(
    "privacy_desk_receipt_to_slack_seconds",
    "Time from a message's receipt to its case's message in Slack",
    buckets=(1, 2, 5, 10, 30, 60, 120, 300, 900, 3600),
)
OUTBOX_FAILURES = Counter(
    "privacy_desk_outbox_failures", "Mail the server refused for good, or could not take", ["kind"]
)


@dataclass(frozen=True)
class State:
    state: str
    detail: str
    since: float  # time.time() of the last report


class Health:
    """The components' states, reported from the event loop and from the worker threads that
    run blocking work (the mailbox watcher reports from its ``pd-imap`` thread)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.Lock()
        self._states: dict[str, State] = {}
        self._checks: dict[str, Callable[[], str | None]] = {}
        self._clock = clock

    def watch(self, component: str, trouble: Callable[[], str | None]) -> None:
        """Ask ``trouble()`` whenever the state is read: while it gives a reason, the component
        is ``degraded`` whatever it last reported (it may be stuck where it cannot report)."""
        with self._lock:
            self._checks[component] = trouble

    def report(self, component: str, state: str, detail: str = "") -> None:
        with self._lock:
            before = self._states.get(component)
            self._states[component] = State(state, detail[:200], self._clock())
        if before is None or before.state != state:
            log.info("%s: %s%s", component, state, f" ({detail[:200]})" if detail else "")

    def _current(self) -> dict[str, State]:
        with self._lock:
            states, checks = dict(self._states), dict(self._checks)
        for name, trouble in checks.items():
            reason = trouble()
            if reason and name in states:
                states[name] = State("degraded", reason[:200], states[name].since)
        return states

    def snapshot(self) -> dict[str, dict[str, Any]]:
        states = self._current()
        return {
            name: {
                "state": s.state,
                "detail": s.detail,
                "since": datetime.fromtimestamp(s.since, UTC).isoformat(timespec="seconds"),
            }
            for name, s in sorted(states.items())
        }

    def healthy(self) -> bool:
        states = self._current()
        return bool(states) and all(s.state in HEALTHY for s in states.values())

    def collector(self) -> Collector:
        """The components' states as a metric: 1 for the state each is in (no reason text)."""
        return _States(self)


class _States(Collector):
    def __init__(self, health: Health) -> None:
        self._health = health

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "privacy_desk_component_state",
            "Each component's state (1); healthy ones are ok, standby or disabled",
            labels=["component", "state"],
        )
        for name, state in self._health.snapshot().items():
            family.add_metric([name, state["state"]], 1)
        yield family


class DatabaseGauges(Collector):
    """Gauges read from the database at scrape time: the same on every replica."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self._engine = engine
        self._clock = clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        overdue = GaugeMetricFamily("privacy_desk_cases_overdue", "Open cases past their deadline")
        queued = GaugeMetricFamily("privacy_desk_outbox_queued", "Mail waiting to be sent")
        try:
            with Session(self._engine) as session:
                late = session.exec(
                    select(func.count()).select_from(Case).where(repo.overdue(self._clock()))
                ).one()
                waiting = session.exec(
                    select(func.count())
                    .select_from(OutboxItem)
                    .where(OutboxItem.status == "queued")
                ).one()
        except Exception as exc:  # a scrape never fails the service
            log.warning("metrics: database not readable (%s)", type(exc).__name__)
            return
        overdue.add_metric([], late)
        queued.add_metric([], waiting)
        yield overdue
        yield queued


def watch_database(engine: Engine, clock: Callable[[], datetime]) -> Callable[[], None]:
    """Register the database gauges; the returned function unregisters them."""
    collector = DatabaseGauges(engine, clock)
    REGISTRY.register(collector)
    return lambda: REGISTRY.unregister(collector)


class ReadCounter(Collector):
    """A counter a component keeps itself (the watcher's reconnections), read at scrape time."""

    def __init__(self, name: str, documentation: str, read: Callable[[], float]) -> None:
        self._name, self._doc, self._read = name, documentation, read

    def collect(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily(self._name, self._doc, value=self._read())
