"""Claim jobs for an agent: atomically, in claim order, within concurrency limits."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from conveyor.states import JobState
from conveyor.store.database import Tx, json_dumps
from conveyor.store.queries._encode import array, items
from conveyor.store.queries.outbox import emit_job_changes
from conveyor.store.records import ClaimedJob
from conveyor.store.schema import jobs


@dataclass(frozen=True)
class ClaimRequest:
    """Who is asking and what it can run.

    ``actions`` maps each action name to the schema hashes the agent offers; a job
    validated against a schema version goes only to agents offering that version.
    """

    agent_id: uuid.UUID
    queues: list[str]
    actions: dict[str, list[str]]
    labels: dict[str, str] = field(default_factory=dict)
    limit: int = 1


_CLAIMED_COLUMNS = {
    name: jobs.c[name].type
    for name in (
        "id", "team_id", "action", "schema_hash", "params", "queue", "priority", "attempt",
        "max_attempts", "lease_token", "lease_expires_at", "deadline_at", "timeout_s",
        "lease_s", "cancel_grace_s", "started_at",
    )
}  # fmt: skip


def claim_jobs(tx: Tx, team_id: uuid.UUID, request: ClaimRequest) -> list[ClaimedJob]:
    """Claim up to ``request.limit`` jobs: one candidate query per queue, then a fixed few."""
    if request.limit < 1 or not request.queues or not request.actions:
        return []
    d = tx.dialect
    candidates = _candidates(tx, team_id, request)
    admitted = _within_concurrency_limits(tx, team_id, candidates)
    if not admitted:
        return []
    grants = [{"id": job_id, "token": uuid.uuid4()} for job_id in admitted]
    claimed = tx.conn.execute(
        tx.q("claim_apply").columns(**_CLAIMED_COLUMNS),
        {"items": items(d, grants), "agent_id": request.agent_id, "now": tx.now},
    ).all()
    ids = [row.id for row in claimed]
    tx.conn.execute(tx.q("attempts_start"), {"ids": array(d, ids)})
    emit_job_changes(
        tx,
        (
            (row.team_id, row.id, {"state": JobState.RUNNING, "attempt": row.attempt,
                                   "agent_id": str(request.agent_id)})
            for row in claimed
        ),
    )  # fmt: skip
    by_id = {row.id: row for row in claimed}
    return [  # in claim order, which RETURNING does not promise
        ClaimedJob(**{k: v for k, v in by_id[i]._mapping.items() if k != "team_id"})
        for i in admitted
        if i in by_id
    ]


def _candidates(tx: Tx, team_id: uuid.UUID, request: ClaimRequest) -> list[Any]:
    """The first ``limit`` claimable jobs across the agent's queues, in claim order.

    One statement per queue: with the queue fixed, ix_jobs_claim hands out rows in
    claim order and the scan stops after ``limit`` matches, however long the queue.
    With several queues the per-queue heads are merged here; on PostgreSQL the
    candidates not taken stay locked (and skipped by others) until this commit.
    """
    d = tx.dialect
    versions = [f"{name}@{h}" for name, hashes in request.actions.items() for h in hashes]
    params = {
        "team_id": team_id,
        "actions": array(d, list(request.actions)),
        "action_versions": array(d, versions),
        "agent_labels": json_dumps(request.labels),
        "limit": request.limit,
    }
    statement = tx.q("claim_candidates").columns(id=jobs.c.id.type)
    rows: list[Any] = []
    queues = list(dict.fromkeys(request.queues))
    for queue in queues:
        rows += tx.conn.execute(statement, {**params, "queue": queue}).all()
    if len(queues) > 1:
        rows.sort(key=lambda r: (-r.priority, r.run_at, r.seq))
        del rows[request.limit :]
    return rows


def _within_concurrency_limits(
    tx: Tx, team_id: uuid.UUID, candidates: Sequence[Any]
) -> list[uuid.UUID]:
    """Admit candidates in order while their key has room.

    The running count is read after the key rows are locked (PostgreSQL), so two
    claimers can never both take the last slot of a key; keys locked by another
    claimer are left for a later claim.
    """
    keys = sorted({c.concurrency_key for c in candidates if c.concurrency_key is not None})
    if not keys:
        return [c.id for c in candidates]
    params = {"team_id": team_id, "keys": array(tx.dialect, keys)}
    locked = {row.key for row in tx.conn.execute(tx.q("claim_lock_keys"), params)}
    running: Counter[str] = Counter(
        {
            row.concurrency_key: row.running
            for row in tx.conn.execute(tx.q("running_per_key"), params)
        }
    )
    admitted = []
    for c in candidates:
        key = c.concurrency_key
        if key is None:
            admitted.append(c.id)
        elif key in locked and running[key] < c.concurrency_limit:
            running[key] += 1
            admitted.append(c.id)
    return admitted
