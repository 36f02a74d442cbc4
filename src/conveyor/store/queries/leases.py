"""Heartbeats and results: every agent write is fenced by the job's lease token."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from conveyor.states import STATE_OF, AttemptOutcome, JobState
from conveyor.store.queries._encode import batch_ids, id_key, items, json_text
from conveyor.store.queries.flow import NO_FLOW, FlowConfig
from conveyor.store.queries.outbox import emit_job_changes, note_events, notify_in_statement
from conveyor.store.queries.rows import AppliedRow
from conveyor.store.records import HeartbeatResult, ReportResult
from conveyor.store.schema import jobs
from conveyor.store.transaction import Tx


@dataclass(frozen=True)
class Lease:
    """A job an agent holds, by its lease token; ``progress`` rides along on heartbeats."""

    job_id: uuid.UUID
    token: uuid.UUID
    progress: Any = None


class Outcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    RELEASED = "released"  # handed back unstarted or on shutdown: costs no attempt


@dataclass(frozen=True)
class Report:
    """What an agent says happened to one job it held."""

    job_id: uuid.UUID
    token: uuid.UUID
    outcome: Outcome
    result: Any = None
    error: dict[str, Any] | None = None
    retryable: bool = True


def extend_leases(tx: Tx, team_id: uuid.UUID, leases: list[Lease]) -> HeartbeatResult:
    """Extend every lease still held; a fixed number of statements whatever the batch size."""
    if not leases:
        return HeartbeatResult({}, [], [])
    rows = tx.conn.execute(
        tx.q("leases_extend").columns(
            id=jobs.c.id.type,
            lease_expires_at=jobs.c.lease_expires_at.type,
            cancel_requested_at=jobs.c.cancel_requested_at.type,
        ),
        {
            "team_id": team_id,
            "now": tx.now,
            "items": items(
                tx.dialect,
                ({"id": le.job_id, "token": le.token, "progress": le.progress} for le in leases),
            ),
        }
        | batch_ids(tx.dialect, (le.job_id for le in leases)),
    ).all()
    extended = {row.id: row.lease_expires_at for row in rows}
    # Progress is an event too (one statement for the batch), so a client watching a
    # job sees its progress bar move; agents throttle how often they send it.
    emit_job_changes(
        tx,
        (
            (team_id, le.job_id, {"state": JobState.RUNNING, "progress": le.progress})
            for le in leases
            if le.progress is not None and le.job_id in extended
        ),
    )
    return HeartbeatResult(
        extended=extended,
        lost=[le.job_id for le in leases if le.job_id not in extended],
        cancel_requested=[row.id for row in rows if row.cancel_requested_at is not None],
    )


def apply_reports(
    tx: Tx, team_id: uuid.UUID, reports: list[Report], config: FlowConfig = NO_FLOW
) -> list[ReportResult]:
    """Apply results per item: a stale token fails that item only.

    Four statements per batch (results, attempts, artifacts of successes, outbox).
    A batch naming one job twice (a stale and a fresh report, say) is applied in
    rounds of distinct jobs, in order, so each applied row is matched to exactly
    the report that won it.
    """
    rounds: list[list[Report]] = []
    seen: list[set[uuid.UUID]] = []  # the job ids of each round, for O(1) look-ups
    for report in reports:
        index = next((i for i, ids in enumerate(seen) if report.job_id not in ids), len(seen))
        if index == len(seen):
            rounds.append([])
            seen.append(set())
        rounds[index].append(report)
        seen[index].add(report.job_id)
    outcome: dict[int, ReportResult] = {}
    for batch in rounds:
        applied = _apply_distinct(tx, team_id, batch, config)
        for report, result in zip(batch, applied, strict=True):
            outcome[id(report)] = result
    return [outcome[id(r)] for r in reports]


def _apply_distinct(
    tx: Tx, team_id: uuid.UUID, reports: list[Report], config: FlowConfig
) -> list[ReportResult]:
    if not reports:
        return []
    d = tx.dialect
    if d == "sqlite":  # staged (see report_stage), then applied
        tx.rows("report_stage", {})
        tx.rows("report_stage_clear", {})
        tx.rows_many("report_stage_add", [_staged_report(r) for r in reports])
        rows = tx.named_rows("results_apply", {"team_id": team_id, "now": tx.now}, AppliedRow)
    else:
        rows = tx.named_rows(
            "results_apply",
            {
                "team_id": team_id,
                "now": tx.now,
                "items": items(
                    d,
                    (
                        {"id": r.job_id, "token": r.token, "outcome": r.outcome,
                         "result": r.result, "error": r.error, "retryable": r.retryable}
                        for r in reports
                    ),
                ),
            }
            | batch_ids(d, (r.job_id for r in reports))
            | {"flow_work": bool(config.actions), "flow_queues": sorted(config.queues)}
            | notify_in_statement(tx),
            AppliedRow,
        )  # fmt: skip
    # Match rows to reports by the id's driver form (text on SQLite, UUID on PostgreSQL).
    key = id_key(d)
    by_key = {key(r.job_id): r for r in reports}
    applied = {id(by_key[row.id]): STATE_OF[row.state] for row in rows}  # report -> new state
    # A job back in the queue is new work; so are the jobs waiting on the concurrency
    # limit of a key, queue or action whose job just left running (a fair queue's
    # too). All wake the agents' claims.
    work = any(
        row.state == JobState.QUEUED
        or row.concurrency_key is not None
        or bool(config.actions)
        or row.queue in config.queues
        for row in rows
    )
    if d == "sqlite":
        _close_attempts(tx, rows, by_key)
        emit_job_changes(
            tx,
            ((row.team_id, row.id, {"state": row.state, "attempt": row.attempt}) for row in rows),
        )
    else:  # results_apply closed the attempts, published artifacts and wrote the events
        note_events(tx, rows, work_available=work)
    if work:
        tx.work_available = True
    return [
        ReportResult(r.job_id, False, None)
        if (state := applied.get(id(r))) is None
        else ReportResult(r.job_id, True, state)
        for r in reports
    ]


def _staged_report(r: Report) -> tuple[Any, ...]:
    """A row of SQLite's report_stage: plain values, JSON as text (None is NULL)."""
    return (
        str(r.job_id), str(r.token), str(r.outcome),
        None if r.result is None else json_text("sqlite", r.result),
        None if r.error is None else json_text("sqlite", r.error),
        int(r.retryable),
    )  # fmt: skip


def _close_attempts(tx: Tx, rows: list[AppliedRow], by_key: dict[Any, Report]) -> None:
    """SQLite: close the attempts of the applied reports; publish the artifacts of successes."""
    finished = []
    succeeded = []
    for row in rows:
        job_id, state, attempt = row.id, row.state, row.attempt
        report = by_key[job_id]
        outcome = (
            AttemptOutcome.CANCELLED
            if state == JobState.CANCELLED
            else AttemptOutcome(report.outcome)
        )
        finished.append(
            {"id": job_id, "attempt": attempt, "outcome": outcome, "error": report.error}
        )
        if state == JobState.SUCCEEDED:
            succeeded.append({"id": job_id, "attempt": attempt})
    if finished:
        tx.rows("attempts_finish", {"items": items(tx.dialect, finished), "now": tx.now})
    if succeeded:
        tx.rows("artifacts_publish", {"items": items(tx.dialect, succeeded), "now": tx.now})
