"""The bodies of ``/api/v1/schedules``: a schedule in, out, its ticks, a cron preview."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from conveyor import bounds
from conveyor.api.models import SubmitterOut
from conveyor.bounds import Json, Labels, Name, Text
from conveyor.engine.cron import Cron
from conveyor.store import Schedule, Tick
from conveyor.store.records import Submitter

MisfirePolicy = Literal["catch_up", "latest", "skip"]
Overlap = Literal["allow", "skip", "cancel_previous"]
UPCOMING = 5

SCHEDULE_IN: dict[str, Any] = {
    "name": "nightly-export",
    "description": "The CSV export for the finance team",
    "action": "reports.export_csv",
    "params": {"customer_id": 42},
    "queue": "exports",
    "cron": "30 2 * * *",
    "timezone": "Europe/Berlin",
    "misfire_policy": "latest",
    "overlap": "skip",
}

_CRON = (
    "5 fields (minute hour day-of-month month day-of-week) or 6 with the SECONDS FIRST "
    "(`*/10 * * * * *`: every 10 seconds)"
)
_MISFIRE = (
    "Ticks missed while no server ran: catch_up fires each one within catchup_window_s of "
    "now, latest only the most recent within it, skip none; the others are recorded skipped "
    "(reason missed). A tick less than 10 s late is on time and always fires."
)
_OVERLAP = (
    "A tick due while a previous run of this schedule is live (pending, scheduled, queued, "
    "running): allow submits anyway, skip records the tick skipped (reason overlap), "
    "cancel_previous requests cancel of the live runs, then submits."
)


class SchedulePatch(BaseModel):
    """Any fields of a schedule; ``null`` clears an optional one (description, labels,
    params, max_attempts, timeout_s, run_as_key_id) and is refused for a required one."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"paused": True}]})

    name: Name | None = Field(default=None, min_length=1, max_length=bounds.SCHEDULE_NAME_MAX)
    description: Text | None = Field(default=None, max_length=bounds.SCHEDULE_DESCRIPTION_MAX)
    action: Name | None = Field(default=None, min_length=1, max_length=bounds.NAME_MAX)
    params: Json = None
    queue: Name | None = Field(default=None, min_length=1, max_length=bounds.QUEUE_MAX)
    priority: int | None = Field(default=None, ge=bounds.PRIORITY_MIN, le=bounds.PRIORITY_MAX)
    labels: Labels | None = None
    max_attempts: int | None = Field(default=None, ge=1, le=bounds.MAX_ATTEMPTS_MAX)
    timeout_s: float | None = Field(default=None, gt=0, le=bounds.TIMEOUT_MAX_S)
    cron: Name | None = Field(
        default=None, min_length=1, max_length=bounds.CRON_MAX, description=_CRON
    )
    timezone: Name | None = Field(
        default=None, min_length=1, max_length=bounds.TIMEZONE_MAX, description="IANA name"
    )
    paused: bool | None = None
    misfire_policy: MisfirePolicy | None = Field(default=None, description=_MISFIRE)
    catchup_window_s: int | None = Field(default=None, ge=0, le=bounds.CATCHUP_WINDOW_MAX_S)
    overlap: Overlap | None = Field(default=None, description=_OVERLAP)
    run_as_key_id: uuid.UUID | None = Field(
        default=None, description="Ticks submit with this team API key's rights, not the creator's"
    )


class ScheduleIn(BaseModel):
    """A new schedule."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [SCHEDULE_IN]})

    name: Name = Field(min_length=1, max_length=bounds.SCHEDULE_NAME_MAX)
    description: Text = Field(default="", max_length=bounds.SCHEDULE_DESCRIPTION_MAX)
    action: Name = Field(min_length=1, max_length=bounds.NAME_MAX)
    params: Json = Field(default_factory=dict)
    queue: Name = Field(default="default", min_length=1, max_length=bounds.QUEUE_MAX)
    priority: int = Field(default=0, ge=bounds.PRIORITY_MIN, le=bounds.PRIORITY_MAX)
    labels: Labels = Field(default_factory=dict)
    max_attempts: int | None = Field(default=None, ge=1, le=bounds.MAX_ATTEMPTS_MAX)
    timeout_s: float | None = Field(default=None, gt=0, le=bounds.TIMEOUT_MAX_S)
    cron: Name = Field(min_length=1, max_length=bounds.CRON_MAX, description=_CRON)
    timezone: Name = Field(
        default="UTC", min_length=1, max_length=bounds.TIMEZONE_MAX, description="IANA name"
    )
    paused: bool = False
    misfire_policy: MisfirePolicy = Field(default="latest", description=_MISFIRE)
    catchup_window_s: int = Field(default=3600, ge=0, le=bounds.CATCHUP_WINDOW_MAX_S)
    overlap: Overlap = Field(default="skip", description=_OVERLAP)
    run_as_key_id: uuid.UUID | None = Field(
        default=None, description="Ticks submit with this team API key's rights, not the creator's"
    )


CLEARABLE: dict[str, Any] = {"description": "", "labels": {}, "params": {}, "max_attempts": None,
             "timeout_s": None, "run_as_key_id": None}  # fmt: skip
"""What ``null`` in a PATCH sets each clearable field to."""


class TickOut(BaseModel):
    """One tick: submitted (its job) or skipped (why)."""

    fire_at: datetime
    kind: Literal["cron", "manual"]
    outcome: Literal["submitted", "skipped"]
    skip_reason: Literal["overlap", "missed", "rights_revoked", "invalid"] | None
    message: str | None
    job_id: uuid.UUID | None
    job_state: str | None = Field(description="the job's state now; null once it was pruned")
    created_at: datetime

    @classmethod
    def of(cls, tick: Tick) -> TickOut:
        return cls(
            fire_at=tick.fire_at, kind=tick.kind, outcome=tick.outcome,
            skip_reason=tick.skip_reason, message=tick.message, job_id=tick.job_id,
            job_state=tick.job_state, created_at=tick.created_at,
        )  # fmt: skip


class ScheduleOut(BaseModel):
    id: uuid.UUID
    name: str
    description: str
    action: str
    params: Json
    queue: str
    priority: int
    labels: dict[str, str]
    max_attempts: int | None
    timeout_s: float | None
    cron: str
    timezone: str
    paused: bool
    misfire_policy: MisfirePolicy
    catchup_window_s: int
    overlap: Overlap
    run_as_key_id: uuid.UUID | None
    cron_description: str = Field(description="the expression in plain language")
    next_fire_times: list[datetime] = Field(description="up to 5 upcoming (UTC); empty if paused")
    created_by: SubmitterOut | None
    created_at: datetime
    updated_at: datetime
    last_tick: TickOut | None

    @classmethod
    def of(cls, schedule: Schedule, creator: Submitter | None, now: datetime) -> ScheduleOut:
        cron = Cron(schedule.cron, schedule.timezone)
        upcoming: list[datetime] = []
        if not schedule.paused and schedule.next_fire_at is not None:
            first = schedule.next_fire_at
            upcoming = [first, *cron.upcoming(max(first, now.astimezone(UTC)), UPCOMING - 1)]
            upcoming = sorted(set(upcoming))[:UPCOMING]
        return cls(
            id=schedule.id, name=schedule.name, description=schedule.description,
            action=schedule.action, params=schedule.params, queue=schedule.queue,
            priority=schedule.priority, labels=schedule.labels,
            max_attempts=schedule.max_attempts, timeout_s=schedule.timeout_s,
            cron=schedule.cron, timezone=schedule.timezone, paused=schedule.paused,
            misfire_policy=schedule.misfire_policy,
            catchup_window_s=schedule.catchup_window_s,
            overlap=schedule.overlap,
            run_as_key_id=schedule.run_as_key_id, cron_description=cron.describe(),
            next_fire_times=upcoming,
            created_by=SubmitterOut.of(creator) if creator is not None else None,
            created_at=schedule.created_at, updated_at=schedule.updated_at,
            last_tick=TickOut.of(schedule.last_tick) if schedule.last_tick else None,
        )  # fmt: skip


class ScheduleList(BaseModel):
    """A page of schedules by name; ``next_cursor`` fetches the next, null at the end."""

    items: list[ScheduleOut]
    next_cursor: str | None


class TickList(BaseModel):
    """A page of ticks, newest first; ``next_cursor`` fetches the next, null at the end."""

    items: list[TickOut]
    next_cursor: str | None


class CronPreviewIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"cron": "30 2 * * *", "timezone": "Europe/Berlin"}]},
    )

    cron: Name = Field(min_length=1, max_length=bounds.CRON_MAX, description=_CRON)
    timezone: Name = Field(default="UTC", min_length=1, max_length=bounds.TIMEZONE_MAX)
    count: int = Field(default=UPCOMING, ge=1, le=bounds.PREVIEW_MAX)


class CronPreviewOut(BaseModel):
    cron_description: str
    next_fire_times: list[datetime]
