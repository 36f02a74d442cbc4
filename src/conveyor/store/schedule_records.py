"""The rows of schedules and their ticks, and what callers pass to write them.

Exported by :mod:`conveyor.store`; the engine decides what a tick does, the store
writes it (see :mod:`conveyor.store.queries.schedules`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from conveyor.store.queries.submit import JobSpec

TickKind = Literal["cron", "manual"]
TickOutcome = Literal["submitted", "skipped"]
SkipReason = Literal["overlap", "missed", "rights_revoked", "invalid"]

SCHEDULE_FIELDS = (
    "name", "description", "action", "params", "queue", "priority", "labels",
    "max_attempts", "timeout_s", "cron", "timezone", "paused", "misfire_policy",
    "catchup_window_s", "overlap", "run_as_key_id",
)  # fmt: skip
"""What a caller sets on a schedule (create takes them all, update any of them)."""


@dataclass(frozen=True, slots=True)
class Tick:
    """One tick of a schedule: fired (its job) or skipped (why)."""

    schedule_id: uuid.UUID
    fire_at: datetime
    kind: TickKind
    outcome: TickOutcome
    skip_reason: SkipReason | None
    message: str | None
    job_id: uuid.UUID | None
    created_at: datetime
    job_state: str | None = None  # the job's state now (None once retention removed it)


@dataclass(frozen=True, slots=True)
class Schedule:
    id: uuid.UUID
    team_id: uuid.UUID
    name: str
    description: str
    action: str
    params: Any
    queue: str
    priority: int
    labels: dict[str, str]
    max_attempts: int | None
    timeout_s: float | None
    cron: str
    timezone: str
    paused: bool
    misfire_policy: str
    catchup_window_s: int
    overlap: str
    run_as_key_id: uuid.UUID | None
    created_by: uuid.UUID | None
    created_by_key: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    next_fire_at: datetime | None
    last_tick: Tick | None = None


@dataclass(frozen=True, slots=True)
class SchedulePage:
    items: list[Schedule]
    next_cursor: str | None  # the last name of the page


@dataclass(frozen=True, slots=True)
class TickPage:
    items: list[Tick]
    next_cursor: datetime | None  # the last fire time of the page


@dataclass(frozen=True, slots=True)
class TickIn:
    """A tick to record; a ``submitted`` one carries the job ``spec`` to insert with it."""

    fire_at: datetime
    kind: TickKind = "cron"
    outcome: TickOutcome = "submitted"
    skip_reason: SkipReason | None = None
    message: str | None = None
    spec: JobSpec | None = None


@dataclass(frozen=True, slots=True)
class Fired:
    """What one firing transaction wrote: every tick, with the job of each submitted one."""

    ticks: list[Tick] = field(default_factory=list)
    cancelled: list[uuid.UUID] = field(default_factory=list)  # cancel_previous's live runs
