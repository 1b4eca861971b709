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
from sqlmodel import Session, col, select

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
    """The components' states, shared by the service's threads."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.Lock()
        self._states: dict[str, State] = {}
        self._clock = clock

    def report(self, component: str, state: str, detail: str = "") -> None:
        with self._lock:
            before = self._states.get(component)
            self._states[component] = State(state, detail[:200], self._clock())
        if before is None or before.state != state:
            log.info("%s: %s%s", component, state, f" ({detail[:200]})" if detail else "")

    def snapshot(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            states = dict(self._states)
        return {
            name: {
                "state": s.state,
                "detail": s.detail,
                "since": datetime.fromtimestamp(s.since, UTC).isoformat(timespec="seconds"),
            }
            for name, s in sorted(states.items())
        }

    def healthy(self) -> bool:
        with self._lock:
            return bool(self._states) and all(s.state in HEALTHY for s in self._states.values())


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
                    select(func.count())
                    .select_from(Case)
                    .where(
                        col(Case.answer_due) < self._clock(),
                        col(Case.status).not_in(("answered", "closed", "rejected")),
                    )
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
