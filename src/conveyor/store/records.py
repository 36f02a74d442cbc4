"""What the store hands back: plain, typed, immutable rows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Row

from conveyor.states import AttemptOutcome, JobState


@dataclass(frozen=True, slots=True)
class Job:
    """A job as the public contract shows it."""

    id: uuid.UUID
    team_id: uuid.UUID
    action: str
    params: Any
    queue: str
    priority: int
    state: JobState
    run_at: datetime
    attempt: int
    attempt_floor: int
    max_attempts: int
    timeout_s: float | None
    labels: dict[str, str]
    agent_id: uuid.UUID | None
    lease_expires_at: datetime | None
    cancel_requested_at: datetime | None
    idempotency_key: str | None
    concurrency_key: str | None
    concurrency_limit: int | None
    parent_id: uuid.UUID | None
    progress: Any
    result: Any
    error: Any
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    seq: int

    @classmethod
    def from_row(cls, row: Row[Any]) -> Job:
        m = row._mapping
        return cls(
            **{name: m[name] for name in cls.__slots__ if name != "state"},
            state=JobState(m["state"]),
        )


@dataclass(frozen=True, slots=True)
class Submitted:
    """One submitted job: ``created`` is False when an idempotency key matched."""

    id: uuid.UUID
    state: JobState
    created: bool


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    """A job handed to an agent, with the lease token that fences its writes."""

    id: uuid.UUID
    action: str
    schema_hash: str | None
    params: Any
    queue: str
    priority: int
    attempt: int
    max_attempts: int
    lease_token: uuid.UUID
    lease_expires_at: datetime
    deadline_at: datetime | None
    timeout_s: float | None
    lease_s: float
    cancel_grace_s: float
    started_at: datetime


@dataclass(frozen=True, slots=True)
class HeartbeatResult:
    """Leases still held (with their new expiry), lost, and cancel requests among them."""

    extended: dict[uuid.UUID, datetime]
    lost: list[uuid.UUID]
    cancel_requested: list[uuid.UUID]


@dataclass(frozen=True, slots=True)
class ReportResult:
    """Per-item outcome of a batched report: ``applied`` False means a stale lease."""

    job_id: uuid.UUID
    applied: bool
    state: JobState | None


@dataclass(frozen=True, slots=True)
class ChangeResult:
    """Per-item outcome of cancel or retry."""

    job_id: uuid.UUID
    state: JobState
    cancel_requested: bool = False


@dataclass(frozen=True, slots=True)
class Attempt:
    job_id: uuid.UUID
    attempt: int
    agent_id: uuid.UUID | None
    lease_token: uuid.UUID
    outcome: AttemptOutcome
    error: Any
    started_at: datetime
    finished_at: datetime | None
