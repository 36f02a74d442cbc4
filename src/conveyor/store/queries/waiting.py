"""Why a waiting job waits, decided at read time from the store.

A page of jobs costs a fixed number of queries whatever its size: the page's
paused queues, the team's connected agents (what they offer, their labels and
queues) and the running count of the page's concurrency keys; with flow settings
(queries/flow.py) a few more: the page's queue and action limits, rate keys and
their counts. The reasons are
then decided here, in the order the claim checks them, so the first obstacle a
job would meet is the one reported.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from conveyor.states import JobState
from conveyor.store.queries import flow
from conveyor.store.records import Job
from conveyor.store.schema import action_limits, agents, jobs, queues, rate_limits, rate_starts
from conveyor.store.transaction import Tx


class WaitingReason(StrEnum):
    """Why a job in ``pending``, ``scheduled`` or ``queued`` has not started."""

    DEPENDENCIES = "dependencies"  # jobs it depends on have not finished
    SCHEDULED = "scheduled"  # its run_at is in the future
    RETRY_BACKOFF = "retry_backoff"  # an attempt failed; the next waits out its backoff
    QUEUE_PAUSED = "queue_paused"
    NO_AGENT_OFFERS_ACTION = "no_agent_offers_action"  # no connected agent offers it (version)
    NO_AGENT_MATCHES_LABELS = "no_agent_matches_labels"  # offered, but not by a matching agent
    NO_AGENT_TAKES_QUEUE = "no_agent_takes_queue"  # matching agents take other queues
    AGENTS_DRAINING = "agents_draining"  # every agent that could run it is draining
    CONCURRENCY_LIMIT = "concurrency_limit"  # its concurrency key, queue or action is at its limit
    RATE_LIMIT = "rate_limit"  # its queue or rate key has no start left in the window
    FAIRNESS = "fairness"  # a fair queue: other fair keys have their turn first
    AGENTS_BUSY = "agents_busy"  # an agent can run it: it waits for a free slot


@dataclass(frozen=True, slots=True)
class _OnlineAgent:
    labels: dict[str, str]
    queues: frozenset[str]
    versions: frozenset[str]  # "action@schema_hash"
    actions: frozenset[str]
    draining: bool


@dataclass(frozen=True, slots=True)
class Surroundings:
    """What decides a queued job's fate besides the job itself."""

    paused: frozenset[str]
    agents: Sequence[_OnlineAgent]
    running_per_key: Counter[str]
    flow: _Flow | None = None


@dataclass(frozen=True, slots=True)
class _Flow:
    """The page's flow settings that are at their limit, and its fair queues' running keys."""

    full_queues: frozenset[str]  # at their concurrency limit
    full_actions: frozenset[str]
    rated_queues: frozenset[str]  # no start left in the window
    rated_keys: frozenset[str]
    fair_running: frozenset[tuple[str, str | None]]  # (fair queue, fair key) with a running job


def waiting_reasons(tx: Tx, team_id: uuid.UUID, page: Sequence[Job]) -> dict[uuid.UUID, str]:
    """The reason of every waiting job of ``page``; four queries, a few more with flow limits."""
    queued = [job for job in page if job.state == JobState.QUEUED]
    around = _surroundings(tx, team_id, queued) if queued else None
    found: dict[uuid.UUID, str] = {}
    for job in page:
        why = reason(job, around)
        if why is not None:
            found[job.id] = why.value
    return found


def reason(job: Job, around: Surroundings | None) -> WaitingReason | None:
    """The first obstacle between ``job`` and an agent; None when it is not waiting."""
    if job.state == JobState.PENDING:
        return WaitingReason.DEPENDENCIES
    if job.state == JobState.SCHEDULED:
        retried = job.attempt > job.attempt_floor
        return WaitingReason.RETRY_BACKOFF if retried else WaitingReason.SCHEDULED
    if job.state != JobState.QUEUED or around is None:
        return None
    if job.queue in around.paused:
        return WaitingReason.QUEUE_PAUSED
    version = f"{job.action}@{job.schema_hash}"
    offering = [
        a
        for a in around.agents
        if (version in a.versions if job.schema_hash else job.action in a.actions)
    ]
    if not offering:
        return WaitingReason.NO_AGENT_OFFERS_ACTION
    matching = [a for a in offering if job.labels.items() <= a.labels.items()]
    if not matching:
        return WaitingReason.NO_AGENT_MATCHES_LABELS
    taking = [a for a in matching if job.queue in a.queues]
    if not taking:
        return WaitingReason.NO_AGENT_TAKES_QUEUE
    if all(a.draining for a in taking):
        return WaitingReason.AGENTS_DRAINING
    key, limit = job.concurrency_key, job.concurrency_limit
    if key is not None and limit is not None and around.running_per_key[key] >= limit:
        return WaitingReason.CONCURRENCY_LIMIT
    flow = around.flow
    if flow is not None:
        if job.queue in flow.full_queues or job.action in flow.full_actions:
            return WaitingReason.CONCURRENCY_LIMIT
        if job.queue in flow.rated_queues or job.rate_key in flow.rated_keys:
            return WaitingReason.RATE_LIMIT
        if (job.queue, job.fair_key) in flow.fair_running:
            return WaitingReason.FAIRNESS
    return WaitingReason.AGENTS_BUSY


def _surroundings(tx: Tx, team_id: uuid.UUID, queued: Sequence[Job]) -> Surroundings:
    names = sorted({job.queue for job in queued})
    configured = tx.conn.execute(
        sa.select(queues.c.name, queues.c.paused, queues.c.rate_count, queues.c.rate_interval_s,
                  queues.c.concurrency_limit, queues.c.fair)
        .where(queues.c.team_id == team_id, queues.c.name.in_(names))
    ).all()  # fmt: skip
    paused = [row.name for row in configured if row.paused]
    online = tx.conn.execute(
        sa.select(agents.c.labels, agents.c.queues, agents.c.actions, agents.c.draining).where(
            agents.c.team_id == team_id,
            agents.c.connected_at.is_not(None),
            agents.c.disconnected_at.is_(None),
        )
    ).all()
    keys = sorted({job.concurrency_key for job in queued if job.concurrency_key is not None})
    running: Counter[str] = Counter()
    if keys:
        rows = tx.conn.execute(
            sa.select(jobs.c.concurrency_key, sa.func.count())
            .where(
                jobs.c.team_id == team_id,
                jobs.c.state == JobState.RUNNING.value,
                jobs.c.concurrency_key.in_(keys),
            )
            .group_by(jobs.c.concurrency_key)
        )
        running.update({key: n for key, n in rows})
    return Surroundings(
        paused=frozenset(paused),
        agents=[_agent(row) for row in online],
        running_per_key=running,
        flow=_flow(tx, team_id, queued, configured),
    )


def _flow(
    tx: Tx, team_id: uuid.UUID, queued: Sequence[Job], configured: Sequence[Any]
) -> _Flow | None:
    """What of the page's queues, actions and rate keys is at its limit (None: no limits)."""
    limited = [
        row for row in configured
        if row.fair or row.rate_count is not None or row.concurrency_limit is not None
    ]  # fmt: skip
    acts = dict(
        tx.conn.execute(
            sa.select(action_limits.c.action, action_limits.c.concurrency_limit).where(
                action_limits.c.team_id == team_id,
                action_limits.c.action.in_(sorted({job.action for job in queued})),
            )
        ).all()
    )
    wanted = sorted({job.rate_key for job in queued if job.rate_key is not None})
    keys = tx.conn.execute(
        sa.select(rate_limits.c.key, rate_limits.c.count, rate_limits.c.interval_s).where(
            rate_limits.c.team_id == team_id, rate_limits.c.key.in_(wanted)
        )
    ).all() if wanted else []  # fmt: skip
    if not limited and not acts and not keys:
        return None
    running = _running(tx, team_id, [row.name for row in limited], sorted(acts))
    now = flow.clock(tx) if keys or any(row.rate_count for row in limited) else None
    rated_queues = {
        row.name
        for row in limited
        if now and row.rate_count is not None and row.rate_interval_s is not None
        and _started(tx, team_id, f"queue:{row.name}", now, row.rate_interval_s) >= row.rate_count
    }  # fmt: skip
    rated_keys = {
        key for key, count, interval_s in keys
        if now and _started(tx, team_id, f"key:{key}", now, interval_s) >= count
    }  # fmt: skip
    return _Flow(
        full_queues=frozenset(
            row.name for row in limited
            if row.concurrency_limit is not None
            and running[("queue", row.name)] >= row.concurrency_limit
        ),
        full_actions=frozenset(a for a, n in acts.items() if running[("action", a)] >= n),
        rated_queues=frozenset(rated_queues),
        rated_keys=frozenset(rated_keys),
        fair_running=frozenset(entry[1:] for entry in running if entry[0] == "fair"),
    )  # fmt: skip


def _running(
    tx: Tx, team_id: uuid.UUID, queue_names: list[str], action_names: list[str]
) -> Counter[Any]:
    """Running jobs per ("queue", name) and ("action", name), and a ("fair", queue, key)
    entry for each fair key with a running job, in one read of the running jobs."""
    found: Counter[Any] = Counter()
    if not queue_names and not action_names:
        return found
    rows = tx.conn.execute(
        sa.select(jobs.c.queue, jobs.c.action, jobs.c.fair_key).where(
            jobs.c.team_id == team_id,
            jobs.c.state == JobState.RUNNING.value,
            sa.or_(jobs.c.queue.in_(queue_names), jobs.c.action.in_(action_names)),
        )
    )
    for queue, action, fair_key in rows:
        found[("queue", queue)] += 1
        found[("action", action)] += 1
        found[("fair", queue, fair_key)] += 1
    return found


def _started(tx: Tx, team_id: uuid.UUID, scope: str, now: datetime, interval_s: float) -> int:
    count: int = tx.conn.execute(
        sa.select(sa.func.count()).where(
            rate_starts.c.team_id == team_id,
            rate_starts.c.scope == scope,
            rate_starts.c.started_at > now - timedelta(seconds=interval_s),
        )
    ).scalar_one()
    return count


def _agent(row: Any) -> _OnlineAgent:
    offers: list[dict[str, Any]] = row.actions or []
    return _OnlineAgent(
        labels=dict(row.labels or {}),
        queues=frozenset(row.queues or ["default"]),
        versions=frozenset(f"{o['name']}@{o['schema_hash']}" for o in offers),
        actions=frozenset(o["name"] for o in offers),
        draining=bool(row.draining),
    )
