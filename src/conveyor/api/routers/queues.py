"""The team's queues: the ones configured or holding unfinished jobs; pause and resume,
rate and concurrency limits, fairness (docs/flow-control.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from conveyor import bounds
from conveyor.api.audit import audit_entry
from conveyor.api.deps import require, services
from conveyor.api.errors import responses
from conveyor.api.models import QueueList, QueueOut, QueuePatch, RateLimitOut
from conveyor.auth.permissions import Principal
from conveyor.errors import InvalidInput
from conveyor.store import UNSET, QueueChange
from conveyor.store.records import QueueSummary, RateLimit

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
    summary="Pause, resume, limit or make fair a queue",
)
async def update_queue(
    queue: QueueName,
    body: QueuePatch,
    request: Request,
    principal: Annotated[Principal, require("queues:manage", audit="queues.update")],
) -> QueueOut:
    """A paused queue keeps its jobs but hands none to agents until it is resumed. A
    rate limit allows ``count`` starts in any ``interval_s`` window, a concurrency limit
    that many running jobs; a fair queue shares its agents across the jobs' fair keys.
    Jobs over a limit wait. Fields left out stay as they are; null clears a limit."""
    given = body.model_fields_set
    if not given:
        raise InvalidInput("give at least one of paused, rate_limit, concurrency_limit, fair")
    if "paused" in given and body.paused is None:
        raise InvalidInput("paused must be true or false", field="paused")
    if "fair" in given and body.fair is None:
        raise InvalidInput("fair must be true or false", field="fair")
    rate = body.rate_limit
    unset = UNSET
    change = QueueChange(
        paused=bool(body.paused) if "paused" in given else unset,
        rate_limit=(None if rate is None else RateLimit(rate.count, rate.interval_s))
        if "rate_limit" in given
        else unset,
        concurrency_limit=body.concurrency_limit if "concurrency_limit" in given else unset,
        fair=bool(body.fair) if "fair" in given else unset,
    )
    details = body.model_dump(include=given)
    store = services(request).store
    await store.queue_update(
        principal.team_id, queue, change, audit=audit_entry(request, "queue", queue, **details)
    )
    found = await store.queue_list(principal.team_id)
    return next(
        (_queue_out(q) for q in found if q.name == queue),
        QueueOut(name=queue, paused=False, counts={}),
    )


def _queue_out(queue: QueueSummary) -> QueueOut:
    rate = queue.rate_limit
    return QueueOut(
        name=queue.name,
        paused=queue.paused,
        counts=queue.counts,
        rate_limit=None
        if rate is None
        else RateLimitOut(count=rate.count, interval_s=rate.interval_s),
        concurrency_limit=queue.concurrency_limit,
        fair=queue.fair,
    )
