"""``GET /api/v1/stats`` as the REST API shows it: throughput per minute, queue depths,
wait and run time percentiles, agents and the latest failures (docs/operations.md,
"Stats"). The figures come from the per-minute rollups (store/queries/rollups.py)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

StatsWindow = Literal["hour", "day"]


class MinuteOut(BaseModel):
    """One minute of the window: jobs submitted, and jobs that finished by outcome."""

    minute: datetime = Field(description="The minute's start (UTC)")
    submitted: int
    succeeded: int
    failed: int = Field(description="Jobs that ended dead (out of attempts or not retryable)")
    cancelled: int


class TotalsOut(BaseModel):
    """The window's sums of :class:`MinuteOut`."""

    submitted: int
    succeeded: int
    failed: int
    cancelled: int


class PercentilesOut(BaseModel):
    """Seconds at the 50th, 95th and 99th percentile; null when nothing was measured.

    Read from log-scale buckets (four per doubling): within about 10 % of the exact value.
    """

    p50: float | None
    p95: float | None
    p99: float | None


class QueueStatsOut(BaseModel):
    """A queue: its unfinished jobs by state now, and its wait and run times over the window."""

    queue: str
    depth: dict[str, int] = Field(
        description="Unfinished jobs by state now: pending, scheduled, queued, running"
    )
    wait_seconds: PercentilesOut = Field(description="Queued (or due) to started, per attempt")
    run_seconds: PercentilesOut = Field(description="Started to finished, per attempt")


class AgentStatsOut(BaseModel):
    """The team's connected agents and their slots."""

    connected: int
    slots_total: int = Field(description="Slots of the connected agents")
    slots_busy: int = Field(description="Jobs running on the connected agents")


class FailureOut(BaseModel):
    """A job that ended dead, latest first."""

    job_id: uuid.UUID
    action: str
    queue: str
    finished_at: datetime | None
    error: str | None = Field(description="The error's message (its code when it has none)")


class StatsOut(BaseModel):
    """The team's figures over the last hour or day."""

    generated_at: datetime
    window: StatsWindow
    throughput: list[MinuteOut] = Field(description="One per minute, oldest first, zero-filled")
    totals: TotalsOut
    queues: list[QueueStatsOut] = Field(
        description="Queues with unfinished jobs now or wait or run times in the window, by name"
    )
    agents: AgentStatsOut
    recent_failures: list[FailureOut] = Field(description="The latest 10, newest first")
