"""Cron schedules: CRUD, pause and resume, run now, their ticks, and a cron preview.

Saving and firing are the engine's :class:`~conveyor.engine.Schedules` (a schedule
is checked as a submit is: the action, its params, the caller's right to run it);
these routes translate HTTP. Schedules belong to a team: another team's is a 404.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status

from conveyor import bounds
from conveyor.api.audit import audit_entry
from conveyor.api.deps import Services, require, services
from conveyor.api.errors import responses
from conveyor.api.models import JobOut
from conveyor.api.routers.jobs import job_out
from conveyor.api.schedule_models import (
    CLEARABLE,
    CronPreviewIn,
    CronPreviewOut,
    ScheduleIn,
    ScheduleList,
    ScheduleOut,
    SchedulePatch,
    TickList,
    TickOut,
)
from conveyor.auth.permissions import SCHEDULES_MANAGE, SCHEDULES_READ, Principal
from conveyor.bounds import Text
from conveyor.engine.cron import Cron
from conveyor.errors import InvalidInput
from conveyor.store import Schedule

router = APIRouter(prefix="/api/v1/schedules", tags=["schedules"])

Read = Annotated[Principal, require(SCHEDULES_READ)]


async def _out(svc: Services, schedule: Schedule) -> ScheduleOut:
    [out] = await _outs(svc, [schedule])
    return out


async def _outs(svc: Services, found: list[Schedule]) -> list[ScheduleOut]:
    if not found:
        return []
    creators = await svc.store.schedule_creators(found[0].team_id, found)
    now = await svc.store.clock()
    return [ScheduleOut.of(s, creators.get(s.id), now) for s in found]


def _cursor(text: str) -> str:
    try:
        return base64.urlsafe_b64decode(text.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInput("cursor is not one this server gave out", field="cursor") from None


def _encode(name: str | None) -> str | None:
    return base64.urlsafe_b64encode(name.encode()).decode() if name is not None else None


@router.get(
    "", operation_id="schedules_list", responses=responses(401, 403, 422),
    summary="List the team's schedules by name",
)  # fmt: skip
async def list_schedules(
    principal: Read,
    request: Request,
    q: Annotated[Text | None, Query(max_length=bounds.SEARCH_MAX,
                                    description="text in the name, action or description")] = None,
    limit: Annotated[int, Query(ge=1, le=bounds.PAGE_MAX)] = 50,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> ScheduleList:  # fmt: skip
    svc = services(request)
    page = await svc.store.schedule_list(
        principal.team_id, q=q or None, limit=limit,
        cursor=_cursor(cursor) if cursor else None,
    )  # fmt: skip
    return ScheduleList(items=await _outs(svc, page.items), next_cursor=_encode(page.next_cursor))


@router.post(
    "", operation_id="schedules_create", status_code=status.HTTP_201_CREATED,
    responses=responses(401, 403, 409, 413, 422), summary="Create a schedule",
)  # fmt: skip
async def create_schedule(
    principal: Annotated[Principal, require(SCHEDULES_MANAGE, audit="schedules.create")],
    body: ScheduleIn,
    request: Request,
) -> ScheduleOut:
    """Checked as a submit is (the action exists, the params fit its schema, the caller
    may run it); its ticks act with the creator's rights at fire time."""
    svc = services(request)
    schedule = await svc.schedules.create(principal, body.model_dump(), audit=audit_entry(request))
    return await _out(svc, schedule)


@router.post(
    "/preview", operation_id="schedules_preview", responses=responses(401, 403, 422),
    summary="Describe a cron expression and list its next fire times",
)  # fmt: skip
async def preview(principal: Read, body: CronPreviewIn, request: Request) -> CronPreviewOut:
    cron = Cron.parse(body.cron, body.timezone)
    now = await services(request).store.clock()
    return CronPreviewOut(
        cron_description=cron.describe(), next_fire_times=cron.upcoming(now, body.count)
    )


@router.get(
    "/{schedule_id}", operation_id="schedules_get", responses=responses(401, 403, 404, 422),
    summary="Read a schedule",
)  # fmt: skip
async def get_schedule(principal: Read, schedule_id: uuid.UUID, request: Request) -> ScheduleOut:
    svc = services(request)
    return await _out(svc, await svc.store.schedule_get(principal.team_id, schedule_id))


@router.patch(
    "/{schedule_id}", operation_id="schedules_update",
    responses=responses(401, 403, 404, 409, 413, 422), summary="Change a schedule",
)  # fmt: skip
async def update_schedule(
    principal: Annotated[Principal, require(SCHEDULES_MANAGE, audit="schedules.update")],
    schedule_id: uuid.UUID,
    body: SchedulePatch,
    request: Request,
) -> ScheduleOut:
    """Only the fields sent change; the result is checked whole, as a create is. A new
    cron, time zone or a resume makes the next tick the first after now."""
    changes: dict[str, Any] = {}
    for name in body.model_fields_set:
        value = getattr(body, name)
        if value is None:
            if name not in CLEARABLE:
                raise InvalidInput(f"{name} cannot be null", field=name)
            value = CLEARABLE[name]
        changes[name] = value
    svc = services(request)
    schedule = await svc.schedules.update(
        principal, schedule_id, changes, audit=audit_entry(request)
    )
    return await _out(svc, schedule)


@router.delete(
    "/{schedule_id}", operation_id="schedules_delete", status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(401, 403, 404, 422), summary="Delete a schedule",
)  # fmt: skip
async def delete_schedule(
    principal: Annotated[Principal, require(SCHEDULES_MANAGE, audit="schedules.delete")],
    schedule_id: uuid.UUID,
    request: Request,
) -> Response:
    """Its ticks go with it; the jobs it made stay (they keep ``schedule_id``)."""
    await services(request).store.schedule_delete(
        principal.team_id, schedule_id, audit=audit_entry(request)
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


async def _set_paused(
    principal: Principal, schedule_id: uuid.UUID, paused: bool, request: Request
) -> ScheduleOut:
    svc = services(request)
    schedule = await svc.schedules.update(
        principal, schedule_id, {"paused": paused}, audit=audit_entry(request)
    )
    return await _out(svc, schedule)


@router.post(
    "/{schedule_id}/pause", operation_id="schedules_pause",
    responses=responses(401, 403, 404, 422), summary="Pause a schedule",
)  # fmt: skip
async def pause_schedule(
    principal: Annotated[Principal, require(SCHEDULES_MANAGE, audit="schedules.pause")],
    schedule_id: uuid.UUID,
    request: Request,
) -> ScheduleOut:
    """No tick fires while paused; pausing a paused schedule changes nothing."""
    return await _set_paused(principal, schedule_id, True, request)


@router.post(
    "/{schedule_id}/resume", operation_id="schedules_resume",
    responses=responses(401, 403, 404, 422), summary="Resume a paused schedule",
)  # fmt: skip
async def resume_schedule(
    principal: Annotated[Principal, require(SCHEDULES_MANAGE, audit="schedules.resume")],
    schedule_id: uuid.UUID,
    request: Request,
) -> ScheduleOut:
    """The next tick is the first after now: the ticks of the pause are not owed."""
    return await _set_paused(principal, schedule_id, False, request)


@router.post(
    "/{schedule_id}/run", operation_id="schedules_run", status_code=status.HTTP_201_CREATED,
    responses=responses(401, 403, 404, 409, 413, 422), summary="Run a schedule's job now",
)  # fmt: skip
async def run_schedule(
    principal: Annotated[Principal, require("jobs:create", any_action=True, audit="schedules.run")],
    schedule_id: uuid.UUID,
    request: Request,
) -> JobOut:
    """Submits the schedule's job at once with the caller's rights (``jobs:create`` for
    its action), recorded as a manual tick; the cron ticks go on as before."""
    svc = services(request)
    job_id = await svc.schedules.run_now(principal, schedule_id, audit=audit_entry(request))
    return await job_out(svc.store, principal.team_id, job_id)


@router.get(
    "/{schedule_id}/ticks", operation_id="schedules_ticks",
    responses=responses(401, 403, 404, 422), summary="A schedule's ticks, newest first",
)  # fmt: skip
async def list_ticks(
    principal: Read,
    schedule_id: uuid.UUID,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=bounds.PAGE_MAX)] = 50,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
) -> TickList:
    """Each tick with its outcome (a skipped one says why) and its job's state now."""
    before = None
    if cursor:
        try:
            before = datetime.fromisoformat(_cursor(cursor))
        except ValueError:
            raise InvalidInput("cursor is not one this server gave out", field="cursor") from None
        if before.tzinfo is None:
            raise InvalidInput("cursor is not one this server gave out", field="cursor")
    page = await services(request).store.schedule_ticks(
        principal.team_id, schedule_id, limit=limit, before=before
    )
    following = page.next_cursor.isoformat() if page.next_cursor is not None else None
    return TickList(items=[TickOut.of(t) for t in page.items], next_cursor=_encode(following))
