"""Claim jobs for an agent: atomically, in claim order, within concurrency and flow limits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, timedelta
from typing import Any

import orjson

from conveyor.states import JobState
from conveyor.store.ids import uuid4_many
from conveyor.store.queries import flow
from conveyor.store.queries._encode import array, batch_ids, items
from conveyor.store.queries.audit import AuditEntry
from conveyor.store.queries.flow import NO_FLOW, FlowConfig
from conveyor.store.queries.idempotency import DEFAULT_WINDOW
from conveyor.store.queries.outbox import emit_job_changes, note_events, notify_in_statement
from conveyor.store.queries.rows import (
    Candidate,
    ClaimedColumns,
    ClaimedRow,
    FairCandidate,
    NextRow,
)
from conveyor.store.queries.submit import JobSpec, Taker, insert_jobs
from conveyor.store.records import ClaimedJob, Submitted
from conveyor.store.transaction import Tx, json_dumps
from conveyor.store.types import from_micros


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


def claim_jobs(
    tx: Tx, team_id: uuid.UUID, request: ClaimRequest, config: FlowConfig = NO_FLOW
) -> list[ClaimedJob]:
    """Claim up to ``request.limit`` jobs: one candidate query per queue, then a fixed few.

    On PostgreSQL a claim from one queue takes one statement (claim_next) unless
    candidates have concurrency or rate keys. Ids travel between the statements as
    the driver returns them (text on SQLite); only what is handed back becomes UUIDs
    and datetimes. A claim of a queue or action with flow settings (``config``, the
    team's as the store last read it) takes :func:`_claim_flow` instead.
    """
    if request.limit < 1 or not request.queues or not request.actions:
        return []
    if config.applies(request.queues, request.actions):
        return _claim_flow(tx, team_id, request)
    if tx.dialect == "postgresql" and len(set(request.queues)) == 1:
        return _claim_next(tx, team_id, request)
    candidates = _candidates(tx, team_id, request)
    admission = flow.admit(tx, team_id, candidates, request.limit)
    return _started(tx, team_id, admission, _apply(tx, request, admission.ids))


def claim_noting_retry(
    tx: Tx, team_id: uuid.UUID, request: ClaimRequest, config: FlowConfig = NO_FLOW
) -> tuple[list[ClaimedJob], float | None]:
    """:func:`claim_jobs`, and in how many seconds a rate limit it met frees a start
    (None: it met none), when the dispatcher should claim again."""
    return claim_jobs(tx, team_id, request, config), tx.retry_in_s


def _claim_flow(tx: Tx, team_id: uuid.UUID, request: ClaimRequest) -> list[ClaimedJob]:
    """A claim under flow control (:mod:`.flow`): lock the queues' and the actions'
    limit rows, read their room, take candidates (a fair queue's interleaved by fair
    key), admit them under every limit's lock, claim, and count the starts of the
    rate-limited ones."""
    names = list(dict.fromkeys(request.queues))
    limits = flow.lock_queues(tx, team_id, names)
    action_room = flow.lock_actions(tx, team_id, list(request.actions))
    full = [name for name, room in action_room.items() if room == 0]
    rated = any(q.rate_count is not None for q in limits.values())
    now = flow.clock(tx) if rated else tx.now
    params = _candidate_params(tx, team_id, request) | {
        "now": now, "unkeyed": False, "full_actions": array(tx.dialect, full)
    }  # fmt: skip
    rooms: dict[str, int | None] = {}
    rows: list[Candidate] = []
    for name in names:
        queue = limits[name]
        if queue.paused:  # read under its lock (claim_fair_candidates does not look)
            continue
        room = rooms[name] = flow.queue_room(tx, team_id, queue, now)
        limit = request.limit if room is None else min(room, request.limit)
        if limit < 1:
            continue
        at = params | {"queue": name, "limit": limit}
        if not queue.fair:
            rows += tx.named_rows("claim_flow_candidates", at, Candidate)
            continue
        rows += _fair_rows(tx, team_id, at)
    if len(names) > 1 and not any(q.fair for q in limits.values()):
        rows.sort(key=lambda r: (-r.priority, r.run_at, r.seq))
    rate_queues = {
        name: q.rate_interval_s
        for name, q in limits.items()
        if q.rate_count is not None and q.rate_interval_s is not None
    }
    admission = flow.admit(tx, team_id, rows, request.limit, rooms, rate_queues, action_room)
    return _started(tx, team_id, admission, _apply(tx, request, admission.ids))


def _fair_rows(tx: Tx, team_id: uuid.UUID, at: dict[str, Any]) -> list[Candidate]:
    """A fair queue's candidates in fair order: first each key's heads up to twice its
    even share of the claim (claim_fair_candidates with :spread), read again up to the
    whole claim only when a key ran dry at that cap (:func:`flow.ran_dry`), so the
    allocation is the one a full read gives, for about 2x limit rows instead of
    keys x limit."""
    queue, limit = at["queue"], at["limit"]
    heads = tx.named_rows("claim_fair_candidates", at | {"spread": True}, FairCandidate)
    per_key = heads[0].per_key if heads else limit
    found = [row.candidate() for row in heads]
    unkeyed: list[Candidate] = []
    if len(found) < limit:  # jobs queued before the queue was fair, if any
        unkeyed = tx.named_rows("claim_flow_candidates", at | {"unkeyed": True}, Candidate)
    ordered = flow.fair_order(tx, team_id, queue, found + unkeyed, limit)
    if per_key < limit and flow.ran_dry(found, ordered, per_key):
        heads = tx.named_rows("claim_fair_candidates", at | {"spread": False}, FairCandidate)
        found = [row.candidate() for row in heads]
        ordered = flow.fair_order(tx, team_id, queue, found + unkeyed, limit)
    return ordered


def _started(
    tx: Tx, team_id: uuid.UUID, admission: flow.Admission, claimed: list[ClaimedJob]
) -> list[ClaimedJob]:
    flow.record_starts(tx, team_id, admission, claimed)
    return claimed


def _claim_next(tx: Tx, team_id: uuid.UUID, request: ClaimRequest) -> list[ClaimedJob]:
    """PostgreSQL, one queue: candidates without a concurrency key are claimed by the
    statement that finds them; those with one go through the key check after it."""
    rows = tx.named_rows(
        "claim_next",
        _candidate_params(tx, team_id, request)
        | {"queue": request.queues[0], "agent_id": request.agent_id, "now": tx.now}
        | notify_in_statement(tx),
        NextRow,
    )
    claimed = [row for row in rows if row.id is not None]
    note_events(tx, claimed)
    jobs = {row.id: _claimed_postgresql(row, row.lease_token) for row in claimed}
    keyed = [row.candidate(request.queues[0]) for row in rows if row.id is None]
    if keyed:
        admission = flow.admit(tx, team_id, keyed, len(keyed))
        jobs |= {
            job.id: job
            for job in _started(tx, team_id, admission, _apply(tx, request, admission.ids))
        }
    return [jobs[row.candidate_id] for row in rows if row.candidate_id in jobs]  # claim order


def _apply(tx: Tx, request: ClaimRequest, admitted: list[Any]) -> list[ClaimedJob]:
    """Claim the ``admitted`` candidates (locked, in claim order) for the agent."""
    if not admitted:
        return []
    d = tx.dialect
    tokens = dict(zip(admitted, uuid4_many(len(admitted)), strict=True))
    claimed = tx.named_rows(
        "claim_apply",
        {
            "items": items(d, ({"id": i, "token": t} for i, t in tokens.items())),
            "agent_id": request.agent_id,
            "now": tx.now,
        }
        | batch_ids(d, admitted)
        | notify_in_statement(tx),
        ClaimedRow,
    )
    if d == "sqlite":
        tx.rows("attempts_start", {"ids": array(d, [row.id for row in claimed])})
        agent = str(request.agent_id)
        emit_job_changes(
            tx,
            (
                (
                    row.team_id,
                    row.id,
                    {"state": JobState.RUNNING, "attempt": row.attempt, "agent_id": agent},
                )
                for row in claimed
            ),
        )
    else:  # PostgreSQL's claim_apply wrote the attempt rows and the events itself
        note_events(tx, claimed)
    to_job = _claimed_sqlite if d == "sqlite" else _claimed_postgresql
    by_id = {row.id: row for row in claimed}
    return [  # in claim order, which RETURNING does not promise
        to_job(by_id[i], tokens[i]) for i in admitted if i in by_id
    ]


def taker_for(
    dialect: str,
    specs: list[JobSpec],
    requests: Sequence[ClaimRequest],
    config: FlowConfig = NO_FLOW,
) -> ClaimRequest | None:
    """The waiting agent a PostgreSQL insert may hand ``specs`` to (:func:`submit_to`):
    the first one asked, if it may run every one of them now (:func:`_takes_all`) and
    no queue or action of theirs has flow settings (the insert checks those again)."""
    if (
        dialect == "postgresql"
        and requests
        and not config.applies({s.queue for s in specs}, {s.action for s in specs})
        and _takes_all(requests[0], specs)
    ):
        return requests[0]
    return None


def submit_to(
    tx: Tx,
    team_id: uuid.UUID,
    specs: list[JobSpec],
    audit: AuditEntry | None,
    request: ClaimRequest,
) -> tuple[list[Submitted], list[ClaimedJob]]:
    """Insert ``specs`` already claimed by the agent of ``request``, in one statement.

    The statement claims them only if nothing queued comes first and their queue is
    not paused (submit_jobs in the SQL); otherwise they are inserted queued and
    announced, and the claim list is empty. Either way the one statement is the
    whole change, with its events, audit row and NOTIFY: it runs in autocommit
    (:meth:`~conveyor.store.database.Database.write_statement`).

    Every idempotency key must be new: a held one (a retried submit) fails the
    statement with ``IntegrityError`` before anything is written, and the caller
    submits the usual way (:func:`submit_and_claim`), which finds the job holding it.
    """
    submitted, taken = insert_jobs(
        tx, team_id, specs, audit, Taker(request.agent_id, request.queues)
    )
    return submitted, [_claimed_postgresql(row, row.lease_token) for row in taken]


def submit_and_claim(
    tx: Tx,
    team_id: uuid.UUID,
    specs: list[JobSpec],
    audit: AuditEntry | None,
    requests: Sequence[ClaimRequest],
    window: timedelta = DEFAULT_WINDOW,
    config: FlowConfig = NO_FLOW,
) -> tuple[list[Submitted], list[list[ClaimedJob]]]:
    """Submit, then claim the new jobs for agents waiting with free credits, in one
    transaction (:func:`claim_submitted`). ``window``: see :mod:`.idempotency`."""
    tx.notify_in_statement = False  # the claims may take all the work the insert announces
    submitted = insert_jobs(tx, team_id, specs, audit, None, window)[0]
    return submitted, claim_submitted(tx, team_id, submitted, requests, config)


def _takes_all(request: ClaimRequest, specs: list[JobSpec]) -> bool:
    """Whether the ordinary claim would give this agent every one of ``specs``, were
    nothing queued ahead of them: it has room for all, each is queued at once (no
    delay), has no concurrency or rate key (counted under a lock), and the agent listens on
    its queue, offers its action at its schema version and carries its labels (as
    claim_candidates matches them). An idempotency key is no obstacle: the insert
    that hands jobs over fails whole on a held key (:func:`submit_to`)."""
    return len(specs) <= request.limit and all(
        spec.run_at is None
        and spec.concurrency_key is None
        and spec.rate_key is None
        and spec.queue in request.queues
        and spec.action in request.actions
        and (spec.schema_hash is None or spec.schema_hash in request.actions[spec.action])
        and all(request.labels.get(name) == value for name, value in spec.labels.items())
        for spec in specs
    )


def claim_submitted(
    tx: Tx,
    team_id: uuid.UUID,
    submitted: list[Submitted],
    requests: Sequence[ClaimRequest],
    config: FlowConfig = NO_FLOW,
) -> list[list[ClaimedJob]]:
    """Right after a submit, in its transaction: claim for agents waiting with free credits.

    The job starts without a second transaction and a wake-up in between. Each
    request is an ordinary claim (claim order, concurrency and flow limits, pause,
    labels all apply), asked for no more than the new jobs still unclaimed. When every new job
    is taken, the transaction announces no new work: nobody else need look.
    """
    new = {s.id for s in submitted if s.created and s.state == JobState.QUEUED}
    claims: list[list[ClaimedJob]] = []
    for request in requests:
        if not new:
            claims.append([])
            continue
        asked = replace(request, limit=min(request.limit, len(new)))
        claimed = claim_jobs(tx, team_id, asked, config)
        new.difference_update(job.id for job in claimed)
        claims.append(claimed)
    if not new:
        tx.work_available = False
    return claims


def _claimed_sqlite(row: ClaimedColumns, token: uuid.UUID) -> ClaimedJob:
    deadline = row.deadline_at
    return ClaimedJob(
        id=uuid.UUID(row.id), action=row.action, schema_hash=row.schema_hash,
        params=orjson.loads(row.params), queue=row.queue, priority=row.priority,
        attempt=row.attempt, max_attempts=row.max_attempts, lease_token=token,
        lease_expires_at=from_micros(row.lease_expires_at),
        deadline_at=None if deadline is None else from_micros(deadline),
        timeout_s=row.timeout_s, lease_s=row.lease_s, cancel_grace_s=row.cancel_grace_s,
        started_at=from_micros(row.started_at), queued_at=from_micros(row.queued_at),
        traceparent=row.traceparent,
    )  # fmt: skip


def _claimed_postgresql(row: ClaimedColumns, token: uuid.UUID) -> ClaimedJob:
    deadline = row.deadline_at
    return ClaimedJob(
        id=row.id, action=row.action, schema_hash=row.schema_hash, params=row.params,
        queue=row.queue, priority=row.priority, attempt=row.attempt,
        max_attempts=row.max_attempts, lease_token=token,
        lease_expires_at=row.lease_expires_at.astimezone(UTC),
        deadline_at=None if deadline is None else deadline.astimezone(UTC),
        timeout_s=row.timeout_s, lease_s=row.lease_s, cancel_grace_s=row.cancel_grace_s,
        started_at=row.started_at.astimezone(UTC), queued_at=row.queued_at.astimezone(UTC),
        traceparent=row.traceparent,
    )  # fmt: skip


def _candidates(tx: Tx, team_id: uuid.UUID, request: ClaimRequest) -> list[Candidate]:
    """The first ``limit`` claimable jobs across the agent's queues, in claim order.

    One statement per queue: with the queue fixed, ix_jobs_claim hands out rows in
    claim order and the scan stops after ``limit`` matches, however long the queue.
    With several queues the per-queue heads are merged here; on PostgreSQL the
    candidates not taken stay locked (and skipped by others) until this commit.
    """
    params = _candidate_params(tx, team_id, request)
    rows: list[Candidate] = []
    queues = list(dict.fromkeys(request.queues))
    for queue in queues:
        rows += tx.named_rows("claim_candidates", {**params, "queue": queue}, Candidate)
    if len(queues) > 1:
        rows.sort(key=lambda r: (-r.priority, r.run_at, r.seq))
        del rows[request.limit :]
    return rows


def _candidate_params(tx: Tx, team_id: uuid.UUID, request: ClaimRequest) -> dict[str, Any]:
    """What claim_candidates and claim_next ask for: the agent's actions, versions, labels."""
    d = tx.dialect
    versions = [f"{name}@{h}" for name, hashes in request.actions.items() for h in hashes]
    return {
        "team_id": team_id,
        "now": tx.now,
        "actions": array(d, list(request.actions)),
        "action_versions": array(d, versions),
        "agent_labels": json_dumps(request.labels),
        "limit": request.limit,
    }
