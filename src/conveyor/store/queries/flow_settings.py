"""Flow settings: a queue's limits and fairness, action concurrency limits, rate keys.

Each change is one small write; the claim reads the settings under their row
locks (:mod:`.flow`), and the store's cached :class:`~.flow.FlowConfig` (topic
``flow``) is forgotten by every change here, on every replica.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from conveyor.errors import NotFound
from conveyor.states import JobState
from conveyor.store.queries.forget import forget
from conveyor.store.read_cache import FLOW
from conveyor.store.records import RateLimit
from conveyor.store.schema import action_limits, actions, jobs, queues, rate_limits
from conveyor.store.transaction import Tx
from conveyor.store.types import at

UNSET: Any = object()
"""A setting the change leaves as it is (None clears it)."""


@dataclass(frozen=True)
class QueueChange:
    """What a queue update sets; every field left :data:`UNSET` stays as it is."""

    paused: bool = UNSET
    rate_limit: RateLimit | None = UNSET
    concurrency_limit: int | None = UNSET
    fair: bool = UNSET

    def values(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        if self.paused is not UNSET:
            found["paused"] = self.paused
        if self.rate_limit is not UNSET:
            rate = self.rate_limit
            found["rate_count"] = None if rate is None else rate.count
            found["rate_interval_s"] = None if rate is None else rate.interval_s
        if self.concurrency_limit is not UNSET:
            found["concurrency_limit"] = self.concurrency_limit
        if self.fair is not UNSET:
            found["fair"] = self.fair
        return found


def update_queue(tx: Tx, team_id: uuid.UUID, name: str, change: QueueChange) -> None:
    """Apply ``change`` to the queue; its row is created on first use.

    Making a queue fair gives its waiting jobs without a fair key their submitter's,
    as a submit to a fair queue does. Any change may free jobs to run (a limit
    raised or cleared): the agents are told to look.
    """
    values = change.values()
    if not values:
        return
    existing = tx.conn.execute(
        sa.update(queues)
        .where(queues.c.team_id == team_id, queues.c.name == name)
        .values(**values)
        .returning(queues.c.name)
    ).first()
    if existing is None:
        tx.conn.execute(
            sa.insert(queues).values(team_id=team_id, name=name, created_at=at(tx.now), **values)
        )
    if change.fair is True:
        submitter = sa.func.coalesce(
            sa.cast(jobs.c.created_by_key, sa.Text), sa.cast(jobs.c.created_by, sa.Text), ""
        )
        waiting = [JobState.PENDING.value, JobState.SCHEDULED.value, JobState.QUEUED.value]
        tx.conn.execute(
            sa.update(jobs)
            .where(
                jobs.c.team_id == team_id,
                jobs.c.queue == name,
                jobs.c.state.in_(waiting),
                jobs.c.fair_key.is_(None),
            )
            .values(fair_key=submitter)
        )
    forget(tx, FLOW)
    tx.work_available = True


def set_action_limit(tx: Tx, team_id: uuid.UUID, action: str, limit: int | None) -> None:
    """Set or clear (None) the team's concurrency limit of ``action`` (in its catalog)."""
    known = tx.conn.execute(
        sa.select(actions.c.name)
        .where(actions.c.team_id == team_id, actions.c.name == action)
        .limit(1)
    ).first()
    if known is None:
        raise NotFound(f"no action {action!r}: no agent of the team has offered it")
    where = (action_limits.c.team_id == team_id, action_limits.c.action == action)
    if limit is None:
        tx.conn.execute(sa.delete(action_limits).where(*where))
    elif (
        tx.conn.execute(
            sa.update(action_limits).where(*where).values(concurrency_limit=limit)
        ).rowcount
        == 0
    ):
        tx.conn.execute(
            sa.insert(action_limits).values(team_id=team_id, action=action, concurrency_limit=limit)
        )
    forget(tx, FLOW)
    tx.work_available = True


def list_rate_limits(tx: Tx, team_id: uuid.UUID) -> list[RateLimit]:
    """The team's rate keys with a limit, by key."""
    rows = tx.conn.execute(
        sa.select(rate_limits.c.count, rate_limits.c.interval_s, rate_limits.c.key)
        .where(rate_limits.c.team_id == team_id)
        .order_by(rate_limits.c.key)
    ).all()
    return [RateLimit(count, interval_s, key) for count, interval_s, key in rows]


def set_rate_limit(tx: Tx, team_id: uuid.UUID, key: str, count: int, interval_s: float) -> None:
    """Limit the jobs of rate key ``key`` to ``count`` starts per ``interval_s``."""
    where = (rate_limits.c.team_id == team_id, rate_limits.c.key == key)
    updated = tx.conn.execute(
        sa.update(rate_limits).where(*where).values(count=count, interval_s=interval_s)
    ).rowcount
    if updated == 0:
        tx.conn.execute(
            sa.insert(rate_limits).values(
                team_id=team_id, key=key, count=count, interval_s=interval_s
            )
        )
    tx.work_available = True


def delete_rate_limit(tx: Tx, team_id: uuid.UUID, key: str) -> None:
    """Lift the limit of rate key ``key`` (its jobs then start freely); NotFound if none."""
    deleted = tx.conn.execute(
        sa.delete(rate_limits).where(rate_limits.c.team_id == team_id, rate_limits.c.key == key)
    ).rowcount
    if deleted == 0:
        raise NotFound(f"no rate limit for key {key!r}")
    tx.work_available = True
