"""What people do to jobs and queues: cancel, retry, pause."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from conveyor.errors import InvalidTransition, NotFound
from conveyor.states import CANCEL_NOW_FROM, CANCEL_REQUEST_FROM, RETRY_FROM, JobState
from conveyor.store.queries.listing import CONTROL, emit_events
from conveyor.store.queries.outbox import emit_job_changes
from conveyor.store.records import ChangeResult
from conveyor.store.schema import jobs, queues, teams
from conveyor.store.transaction import Tx
from conveyor.store.types import at

_CANCELLABLE = sorted(CANCEL_NOW_FROM | CANCEL_REQUEST_FROM)
RETRYABLE = jobs.c.state.in_(sorted(RETRY_FROM))
CANCEL_PENDING = sa.or_(
    jobs.c.state.in_(sorted(CANCEL_NOW_FROM)),
    sa.and_(jobs.c.state.in_(sorted(CANCEL_REQUEST_FROM)), jobs.c.cancel_requested_at.is_(None)),
)
"""Jobs a cancel would still change: waiting ones, and running ones not yet asked to stop."""


def cancel_jobs(tx: Tx, team_id: uuid.UUID, job_ids: list[uuid.UUID]) -> list[ChangeResult]:
    """A waiting job is cancelled at once; a running one gets ``cancel_requested_at``.

    Its agent learns of it on the next push or heartbeat and reports ``cancelled``
    once the work has stopped. Cancelling a cancelled job changes nothing; a job
    that already succeeded or died raises :class:`InvalidTransition`.
    """
    rows = cancel_where(tx, team_id, jobs.c.id.in_(job_ids), jobs.c.state.in_(_CANCELLABLE))
    changed = {row.id: row for row in rows}
    results = []
    for job_id, state in _states(tx, team_id, [i for i in job_ids if i not in changed]).items():
        if state != JobState.CANCELLED:
            raise InvalidTransition(
                f"job {job_id} is {state} and can no longer be cancelled",
                job_id=str(job_id),
                state=state,
            )
        results.append(ChangeResult(job_id, state))
    results += [
        ChangeResult(row.id, JobState(row.state), cancel_requested=row.state == JobState.RUNNING)
        for row in rows
    ]
    order = {job_id: i for i, job_id in enumerate(job_ids)}
    return sorted(results, key=lambda r: order[r.job_id])


def cancel_where(
    tx: Tx, team_id: uuid.UUID, *where: sa.ColumnElement[bool]
) -> Sequence[sa.Row[Any]]:
    """Cancel the team's jobs matching ``where`` (which must keep to cancellable states):
    the one path of every cancel, single or bulk. Returns ``(id, state, agent_id)`` rows.

    A waiting job becomes ``cancelled``; a running one is flagged and the replica
    holding its agent's connection pushes the cancel (the hub, on PostgreSQL through
    NOTIFY); heartbeat replies repeat it in case that push is lost.
    """
    now = at(tx.now)
    waiting = jobs.c.state.in_(sorted(CANCEL_NOW_FROM))
    rows = tx.conn.execute(
        sa.update(jobs)
        .where(jobs.c.team_id == team_id, *where)
        .values(
            state=sa.case((waiting, JobState.CANCELLED.value), else_=jobs.c.state),
            cancel_requested_at=sa.case(
                (
                    jobs.c.state == JobState.RUNNING.value,
                    sa.func.coalesce(jobs.c.cancel_requested_at, now),
                ),
                else_=jobs.c.cancel_requested_at,
            ),
            finished_at=sa.case((waiting, now), else_=jobs.c.finished_at),
            updated_at=now,
        )
        .returning(jobs.c.id, jobs.c.state, jobs.c.agent_id)
    ).all()
    emit_job_changes(
        tx,
        (
            (team_id, row.id, {"state": row.state, "cancel_requested": row.state == JobState.RUNNING,
                               "agent_id": str(row.agent_id) if row.agent_id else None})
            for row in rows
        ),
    )  # fmt: skip
    emit_events(
        tx,
        CONTROL,
        (
            (team_id, row.id, {"agent_id": str(row.agent_id), "cancel": True})
            for row in rows
            if row.state == JobState.RUNNING and row.agent_id is not None
        ),
    )
    return rows


def retry_jobs(tx: Tx, team_id: uuid.UUID, job_ids: list[uuid.UUID]) -> list[ChangeResult]:
    """Give dead or cancelled jobs a fresh set of attempts; the counter keeps counting."""
    rows = retry_where(tx, team_id, jobs.c.id.in_(job_ids))
    retried = {row.id for row in rows}
    for job_id, state in _states(tx, team_id, [i for i in job_ids if i not in retried]).items():
        raise InvalidTransition(
            f"job {job_id} is {state}: only dead or cancelled jobs can be retried",
            job_id=str(job_id),
            state=state,
        )
    return [ChangeResult(job_id, JobState.QUEUED) for job_id in job_ids]


def retry_where(
    tx: Tx, team_id: uuid.UUID, *where: sa.ColumnElement[bool]
) -> Sequence[sa.Row[Any]]:
    """Queue again the team's dead or cancelled jobs matching ``where``: the one path of
    every retry, single or bulk. Returns ``(id, queue)`` rows."""
    now = at(tx.now)
    rows = tx.conn.execute(
        sa.update(jobs)
        .where(jobs.c.team_id == team_id, RETRYABLE, *where)
        .values(
            state=JobState.QUEUED.value,
            attempt_floor=jobs.c.attempt,
            run_at=now,
            cancel_requested_at=None,
            result=None,
            finished_at=None,
            updated_at=now,
        )
        .returning(jobs.c.id, jobs.c.queue)
    ).all()
    emit_job_changes(
        tx, ((team_id, row.id, {"state": JobState.QUEUED, "queue": row.queue}) for row in rows)
    )
    return rows


def _states(tx: Tx, team_id: uuid.UUID, job_ids: list[uuid.UUID]) -> dict[uuid.UUID, JobState]:
    """Current states of jobs an operation did not change; NotFound for any missing."""
    if not job_ids:
        return {}
    found = {
        row.id: JobState(row.state)
        for row in tx.conn.execute(
            sa.select(jobs.c.id, jobs.c.state).where(
                jobs.c.team_id == team_id, jobs.c.id.in_(job_ids)
            )
        )
    }
    for job_id in job_ids:
        if job_id not in found:
            raise NotFound(f"job {job_id} not found", job_id=str(job_id))
    return found


def set_queue_paused(tx: Tx, team_id: uuid.UUID, name: str, paused: bool) -> None:
    """Pause or resume a queue; a queue row is created on first use."""
    existing = tx.conn.execute(
        sa.update(queues)
        .where(queues.c.team_id == team_id, queues.c.name == name)
        .values(paused=paused)
        .returning(queues.c.name)
    ).first()
    if existing is None:
        tx.conn.execute(
            sa.insert(queues).values(
                team_id=team_id, name=name, paused=paused, created_at=at(tx.now)
            )
        )
    if not paused:
        tx.work_available = True


def create_team(tx: Tx, slug: str, name: str, now: datetime | None = None) -> uuid.UUID:
    team_id = uuid.uuid4()
    tx.conn.execute(
        sa.insert(teams).values(id=team_id, slug=slug, name=name, created_at=at(tx.now))
    )
    return team_id
