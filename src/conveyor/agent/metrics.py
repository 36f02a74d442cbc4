"""An agent's own Prometheus metrics, served on a local port (``--metrics-port``).

Off unless asked for: the agent counts in memory either way (a few increments per
job), and only an agent started with a port serves them. The endpoint is
prometheus-client's own small HTTP server in a thread, bound to 127.0.0.1 unless
told otherwise: an agent needs no open port, and this one is for a local scraper.
Labels are bounded as the server's are: ``action`` keeps the first
:data:`~conveyor.metric_labels.LABEL_CAP` values, then ``other``; never a job id.
The reference table in ``docs/operations.md`` is generated from this registry
(``tests/unit/test_metrics_docs.py``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from conveyor.metric_labels import CappedLabel


class AgentMetrics:
    """The counters and gauges one agent exports; safe to update from the event loop
    while the serving thread reads them (prometheus-client locks each value)."""

    def __init__(self, slots: int = 0) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.action = CappedLabel()
        r = self.registry
        # Not conveyor_agent_slots(_busy): the server exports those, for all its agents.
        self.slots = Gauge(
            "conveyor_agent_capacity_slots", "Jobs this agent runs at once (--slots).", registry=r
        )
        self.slots.set(slots)
        self.busy = Gauge(
            "conveyor_agent_busy_slots", "Slots of this agent running a job now.", registry=r
        )
        self.jobs = Counter(
            "conveyor_agent_jobs",
            "Jobs this agent ended, by outcome (succeeded, failed, cancelled; released: handed "
            "back to run elsewhere; lost: another attempt owns it) and action.",
            ["outcome", "action"],
            registry=r,
        )
        self.executor_errors = Counter(
            "conveyor_agent_executor_errors",
            "Jobs whose executor raised instead of returning an outcome (reported as failed).",
            ["action"],
            registry=r,
        )
        self.connected = Gauge(
            "conveyor_agent_connected", "1 while a session with the server is up, else 0.",
            registry=r,
        )  # fmt: skip
        self.reconnects = Counter(
            "conveyor_agent_reconnects",
            "Sessions with the server lost or refused, each followed by a reconnect.",
            registry=r,
        )
        self.lease_renewals_failed = Counter(
            "conveyor_agent_lease_renewals_failed",
            "Jobs stopped and handed back because their lease could not be renewed in time "
            "(the server was out of reach).",
            registry=r,
        )

    def on_job_ended(self, outcome: str, action: str) -> None:
        self.jobs.labels(outcome, self.action(action)).inc()

    def on_executor_error(self, action: str) -> None:
        self.executor_errors.labels(self.action(action)).inc()


@dataclass
class MetricsEndpoint:
    """The running ``/metrics`` server of an agent; :meth:`close` stops its thread."""

    server: WSGIServer
    thread: threading.Thread

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else host
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}/metrics"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def serve(metrics: AgentMetrics, port: int, address: str) -> MetricsEndpoint:
    """Serve ``metrics`` at ``http://address:port/metrics`` (port 0: any free one).

    Raises OSError when the address cannot be bound (the port is taken, say).
    """
    server, thread = start_http_server(port, addr=address, registry=metrics.registry)
    return MetricsEndpoint(server, thread)
