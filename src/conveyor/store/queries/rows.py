"""The rows of the hot-path statements, by column name (see :meth:`Tx.named_rows`).

Each type lists its statement's columns in order; the first run of a statement
checks them against the names the database returns, so a column added, dropped or
moved in the SQL fails loudly instead of shifting every value. Values are what the
driver returns: on SQLite ids are text, timestamps integer microseconds and JSON
text; on PostgreSQL UUIDs, datetimes and decoded JSON. Trailing columns with a
default are the ones only PostgreSQL returns (its outbox CTEs' NOTIFY and newest
seq).
"""

from __future__ import annotations

from typing import Any, NamedTuple


class Candidate(NamedTuple):
    """A claimable job (claim_candidates and flow.py's candidates), in claim order."""

    id: Any
    queue: str
    action: str
    rate_key: str | None
    fair_key: str | None
    concurrency_key: str | None
    concurrency_limit: int | None
    priority: int
    run_at: Any
    seq: int


class FairCandidate(NamedTuple):
    """A fair queue's candidate (claim_fair_candidates): a :class:`Candidate`, and how
    many heads per fair key the statement read."""

    id: Any
    queue: str
    action: str
    rate_key: str | None
    fair_key: str | None
    concurrency_key: str | None
    concurrency_limit: int | None
    priority: int
    run_at: Any
    seq: int
    per_key: int

    def candidate(self) -> Candidate:
        return Candidate(*self[:-1])


class ClaimedRow(NamedTuple):
    """A job just claimed (claim_apply)."""

    id: Any
    team_id: Any
    action: str
    schema_hash: str | None
    params: Any
    queue: str
    priority: int
    attempt: int
    max_attempts: int
    lease_token: Any
    lease_expires_at: Any
    deadline_at: Any
    timeout_s: float | None
    lease_s: float
    cancel_grace_s: float
    started_at: Any
    queued_at: Any  # when it became due: max(created_at, run_at), for the wait time
    traceparent: str | None
    notified: int | None = None
    newest_event: int | None = None


class NextRow(NamedTuple):
    """A candidate of PostgreSQL's claim_next, and its claim when it took it (else the
    claim's columns are None: a candidate with a concurrency or rate key, still locked)."""

    candidate_id: Any
    candidate_action: str
    rate_key: str | None
    fair_key: str | None
    concurrency_key: str | None
    concurrency_limit: int | None
    candidate_priority: int
    run_at: Any
    seq: int
    id: Any
    team_id: Any
    action: str
    schema_hash: str | None
    params: Any
    queue: str
    priority: int
    attempt: int
    max_attempts: int
    lease_token: Any
    lease_expires_at: Any
    deadline_at: Any
    timeout_s: float | None
    lease_s: float
    cancel_grace_s: float
    started_at: Any
    queued_at: Any  # when it became due: max(created_at, run_at), for the wait time
    traceparent: str | None
    notified: int | None
    newest_event: int | None

    def candidate(self, queue: str) -> Candidate:
        return Candidate(
            self.candidate_id, queue, self.candidate_action, self.rate_key, self.fair_key,
            self.concurrency_key, self.concurrency_limit, self.candidate_priority,
            self.run_at, self.seq,
        )  # fmt: skip


class InsertedRow(NamedTuple):
    """A job submit_jobs inserted; on PostgreSQL with claim_apply's columns, filled when
    the insert handed it to a waiting agent (state ``running``)."""

    id: Any
    state: str
    team_id: Any = None
    action: Any = None
    schema_hash: Any = None
    params: Any = None
    queue: Any = None
    priority: Any = None
    attempt: Any = None
    max_attempts: Any = None
    lease_token: Any = None
    lease_expires_at: Any = None
    deadline_at: Any = None
    timeout_s: Any = None
    lease_s: Any = None
    cancel_grace_s: Any = None
    started_at: Any = None
    queued_at: Any = None
    traceparent: str | None = None
    notified: int | None = None
    newest_event: int | None = None


class AppliedRow(NamedTuple):
    """A job a report changed (results_apply)."""

    id: Any
    team_id: Any
    state: str
    attempt: int
    queue: str
    concurrency_key: str | None
    notified: int | None = None
    newest_event: int | None = None


ClaimedColumns = ClaimedRow | NextRow | InsertedRow
"""Rows that carry a claimed job's columns by these names."""
