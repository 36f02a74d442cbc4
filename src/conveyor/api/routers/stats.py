"""The team's figures: throughput, queue depths, wait and run times, agents, failures.

Read from the per-minute rollups the store keeps as jobs change, the queue depths'
grouped count of unfinished jobs, and the agents table: never a scan of finished jobs.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from conveyor.api.deps import require, services
from conveyor.api.errors import responses
from conveyor.api.stats_models import (
    AgentStatsOut,
    FailureOut,
    PercentilesOut,
    QueueStatsOut,
    StatsOut,
    StatsWindow,
)
from conveyor.auth.permissions import Principal
from conveyor.store import STATS_OUTCOMES, Rollup, percentiles
from conveyor.store.records import Agent, QueueSummary

router = APIRouter(prefix="/api/v1/stats", tags=["stats"])

WINDOW_MINUTES: dict[str, int] = {"hour": 60, "day": 24 * 60}
DEPTH_STATES = ("pending", "scheduled", "queued", "running")
ERROR_CHARS = 500  # a failure's message is cut here: the job page has the whole error


@router.get(
    "",
    operation_id="stats_get",
    responses=responses(401, 403, 422),
    summary="Throughput, queue depths, wait and run times, agents and recent failures",
)
async def get_stats(
    request: Request,
    principal: Annotated[Principal, require("jobs:read")],
    window: Annotated[StatsWindow, Query(description="The last hour or day")] = "hour",
) -> StatsOut:
    """Throughput per minute (zero-filled, oldest first) and the wait and run time
    percentiles per queue come from per-minute rollups kept as jobs change; depths are
    the queues' unfinished jobs now; agents are the connected ones."""
    store = services(request).store
    team_id = principal.team_id
    rollup = await store.stats_rollup(team_id, WINDOW_MINUTES[window])
    depths = await store.queue_list(team_id)
    agents = await store.agent_list(team_id)
    return build_stats(window, rollup, depths, agents)


def build_stats(
    window: StatsWindow, rollup: Rollup, depths: list[QueueSummary], agents: list[Agent]
) -> StatsOut:
    """The answer from what the store read."""
    # Plain dicts validated once: a day is 1,440 minutes, and one model per minute built
    # field by field costs more than the whole read.
    throughput: list[dict[str, Any]] = []
    minute, step = rollup.since, timedelta(minutes=1)
    for _ in range(WINDOW_MINUTES[window]):
        counts = rollup.minutes.get(minute, {})
        throughput.append({"minute": minute, **{o: counts.get(o, 0) for o in STATS_OUTCOMES}})
        minute += step
    totals = {o: sum(m[o] for m in throughput) for o in STATS_OUTCOMES}
    # Queues with unfinished jobs or times in the window; a configured queue with neither
    # has nothing to show.
    depth_of = {q.name: q.counts for q in depths if any(q.counts.values())}
    names = sorted(set(depth_of) | {queue for queue, _ in rollup.times})
    queues = [
        QueueStatsOut(
            queue=name,
            depth={s: depth_of.get(name, {}).get(s, 0) for s in DEPTH_STATES},
            wait_seconds=_percentiles(rollup, name, "wait"),
            run_seconds=_percentiles(rollup, name, "run"),
        )
        for name in names
    ]
    connected = [a for a in agents if a.connected]
    agent_stats = AgentStatsOut(
        connected=len(connected),
        slots_total=sum(a.slots for a in connected),
        slots_busy=sum(a.slots_busy for a in connected),
    )
    failures = [
        FailureOut(
            job_id=f.job_id,
            action=f.action,
            queue=f.queue,
            finished_at=f.finished_at,
            error=_message(f.error),
        )
        for f in rollup.failures
    ]
    return StatsOut.model_validate(
        {"generated_at": rollup.now, "window": window, "throughput": throughput,
         "totals": totals, "queues": queues, "agents": agent_stats, "recent_failures": failures}
    )  # fmt: skip


def _percentiles(rollup: Rollup, queue: str, kind: str) -> PercentilesOut:
    p50, p95, p99 = percentiles(rollup.times.get((queue, kind), {}))
    return PercentilesOut(p50=p50, p95=p95, p99=p99)


def _message(error: Any) -> str | None:
    if error is None:
        return None
    if isinstance(error, dict):
        text = error.get("message") or error.get("code")
        if text is None:
            text = json.dumps(error)
    else:
        text = error if isinstance(error, str) else json.dumps(error)
    return str(text)[:ERROR_CHARS]
