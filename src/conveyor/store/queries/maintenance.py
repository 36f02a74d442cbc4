"""What the engine's loops do: promote due jobs, reap expired leases and timeouts."""

from __future__ import annotations

import uuid

from conveyor.states import AttemptOutcome, JobState
from conveyor.store.queries._encode import batch_ids, items
from conveyor.store.queries.outbox import emit_job_changes
from conveyor.store.schema import jobs
from conveyor.store.transaction import Tx

DEFAULT_BATCH_LIMIT = 1000
"""Rows one maintenance batch (promote, reap, prune) touches at most."""


def promote_due(tx: Tx, limit: int) -> list[uuid.UUID]:
    """Scheduled jobs whose run_at has passed become queued."""
    rows = tx.conn.execute(
        tx.q("promote_due").columns(id=jobs.c.id.type, team_id=jobs.c.team_id.type),
        {"now": tx.now, "limit": limit},
    ).all()
    emit_job_changes(
        tx, ((row.team_id, row.id, {"state": JobState.QUEUED, "queue": row.queue}) for row in rows)
    )
    return [row.id for row in rows]


def reap_expired(tx: Tx, limit: int) -> list[tuple[uuid.UUID, JobState]]:
    """Expired leases and run timeouts end the attempt; returns (job, new state)."""
    rows = tx.conn.execute(
        tx.q("reap_expired").columns(
            id=jobs.c.id.type, team_id=jobs.c.team_id.type, error=jobs.c.error.type
        ),
        {"now": tx.now, "limit": limit},
    ).all()
    if not rows:
        return []
    finished = [
        {
            "id": row.id,
            "attempt": row.attempt,
            "outcome": _attempt_outcome(row.state, row.error),
            "error": row.error,
        }
        for row in rows
    ]
    tx.conn.execute(
        tx.q("attempts_finish"),
        {"items": items(tx.dialect, finished), "now": tx.now}
        | batch_ids(tx.dialect, (row.id for row in rows)),
    )
    emit_job_changes(
        tx,
        ((row.team_id, row.id, {"state": row.state, "attempt": row.attempt, "reason": row.error["code"]})
         for row in rows),
    )  # fmt: skip
    return [(row.id, JobState(row.state)) for row in rows]


def _attempt_outcome(state: str, error: dict[str, str]) -> AttemptOutcome:
    if state == JobState.CANCELLED:
        return AttemptOutcome.CANCELLED
    if error["code"] == "timeout":
        return AttemptOutcome.TIMED_OUT
    return AttemptOutcome.LEASE_EXPIRED
