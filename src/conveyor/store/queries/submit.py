"""Submit jobs: validated specs, one multi-row insert per batch, idempotency keys."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

import orjson

from conveyor import bounds
from conveyor.errors import IdempotencyConflict, InvalidInput, InvalidParams, LimitExceeded
from conveyor.states import STATE_OF, JobState
from conveyor.store.ids import uuid7_many
from conveyor.store.queries import idempotency
from conveyor.store.queries._encode import array
from conveyor.store.queries.audit import AuditEntry, audit_row, ids_detail, record
from conveyor.store.queries.outbox import emit_job_changes, note_events, notify_in_statement
from conveyor.store.queries.rows import InsertedRow
from conveyor.store.records import Submitted
from conveyor.store.transaction import Tx
from conveyor.store.types import to_micros
from conveyor.tracing import valid_traceparent

DEFAULT_QUEUE = "default"
DEFAULT_PRIORITY = 0
PRIORITY_RANGE = (bounds.PRIORITY_MIN, bounds.PRIORITY_MAX)
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_BACKOFF_BASE_S = 2.0
DEFAULT_BACKOFF_MAX_S = 600.0
DEFAULT_LEASE_S = 30.0
DEFAULT_CANCEL_GRACE_S = 10.0
MAX_PARAMS_BYTES = bounds.PARAMS_MAX_BYTES
_NAME_MAX = bounds.NAME_MAX
_UPPER_BOUNDS = {
    "max_attempts": bounds.MAX_ATTEMPTS_MAX,
    "backoff_base_s": bounds.BACKOFF_MAX_S,
    "backoff_max_s": bounds.BACKOFF_MAX_S,
    "timeout_s": bounds.TIMEOUT_MAX_S,
    "lease_s": bounds.LEASE_MAX_S,
    "cancel_grace_s": bounds.CANCEL_GRACE_MAX_S,
    "concurrency_limit": bounds.CONCURRENCY_LIMIT_MAX,
}
"""What a job's numbers may reach: its deadlines stay timestamps every database can hold."""


def canonical_json(value: Any) -> bytes:
    """Params as JSON with sorted keys; refuses what JSON cannot carry (NaN, sets...)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError as exc:
        raise InvalidParams(f"params are not JSON: {exc}") from None


def _check_storable(value: Any) -> None:
    refusal = bounds.json_refusal(value)
    if refusal is not None:
        raise InvalidParams(f"params cannot be stored: {refusal}", field="params")


@dataclass(frozen=True)
class JobSpec:
    """What a caller asks for. Validated on construction: a bad spec never reaches SQL."""

    action: str
    params: Any = field(default_factory=dict)
    queue: str = DEFAULT_QUEUE
    priority: int = DEFAULT_PRIORITY
    run_at: datetime | None = None
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    backoff_base_s: float = DEFAULT_BACKOFF_BASE_S
    backoff_max_s: float = DEFAULT_BACKOFF_MAX_S
    timeout_s: float | None = None
    lease_s: float = DEFAULT_LEASE_S
    cancel_grace_s: float = DEFAULT_CANCEL_GRACE_S
    labels: dict[str, str] = field(default_factory=dict)
    idempotency_key: str | None = None
    concurrency_key: str | None = None
    concurrency_limit: int = 1
    schema_hash: str | None = None
    parent_id: uuid.UUID | None = None
    created_by: uuid.UUID | None = None  # the user of a login
    created_by_key: uuid.UUID | None = None  # or the API key that submitted it
    rate_key: str | None = None  # its starts count against rate_limits[rate_key]
    fair_key: str | None = None  # a fair queue shares its agents across these (flow.py)
    traceparent: str | None = None  # the trace it joins, while tracing is on (conveyor.tracing)
    max_params_bytes: int = MAX_PARAMS_BYTES

    def __post_init__(self) -> None:
        _require_name("action", self.action)
        _require_name("queue", self.queue, bounds.QUEUE_MAX)
        if isinstance(self.priority, bool) or not isinstance(self.priority, int):
            raise InvalidInput("priority must be an integer", field="priority")
        low, high = PRIORITY_RANGE
        if not low <= self.priority <= high:
            raise InvalidInput(
                f"priority must be between {low} and {high}, got {self.priority}",
                field="priority",
            )
        if self.max_attempts < 1:
            raise InvalidInput("max_attempts must be at least 1", field="max_attempts")
        for name in ("backoff_base_s", "backoff_max_s", "lease_s", "cancel_grace_s"):
            if not getattr(self, name) > 0:
                raise InvalidInput(f"{name} must be positive", field=name)
        if self.timeout_s is not None and not self.timeout_s > 0:
            raise InvalidInput("timeout_s must be positive", field="timeout_s")
        self._check_upper_bounds()
        if self.run_at is not None and self.run_at.tzinfo is None:
            raise InvalidInput("run_at must carry a time zone", field="run_at")
        if self.run_at is not None:
            try:
                bounds.check_timestamp(self.run_at)
            except ValueError as exc:
                raise InvalidInput(f"run_at {exc}", field="run_at") from None
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in self.labels.items()):
            raise InvalidInput("labels must map strings to strings", field="labels")
        for key, value in self.labels.items():
            _require_name("labels", key)
            if value:
                _require_name("labels", value)
        if self.concurrency_key is not None:
            _require_name("concurrency_key", self.concurrency_key)
            if self.concurrency_limit < 1:
                raise InvalidInput(
                    "concurrency_limit must be at least 1", field="concurrency_limit"
                )
        if self.idempotency_key is not None:
            _require_name("idempotency_key", self.idempotency_key)
        for name in ("rate_key", "fair_key"):
            if getattr(self, name) is not None:
                _require_name(name, getattr(self, name))
        if self.traceparent is not None and valid_traceparent(self.traceparent) is None:
            raise InvalidInput("traceparent must be a W3C version-00 one", field="traceparent")
        _check_storable(self.params)
        size = len(self.params_json)
        if size > self.max_params_bytes:
            raise LimitExceeded(
                f"params are {size} bytes; the limit is {self.max_params_bytes}",
                limit=self.max_params_bytes,
                size=size,
            )

    def _check_upper_bounds(self) -> None:
        for name, most in _UPPER_BOUNDS.items():
            value = getattr(self, name)
            if value is not None and not value <= most:
                raise InvalidInput(f"{name} must be at most {most:g}", field=name)

    @cached_property
    def params_json(self) -> bytes:
        return canonical_json(self.params)

    def staged(self, job_id: str, run_at: Any, json: Callable[[bytes], Any]) -> tuple[Any, ...]:
        """The job as one staged row, in the order of ``_STAGE_COLUMNS`` (None is NULL).

        A row of ``submit_stage`` on SQLite, one item of ``submit_jobs`` on
        PostgreSQL. ``run_at`` comes in the dialect's form (microseconds on SQLite),
        JSON values as ``json`` makes them from their encoded bytes.
        """
        encoded = self.params_json
        keyed = self.concurrency_key is not None
        return (
            job_id, self.action, self.schema_hash, json(encoded),
            hashlib.sha256(encoded).hexdigest(), self.queue, self.priority, run_at,
            self.max_attempts, self.backoff_base_s, self.backoff_max_s, self.timeout_s,
            self.lease_s, self.cancel_grace_s, json(orjson.dumps(self.labels)),
            self.idempotency_key, self.concurrency_key,
            self.concurrency_limit if keyed else None,
            None if self.parent_id is None else str(self.parent_id),
            None if self.created_by is None else str(self.created_by),
            None if self.created_by_key is None else str(self.created_by_key),
            self.rate_key, self.fair_key, self.traceparent,
        )  # fmt: skip


# The columns of a staged row: submit_stage's on SQLite, submit_jobs' positions on PostgreSQL.
_STAGE_COLUMNS = (
    "id", "action", "schema_hash", "params", "params_hash", "queue", "priority", "run_at",
    "max_attempts", "backoff_base_s", "backoff_max_s", "timeout_s", "lease_s",
    "cancel_grace_s", "labels", "idempotency_key", "concurrency_key", "concurrency_limit",
    "parent_id", "created_by", "created_by_key", "rate_key", "fair_key", "traceparent",
)  # fmt: skip
_ID = _STAGE_COLUMNS.index("id")
_PARAMS_HASH = _STAGE_COLUMNS.index("params_hash")
_IDEMPOTENCY_KEY = _STAGE_COLUMNS.index("idempotency_key")


def _require_name(name: str, value: object, longest: int = _NAME_MAX) -> None:
    if not isinstance(value, str) or not value or len(value) > longest:
        raise InvalidInput(
            f"{name} must be a non-empty string of at most {longest} characters", field=name
        )
    try:
        bounds.check_name(value)
    except ValueError as exc:
        raise InvalidInput(f"{name}: {exc}", field=name) from None


@dataclass(frozen=True, slots=True)
class Taker:
    """An agent waiting idle that a PostgreSQL insert may hand its new jobs to.

    claim.py names one only when the agent may run every new job now; the statement
    then checks what the database knows (see submit_jobs in the SQL).
    """

    agent_id: uuid.UUID
    queues: list[str]


def submit_jobs(
    tx: Tx,
    team_id: uuid.UUID,
    specs: list[JobSpec],
    audit: AuditEntry | None = None,
    window: timedelta = idempotency.DEFAULT_WINDOW,
) -> list[Submitted]:
    """Insert ``specs`` in order; a matching idempotency key returns the existing job,
    unfinished or finished less than ``window`` ago (:mod:`.idempotency`).

    Fixed statement count per batch: keys (if any), the insert (on SQLite staged
    first: see submit_stage), duplicates (if any), outbox. The whole batch is
    refused if one key matches a job with different params. ``audit`` is the
    request's audit row, completed with the jobs it names (:func:`about_jobs`). On
    PostgreSQL the insert writes it too when no job has an idempotency key, since
    then the ids it names are the new ones, known before the insert.
    """
    submitted, _ = insert_jobs(tx, team_id, specs, audit, None, window)
    return submitted


def insert_jobs(
    tx: Tx,
    team_id: uuid.UUID,
    specs: list[JobSpec],
    audit: AuditEntry | None,
    taker: Taker | None,
    window: timedelta = idempotency.DEFAULT_WINDOW,
) -> tuple[list[Submitted], list[InsertedRow]]:
    """:func:`submit_jobs`, and on PostgreSQL the rows of the jobs it inserted already
    claimed by ``taker`` (all or none; each row has claim_apply's columns).

    With a ``taker`` every idempotency key must be new: a held one fails the insert
    whole (``IntegrityError``), and the caller submits without a taker instead.
    """
    ids = uuid7_many(len(specs))
    # With a taker the insert is all new jobs or fails (submit_jobs_new in the SQL).
    in_statement = (
        audit is not None
        and tx.dialect == "postgresql"
        and (taker is not None or not any(spec.idempotency_key for spec in specs))
    )
    sqlite = tx.dialect == "sqlite"
    json: Callable[[bytes], Any] = bytes.decode if sqlite else orjson.Fragment
    rows = [
        spec.staged(
            str(job_id),
            spec.run_at if not sqlite or spec.run_at is None else to_micros(spec.run_at),
            json,  # text on SQLite; embedded as is in the JSON batch on PostgreSQL
        )
        for spec, job_id in zip(specs, ids, strict=True)
    ]
    keys = sorted({s.concurrency_key for s in specs if s.concurrency_key})
    if keys:
        tx.conn.execute(
            tx.q("ensure_concurrency_keys"), {"team_id": team_id, "keys": array(tx.dialect, keys)}
        )
    audit_json = None
    if audit is not None and in_statement:
        audit_json = orjson.dumps(audit_row(about_jobs(audit, ids))).decode()
    results = [_insert(tx, team_id, rows, audit_json, _taker_params(specs, taker))]
    # Keyed by the id as the driver returns it: text on SQLite, a UUID on PostgreSQL.
    inserted = {row.id: STATE_OF[row.state] for row in results[0]}
    driver_ids = [row[_ID] for row in rows] if sqlite else ids
    held = _keys_held(driver_ids, rows, inserted)
    if held and idempotency.forget_expired(tx, team_id, held, window):
        waiting = [row for job_id, row in zip(driver_ids, rows, strict=True)
                   if job_id not in inserted]  # fmt: skip
        results.append(_insert(tx, team_id, waiting, None, _taker_params([], None)))
        inserted |= {row.id: STATE_OF[row.state] for row in results[1]}
        held = _keys_held(driver_ids, rows, inserted)
    existing = idempotency.holders(tx, team_id, held) if held else {}

    submitted: list[Submitted] = []
    changes = []
    team_text = str(team_id)
    for spec, job_id, driver_id, row in zip(specs, ids, driver_ids, rows, strict=True):
        state = inserted.get(driver_id)
        if state is not None:
            submitted.append(Submitted(job_id, state, created=True))
            if sqlite:
                changes.append((team_text, driver_id, {"state": state, "queue": spec.queue}))
            continue
        found = existing.get(spec.idempotency_key or "")
        if found is None:  # its holder was deleted since the insert (retention)
            raise IdempotencyConflict(
                f"idempotency key {spec.idempotency_key!r} was released while in use: submit again",
                idempotency_key=spec.idempotency_key,
            )
        if found.params_hash != row[_PARAMS_HASH]:
            raise IdempotencyConflict(
                f"idempotency key {spec.idempotency_key!r} is in use by job {found.id} "
                "with different params",
                idempotency_key=spec.idempotency_key,
                job_id=str(found.id),
            )
        submitted.append(Submitted(found.id, JobState(found.state), created=False))
    if sqlite:
        emit_job_changes(tx, changes)
    else:  # submit_jobs wrote the events of the inserted jobs itself
        for result in results:
            note_events(tx, result, work_available=JobState.QUEUED in inserted.values())
    if audit is not None and not in_statement:
        record(tx, about_jobs(audit, [s.id for s in submitted]))
    taken = [row for row in results[0] if row.state == JobState.RUNNING] if not sqlite else []
    return submitted, taken


def _taker_params(specs: list[JobSpec], taker: Taker | None) -> dict[str, Any]:
    """The parameters of submit_jobs' hand-over on PostgreSQL (all NULL without a taker)."""
    if taker is None:
        return {"agent_id": None, "new_queues": None, "new_actions": None,
                "agent_queues": None, "lowest_priority": None}  # fmt: skip
    return {
        "agent_id": taker.agent_id,
        "new_queues": sorted({spec.queue for spec in specs}),
        "new_actions": sorted({spec.action for spec in specs}),
        "agent_queues": list(taker.queues),
        "lowest_priority": min(spec.priority for spec in specs),
    }


def about_jobs(entry: AuditEntry, job_ids: list[uuid.UUID]) -> AuditEntry:
    """A submission's audit row names its job, or how many and which when a batch."""
    if len(job_ids) == 1:
        return entry.about("job", job_ids[0])
    return entry.about("job", None, **ids_detail(job_ids))


def _insert(
    tx: Tx,
    team_id: uuid.UUID,
    rows: list[tuple[Any, ...]],
    audit_json: str | None,
    taker: dict[str, Any],
) -> list[InsertedRow]:
    """Insert the staged rows; returns ``(id, state, ...)`` of those inserted.

    On PostgreSQL ``audit_json`` is an audit row the statement writes too, and
    ``taker`` the parameters of its hand-over to a waiting agent; with one, a row
    whose idempotency key is held fails the statement (submit_jobs_new).
    """
    if tx.dialect == "sqlite":
        tx.rows("submit_stage", {})
        tx.rows("submit_stage_clear", {})
        tx.rows_many("submit_stage_add", rows)
        return tx.named_rows("submit_jobs", {"team_id": team_id, "now": tx.now}, InsertedRow)
    items = orjson.dumps(rows).decode()  # an array of arrays: one dump per batch
    params: dict[str, Any] = {"team_id": team_id, "now": tx.now, "items": items}
    params |= {"audit": audit_json} | taker | notify_in_statement(tx)
    name = "submit_jobs" if taker["agent_id"] is None else "submit_jobs_new"
    return tx.named_rows(name, params, InsertedRow)


def _keys_held(
    driver_ids: list[Any], rows: list[tuple[Any, ...]], inserted: dict[Any, JobState]
) -> set[str]:
    """The idempotency keys of the rows not inserted: another job holds each."""
    if len(inserted) == len(rows):
        return set()
    return {
        row[_IDEMPOTENCY_KEY]
        for job_id, row in zip(driver_ids, rows, strict=True)
        if job_id not in inserted and row[_IDEMPOTENCY_KEY] is not None
    }
