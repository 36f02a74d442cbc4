"""The schedules API as :class:`~conveyor.sdk._calls.Call` values, shared by both clients."""

from __future__ import annotations

from typing import Any

from conveyor.sdk._calls import Call, JobId, _nothing, seg
from conveyor.sdk.models import (
    Job,
    Schedule,
    ScheduleChange,
    SchedulePage,
    SchedulePreview,
    ScheduleRequest,
    ScheduleTickPage,
)


def page(q: str | None, limit: int, cursor: str | None) -> Call[SchedulePage]:
    params = {"q": q, "limit": limit, "cursor": cursor}
    return Call("GET", "schedules", SchedulePage.model_validate, params=params)


def create(request: ScheduleRequest) -> Call[Schedule]:
    return Call("POST", "schedules", Schedule.model_validate, body=request.body())


def get(schedule_id: JobId) -> Call[Schedule]:
    return Call("GET", f"schedules/{seg(schedule_id)}", Schedule.model_validate)


def update(schedule_id: JobId, change: ScheduleChange) -> Call[Schedule]:
    path = f"schedules/{seg(schedule_id)}"
    return Call("PATCH", path, Schedule.model_validate, body=change.body())


def delete(schedule_id: JobId) -> Call[None]:
    return Call("DELETE", f"schedules/{seg(schedule_id)}", _nothing)


def pause(schedule_id: JobId, paused: bool) -> Call[Schedule]:
    verb = "pause" if paused else "resume"
    return Call("POST", f"schedules/{seg(schedule_id)}/{verb}", Schedule.model_validate)


def run(schedule_id: JobId) -> Call[Job]:
    return Call("POST", f"schedules/{seg(schedule_id)}/run", Job.model_validate)


def ticks(schedule_id: JobId, limit: int, cursor: str | None) -> Call[ScheduleTickPage]:
    params = {"limit": limit, "cursor": cursor}
    path = f"schedules/{seg(schedule_id)}/ticks"
    return Call("GET", path, ScheduleTickPage.model_validate, params=params)


def preview(cron: str, timezone: str, count: int) -> Call[SchedulePreview]:
    body: dict[str, Any] = {"cron": cron, "timezone": timezone, "count": count}
    return Call("POST", "schedules/preview", SchedulePreview.model_validate, body=body)
