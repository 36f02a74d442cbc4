"""The team's queues: the ones configured or holding unfinished jobs; pause and resume."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from conveyor import bounds
from conveyor.api.audit import audit_entry
from conveyor.api.deps import require, services
from conveyor.api.errors import responses
from conveyor.api.models import QueueList, QueueOut, QueuePatch
from conveyor.auth.permissions import Principal
from conveyor.store.records import QueueSummary

router = APIRouter(prefix="/api/v1/queues", tags=["queues"])

QueueName = Annotated[bounds.Name, Path(min_length=1, max_length=bounds.QUEUE_MAX)]


@router.get(
    "",
    operation_id="queues_list",
    responses=responses(401, 403),
    summary="List queues with their job counts",
)
async def list_queues(
    request: Request, principal: Annotated[Principal, require("queues:read")]
) -> QueueList:
    store = services(request).store
    return QueueList(items=[_queue_out(q) for q in await store.queue_list(principal.team_id)])


@router.patch(
    "/{queue}",
    operation_id="queues_update",
    responses=responses(401, 403, 413, 422),
    summary="Pause or resume a queue",
)
async def update_queue(
    queue: QueueName,
    body: QueuePatch,
    request: Request,
    principal: Annotated[Principal, require("queues:manage", audit="queues.update")],
) -> QueueOut:
    """A paused queue keeps its jobs but hands none to agents until it is resumed."""
    store = services(request).store
    await store.queue_set_paused(
        principal.team_id,
        queue,
        body.paused,
        audit=audit_entry(request, "queue", queue, paused=body.paused),
    )
    found = await store.queue_list(principal.team_id)
    return next(_queue_out(q) for q in found if q.name == queue)


def _queue_out(queue: QueueSummary) -> QueueOut:
    return QueueOut(name=queue.name, paused=queue.paused, counts=queue.counts)
