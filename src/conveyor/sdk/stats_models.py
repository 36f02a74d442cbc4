"""What ``client.stats()`` hands back: typed mirrors of ``GET /api/v1/stats``.

Kept beside :mod:`conveyor.sdk.models` (same rules: unknown fields are ignored, so a
newer server never breaks an older client).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class StatsMinute(_Answer):
    """One minute: jobs submitted, and jobs that finished by outcome (failed: ended dead)."""

    minute: datetime
    submitted: int = 0
    succeeded: int = 0
    failed: int = 0
    cancelled: int = 0


class StatsTotals(_Answer):
    """The window's sums."""

    submitted: int = 0
    succeeded: int = 0
    failed: int = 0
    cancelled: int = 0


class Percentiles(_Answer):
    """Seconds at p50, p95 and p99 (None when nothing was measured)."""

    p50: float | None = None
    p95: float | None = None
    p99: float | None = None


class QueueStats(_Answer):
    """A queue's unfinished jobs by state now, and its wait and run times over the window."""

    queue: str
    depth: dict[str, int] = Field(default_factory=dict)
    wait_seconds: Percentiles = Field(default_factory=Percentiles)
    run_seconds: Percentiles = Field(default_factory=Percentiles)


class AgentStats(_Answer):
    """The team's connected agents and their slots."""

    connected: int = 0
    slots_total: int = 0
    slots_busy: int = 0


class Failure(_Answer):
    """A job that ended dead."""

    job_id: uuid.UUID
    action: str
    queue: str
    finished_at: datetime | None = None
    error: str | None = None


class Stats(_Answer):
    """The team's figures over the last hour or day (``GET /api/v1/stats``)."""

    generated_at: datetime
    window: str
    throughput: list[StatsMinute] = Field(default_factory=list)
    totals: StatsTotals = Field(default_factory=StatsTotals)
    queues: list[QueueStats] = Field(default_factory=list)
    agents: AgentStats = Field(default_factory=AgentStats)
    recent_failures: list[Failure] = Field(default_factory=list)
