"""Prometheus metrics of one server replica, in a registry of its own.

Each replica counts what it does itself (the jobs submitted through it, claimed for
its agents, reported by its agents, reaped by its reaper), so ``sum()`` over the
replicas is the fleet's figure. Labels are bounded: ``action`` and ``queue`` keep the
first :data:`~conveyor.metric_labels.LABEL_CAP` distinct values each and put the rest in ``other``; a job id
is never a label. The reference table in ``docs/operations.md`` is generated from
this registry (``tests/unit/test_metrics_docs.py`` keeps the two in sync).
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from conveyor.engine.service import Service
from conveyor.metric_labels import OTHER, CappedLabel
from conveyor.states import JobState
from conveyor.store import Store

INFLIGHT_CAP = 100_000
"""Jobs remembered between their claim and their result (the oldest are forgotten)."""
SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)
HTTP_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
DEPTH_INTERVAL_S = 15.0
"""How often a replica counts unfinished jobs by queue and state (not per scrape)."""
RETRIED = frozenset({JobState.QUEUED, JobState.SCHEDULED})


class _Live(Collector):
    """Gauges read when scraped (connected agents, their slots) rather than kept in step."""

    def __init__(self, read: Callable[[], tuple[int, int, int]]) -> None:
        self.read = read

    def collect(self) -> Iterator[Metric]:
        agents, total, busy = self.read()
        yield GaugeMetricFamily(
            "conveyor_agents_connected", "Agents connected to this replica.", value=agents
        )
        yield GaugeMetricFamily(
            "conveyor_agent_slots", "Slots of the agents connected to this replica.", value=total
        )
        yield GaugeMetricFamily(
            "conveyor_agent_slots_busy",
            "Slots of this replica's agents holding a job, as of each agent's last heartbeat.",
            value=busy,
        )


class _Pools(Collector):
    """The store's connection pools: their size and the connections in use."""

    def __init__(self) -> None:
        self.store: Store | None = None

    def collect(self) -> Iterator[Metric]:
        size = GaugeMetricFamily(
            "conveyor_db_pool_size", "Connections a store pool keeps.", labels=["pool"]
        )
        used = GaugeMetricFamily(
            "conveyor_db_pool_in_use", "Connections of a store pool in use now.", labels=["pool"]
        )
        for pool, total, in_use in self.store.pool_use() if self.store else []:
            size.add_metric([pool], total)
            used.add_metric([pool], in_use)
        yield size
        yield used


class Metrics:
    """The counters, histograms and gauges one replica exports at ``/metrics``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.action = CappedLabel()
        self.queue = CappedLabel()
        self._inflight: OrderedDict[uuid.UUID, tuple[str, str, datetime]] = OrderedDict()
        r = self.registry
        self.submitted = Counter(
            "conveyor_jobs_submitted",
            "Jobs created through this replica (an idempotent repeat is not counted).",
            ["action", "queue"],
            registry=r,
        )
        self.started = Counter(
            "conveyor_jobs_started",
            "Attempts claimed for this replica's agents.",
            ["action", "queue"],
            registry=r,
        )
        self.finished = Counter(
            "conveyor_jobs_finished",
            "Attempts this replica's agents reported, by outcome "
            "(succeeded, failed, cancelled, released).",
            ["outcome", "action", "queue"],
            registry=r,
        )
        self.wait_seconds = Histogram(
            "conveyor_job_wait_seconds",
            "Time from when an attempt's job was due (created, or its run_at) to its claim "
            "for this replica's agents.",
            ["queue"],
            buckets=SECONDS,
            registry=r,
        )
        self.run_seconds = Histogram(
            "conveyor_job_run_seconds",
            "Time from an attempt's start to its reported end.",
            ["queue"],
            buckets=SECONDS,
            registry=r,
        )
        self.retries = Counter(
            "conveyor_job_retries",
            "Failed or expired attempts sent back for another attempt.",
            registry=r,
        )
        self.dead = Counter(
            "conveyor_jobs_dead", "Jobs that used their last attempt and died.", registry=r
        )
        self.lease_expiries = Counter(
            "conveyor_lease_expiries",
            "Attempts whose lease expired, reclaimed by this replica's reaper.",
            registry=r,
        )
        self.http_seconds = Histogram(
            "conveyor_http_request_duration_seconds",
            "HTTP request latency by route template, method and status class.",
            ["method", "route", "status"],
            buckets=HTTP_SECONDS,
            registry=r,
        )
        self._live = _Live(lambda: (0, 0, 0))
        r.register(self._live)
        self._pools = _Pools()
        r.register(self._pools)
        self.depth = Gauge(
            "conveyor_queue_depth",
            "Unfinished jobs by queue and state, all teams; counted every few seconds by "
            "each replica: the same figure on every replica (aggregate with max()).",
            ["queue", "state"],
            registry=r,
        )
        self.store_seconds = Histogram(
            "conveyor_store_call_duration_seconds",
            "Store calls as their caller waits for them (queueing for the SQLite writer or a "
            "pool connection included), by kind (read, write) and operation.",
            ["kind", "operation"],
            buckets=HTTP_SECONDS,
            registry=r,
        )
        self.sse_clients = Gauge(
            "conveyor_sse_clients",
            "Server-sent event streams open on this replica (events, live logs).",
            registry=r,
        )
        self.websockets = Gauge(
            "conveyor_websocket_connections",
            "Agent WebSocket connections open on this replica.",
            registry=r,
        )

    def watch_store(self, store: Store) -> None:
        """Time every store call, and export its pools' use as read at each scrape."""
        store.observe_calls(self.on_store_call)
        self._pools.store = store

    def on_store_call(self, kind: str, operation: str, seconds: float) -> None:
        self.store_seconds.labels(kind, operation).observe(seconds)

    def watch(self, read: Callable[[], tuple[int, int, int]]) -> None:
        """Export (agents connected, slots total, slots busy) as read at each scrape."""
        self._live.read = read

    # events

    def on_submitted(self, jobs: Iterable[tuple[str, str]]) -> None:
        for action, queue in jobs:
            self.submitted.labels(self.action(action), self.queue(queue)).inc()

    def on_started(
        self, job_id: uuid.UUID, action: str, queue: str, started_at: datetime,
        queued_at: datetime,
    ) -> None:  # fmt: skip
        labels = (self.action(action), self.queue(queue))
        self.started.labels(*labels).inc()
        waited = (_aware(started_at) - _aware(queued_at)).total_seconds()
        self.wait_seconds.labels(labels[1]).observe(max(waited, 0.0))
        self._inflight[job_id] = (*labels, started_at)
        if len(self._inflight) > INFLIGHT_CAP:
            self._inflight.popitem(last=False)

    def on_reported(self, job_id: uuid.UUID, outcome: str, state: JobState | None) -> None:
        """An applied report: count its outcome, its run time and what became of the job."""
        known = self._inflight.pop(job_id, None)
        action, queue = (known[0], known[1]) if known else (OTHER, OTHER)
        self.finished.labels(outcome, action, queue).inc()
        if known is not None and outcome != "released":
            ran = (datetime.now(UTC) - _aware(known[2])).total_seconds()
            self.run_seconds.labels(queue).observe(max(ran, 0.0))
        self._became(state, released=outcome == "released")

    def on_reaped(self, reaped: list[tuple[uuid.UUID, JobState]]) -> None:
        self.lease_expiries.inc(len(reaped))
        for job_id, state in reaped:
            self._inflight.pop(job_id, None)
            self._became(state)

    def _became(self, state: JobState | None, *, released: bool = False) -> None:
        if state is JobState.DEAD:
            self.dead.inc()
        elif state in RETRIED and not released:
            self.retries.inc()

    def on_depths(self, rows: list[tuple[str, str, int]]) -> None:
        """Replace the queue depths with a new count; queues past the cap add up in other."""
        depths: dict[tuple[str, str], int] = {}
        for queue, state, count in rows:
            key = (self.queue(queue), state)
            depths[key] = depths.get(key, 0) + count
        self.depth.clear()
        for (queue, state), count in depths.items():
            self.depth.labels(queue, state).set(count)

    def on_http(self, method: str, route: str, status: int, seconds: float) -> None:
        self.http_seconds.labels(method, route, f"{status // 100}xx").observe(seconds)

    @staticmethod
    def clock() -> float:
        return time.perf_counter()


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


class QueueDepths(Service):
    """Refresh ``conveyor_queue_depth`` with one grouped count every ``interval_s``."""

    name = "queue-depths"

    def __init__(self, store: Store, metrics: Metrics, interval_s: float) -> None:
        super().__init__(interval_s)
        self.store = store
        self.metrics = metrics

    async def run_once(self, now: datetime | None = None) -> int:
        rows = await self.store.job_depths()
        self.metrics.on_depths(rows)
        return 0
