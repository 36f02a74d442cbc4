"""Why a waiting job waits, decided at read time from the store.

A page of jobs costs a fixed number of queries whatever its size: the page's
paused queues, the team's connected agents (what they offer, their labels and
queues) and the running count of the page's concurrency keys. The reasons are
then decided here, in the order the claim checks them, so the first obstacle a
job would meet is the one reported.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from conveyor.states import JobState
from conveyor.store.records import Job
from conveyor.store.schema import agents, jobs, queues
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
    CONCURRENCY_LIMIT = "concurrency_limit"  # its concurrency key is at its limit
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


def waiting_reasons(tx: Tx, team_id: uuid.UUID, page: Sequence[Job]) -> dict[uuid.UUID, str]:
    """The reason of every waiting job of ``page``; at most three queries."""
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
    return WaitingReason.AGENTS_BUSY


def _surroundings(tx: Tx, team_id: uuid.UUID, queued: Sequence[Job]) -> Surroundings:
    names = sorted({job.queue for job in queued})
    paused = tx.conn.execute(
        sa.select(queues.c.name).where(
            queues.c.team_id == team_id, queues.c.name.in_(names), queues.c.paused
        )
    ).scalars()
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
        paused=frozenset(paused), agents=[_agent(row) for row in online], running_per_key=running
    )


def _agent(row: Any) -> _OnlineAgent:
    offers: list[dict[str, Any]] = row.actions or []
    return _OnlineAgent(
        labels=dict(row.labels or {}),
        queues=frozenset(row.queues or ["default"]),
        versions=frozenset(f"{o['name']}@{o['schema_hash']}" for o in offers),
        actions=frozenset(o["name"] for o in offers),
        draining=bool(row.draining),
    )
