"""Read jobs and their history."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, Protocol

import sqlalchemy as sa

from conveyor.errors import NotFound
from conveyor.states import AttemptOutcome
from conveyor.store.records import Attempt, Job, QueueSummary, RateLimit, Submitter
from conveyor.store.schema import (
    UNFINISHED,
    api_keys,
    events,
    job_attempts,
    jobs,
    queues,
    teams,
    users,
)  # fmt: skip
from conveyor.store.transaction import Tx

_JOB_COLUMNS = [jobs.c[name] for name in Job.__slots__]


_GET_JOB = sa.select(*_JOB_COLUMNS).where(  # built once: most requests read a job
    jobs.c.team_id == sa.bindparam("team_id"), jobs.c.id == sa.bindparam("job_id")
)


def get_job(tx: Tx, team_id: uuid.UUID, job_id: uuid.UUID) -> Job:
    row = tx.conn.execute(_GET_JOB, {"team_id": team_id, "job_id": job_id}).first()
    if row is None:
        raise NotFound(f"job {job_id} not found", job_id=str(job_id))
    return Job.from_row(row)


def get_jobs(tx: Tx, team_id: uuid.UUID, job_ids: list[uuid.UUID]) -> list[Job]:
    rows = tx.conn.execute(
        sa.select(*_JOB_COLUMNS).where(jobs.c.team_id == team_id, jobs.c.id.in_(job_ids))
    ).all()
    by_id = {row.id: Job.from_row(row) for row in rows}
    return [by_id[i] for i in job_ids if i in by_id]


class Made(Protocol):
    """Something a user or an API key made: a job, a schedule."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def created_by(self) -> uuid.UUID | None: ...
    @property
    def created_by_key(self) -> uuid.UUID | None: ...


def submitters(tx: Tx, team_id: uuid.UUID, page: Sequence[Made]) -> dict[uuid.UUID, Submitter]:
    """Who submitted each job of ``page`` that records it: one query for the users, one
    for the keys, whatever the page's size. A key names the key, not its creator."""
    user_ids = {job.created_by for job in page if job.created_by and not job.created_by_key}
    key_ids = {job.created_by_key for job in page if job.created_by_key}
    found: dict[tuple[str, uuid.UUID], Submitter] = {}
    if user_ids:
        people = sa.select(users.c.id, users.c.email, users.c.display_name)
        for row in tx.conn.execute(people.where(users.c.id.in_(user_ids))):
            found["user", row.id] = Submitter("user", row.id, row.display_name or row.email)
    if key_ids:
        keys = sa.select(api_keys.c.id, api_keys.c.name).where(api_keys.c.team_id == team_id)
        for key in tx.conn.execute(keys.where(api_keys.c.id.in_(key_ids))):
            found["key", key.id] = Submitter("key", key.id, key.name)
    named: dict[uuid.UUID, Submitter] = {}
    for job in page:
        if job.created_by_key is not None:
            who = found.get(("key", job.created_by_key))
        else:
            who = found.get(("user", job.created_by)) if job.created_by is not None else None
        if who is not None:
            named[job.id] = who
    return named


def list_attempts(tx: Tx, team_id: uuid.UUID, job_id: uuid.UUID) -> list[Attempt]:
    rows = tx.conn.execute(
        sa.select(
            job_attempts.c.job_id, job_attempts.c.attempt, job_attempts.c.agent_id,
            job_attempts.c.lease_token, job_attempts.c.outcome, job_attempts.c.error,
            job_attempts.c.started_at, job_attempts.c.finished_at,
        )
        .where(job_attempts.c.team_id == team_id, job_attempts.c.job_id == job_id)
        .order_by(job_attempts.c.attempt)
    ).all()  # fmt: skip
    return [Attempt(**{**row._mapping, "outcome": AttemptOutcome(row.outcome)}) for row in rows]


def count_by_state(tx: Tx, team_id: uuid.UUID) -> dict[str, int]:
    rows = tx.conn.execute(
        sa.select(jobs.c.state, sa.func.count())
        .where(jobs.c.team_id == team_id)
        .group_by(jobs.c.state)
    )
    return {state: n for state, n in rows}


def depths(tx: Tx) -> list[tuple[str, str, int]]:
    """Unfinished jobs by queue and state, every team together (the metrics' queue depth).

    Finished jobs are never counted: the grouped count reads only the rows still in play.
    """
    rows = tx.conn.execute(
        sa.select(jobs.c.queue, jobs.c.state, sa.func.count())
        .where(sa.text(UNFINISHED))  # literal: ix_jobs_unfinished is used (a partial index)
        .group_by(jobs.c.queue, jobs.c.state)
    )
    return [(str(queue), str(state), int(n)) for queue, state, n in rows]


def last_event_seq(tx: Tx) -> int:
    return int(
        tx.conn.execute(sa.select(sa.func.coalesce(sa.func.max(events.c.seq), 0))).scalar_one()
    )


def next_run_at(tx: Tx) -> object:
    """The earliest run_at among scheduled jobs, for the scheduler's next wake-up."""
    return tx.conn.execute(
        sa.select(sa.func.min(jobs.c.run_at)).where(jobs.c.state == "scheduled")
    ).scalar()


def team_by_slug(tx: Tx, slug: str) -> uuid.UUID | None:
    return tx.conn.execute(sa.select(teams.c.id).where(teams.c.slug == slug)).scalar()


def queue_overview(tx: Tx, team_id: uuid.UUID) -> list[QueueSummary]:
    """Configured queues and those with unfinished jobs, by name, with per-state counts."""
    configured = {
        row.name: row
        for row in tx.conn.execute(
            sa.select(
                queues.c.name, queues.c.paused, queues.c.rate_count, queues.c.rate_interval_s,
                queues.c.concurrency_limit, queues.c.fair,
            ).where(queues.c.team_id == team_id)
        )
    }  # fmt: skip
    counts: dict[str, dict[str, int]] = {}
    rows = tx.conn.execute(
        sa.select(jobs.c.queue, jobs.c.state, sa.func.count())
        .where(jobs.c.team_id == team_id, sa.text(UNFINISHED))  # from ix_jobs_unfinished
        .group_by(jobs.c.queue, jobs.c.state)
    )
    for queue, state, n in rows:
        counts.setdefault(queue, {})[state] = int(n)
    return [
        _summary(name, configured.get(name), counts.get(name, {}))
        for name in sorted(set(configured) | set(counts))
    ]


def _summary(name: str, row: Any, counts: dict[str, int]) -> QueueSummary:
    if row is None:
        return QueueSummary(name, False, counts)
    rate = None
    if row.rate_count is not None and row.rate_interval_s is not None:
        rate = RateLimit(row.rate_count, row.rate_interval_s)
    return QueueSummary(name, bool(row.paused), counts, rate, row.concurrency_limit, bool(row.fair))
