"""The team's queues: the ones configured or holding unfinished jobs; pause and resume."""

from __future__ import annotations

import uuid
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Path, Request

from conveyor.api.audit import audit_entry
from conveyor.api.deps import require, services
from conveyor.api.errors import responses
from conveyor.api.models import QueueList, QueueOut, QueuePatch
from conveyor.auth.permissions import Principal
from conveyor.states import TERMINAL
from conveyor.store.schema import jobs, queues
from conveyor.store.transaction import Tx

router = APIRouter(prefix="/api/v1/queues", tags=["queues"])

QueueName = Annotated[str, Path(min_length=1, max_length=100)]


@router.get("", responses=responses(401, 403), summary="List queues with their job counts")
async def list_queues(
    request: Request, principal: Annotated[Principal, require("queues:read")]
) -> QueueList:
    store = services(request).store
    found = await store.db.read(_queue_overview, None, principal.team_id)
    return QueueList(items=found)


@router.patch(
    "/{queue}",
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
    found = await store.db.read(_queue_overview, None, principal.team_id)
    return next(q for q in found if q.name == queue)


def _queue_overview(tx: Tx, team_id: uuid.UUID) -> list[QueueOut]:
    """Configured queues and those with unfinished jobs, with per-state counts.

    Belongs in the store (``queue_list``); kept here until it has one.
    """
    paused = dict(
        tx.conn.execute(
            sa.select(queues.c.name, queues.c.paused).where(queues.c.team_id == team_id)
        ).all()
    )
    counts: dict[str, dict[str, int]] = {}
    rows = tx.conn.execute(
        sa.select(jobs.c.queue, jobs.c.state, sa.func.count())
        .where(jobs.c.team_id == team_id, jobs.c.state.not_in(sorted(TERMINAL)))
        .group_by(jobs.c.queue, jobs.c.state)
    )
    for queue, state, n in rows:
        counts.setdefault(queue, {})[state] = int(n)
    return [
        QueueOut(name=name, paused=bool(paused.get(name, False)), counts=counts.get(name, {}))
        for name in sorted(set(paused) | set(counts))
    ]
