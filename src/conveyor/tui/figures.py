"""What the overview shows, read from one ``GET /api/v1/stats`` answer.

The server keeps per-minute rollups, so one call per refresh costs it no scan of
the jobs table; this module only reshapes the answer for the panes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

DEPTH_STATES = ("queued", "running", "scheduled", "pending", "dead")


@dataclass(frozen=True)
class QueueFigures:
    name: str
    depth: Mapping[str, int]
    wait_p95_s: float | None = None


@dataclass(frozen=True)
class Failure:
    job_id: str
    action: str
    queue: str
    finished_at: datetime | None
    error: str


@dataclass(frozen=True)
class Figures:
    """One refresh of the overview."""

    finished_per_minute: Sequence[int] = ()  # oldest first: succeeded + failed + cancelled
    submitted: int = 0
    succeeded: int = 0
    failed: int = 0
    window: str = ""
    queues: Sequence[QueueFigures] = ()
    agents_connected: int = 0
    slots_total: int = 0
    slots_busy: int = 0
    failures: Sequence[Failure] = field(default_factory=tuple)

    @classmethod
    def from_stats(cls, stats: Mapping[str, Any]) -> Figures:
        """Reshape the JSON of ``GET /api/v1/stats``."""
        minutes = sorted(stats.get("throughput") or [], key=lambda m: str(m.get("minute")))
        agents = stats.get("agents") or {}
        return cls(
            finished_per_minute=[_finished(m) for m in minutes],
            submitted=sum(int(m.get("submitted") or 0) for m in minutes),
            succeeded=sum(int(m.get("succeeded") or 0) for m in minutes),
            failed=sum(int(m.get("failed") or 0) for m in minutes),
            window=str(stats.get("window") or ""),
            queues=[_queue(q) for q in stats.get("queues") or []],
            agents_connected=int(agents.get("connected") or 0),
            slots_total=int(agents.get("slots_total") or 0),
            slots_busy=int(agents.get("slots_busy") or 0),
            failures=[_failure(f) for f in stats.get("recent_failures") or []],
        )

    def depth(self, state: str) -> int:
        """Jobs in ``state`` over all queues."""
        return sum(q.depth.get(state, 0) for q in self.queues)


def _finished(minute: Mapping[str, Any]) -> int:
    return sum(int(minute.get(k) or 0) for k in ("succeeded", "failed", "cancelled"))


def _queue(queue: Mapping[str, Any]) -> QueueFigures:
    wait = queue.get("wait_seconds") or {}
    p95 = wait.get("p95")
    depth = {str(k): int(v or 0) for k, v in (queue.get("depth") or {}).items()}
    return QueueFigures(str(queue.get("queue")), depth, float(p95) if p95 is not None else None)


def _failure(failure: Mapping[str, Any]) -> Failure:
    finished = failure.get("finished_at")
    error = failure.get("error")
    if isinstance(error, Mapping):
        error = error.get("message") or error.get("type") or error
    return Failure(
        job_id=str(failure.get("job_id")),
        action=str(failure.get("action") or ""),
        queue=str(failure.get("queue") or ""),
        finished_at=datetime.fromisoformat(finished) if isinstance(finished, str) else None,
        error=" ".join(str(error or "").split()),
    )
