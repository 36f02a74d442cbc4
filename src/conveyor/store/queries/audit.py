"""The audit log: who changed what, written in the transaction of the change.

A store write method that changes state for a request takes ``audit=`` (an
:class:`AuditEntry`); :func:`audited` wraps its operation so the row is inserted
by the same transaction (on SQLite, the same savepoint of the writer's batch):
the change and its record commit together or not at all. A refused request is
recorded by :func:`record` in a write of its own. Both insert with the request's
audit id and ignore a second row with it, so a request is recorded at most once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Concatenate, ParamSpec, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from conveyor.errors import InvalidInput
from conveyor.store.records import AuditEvent, AuditPage
from conveyor.store.schema import audit_log
from conveyor.store.transaction import Tx
from conveyor.store.types import db_clock

P = ParamSpec("P")
R = TypeVar("R")

SUCCESS = "success"
MAX_PAGE = 1000
MAX_IDS_IN_DETAILS = 100
_COLUMNS = [audit_log.c[name] for name in AuditEvent.__slots__]


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One request's audit row, before it is written."""

    id: uuid.UUID
    team_id: uuid.UUID | None
    actor_kind: str  # "user" | "client_key"
    actor_id: uuid.UUID | None
    actor_display: str
    action: str  # e.g. "jobs.create", "keys.revoke"
    client_addr: str | None
    object_type: str | None = None
    object_id: str | None = None
    outcome: str = SUCCESS
    status: int = 200
    details: dict[str, Any] | None = field(default=None)

    def about(self, object_type: str, object_id: object, **details: Any) -> AuditEntry:
        """This entry naming the object it changed (and optional details)."""
        return replace(
            self,
            object_type=object_type,
            object_id=None if object_id is None else str(object_id)[:255],
            details=details or self.details,
        )

    def failed(self, outcome: str, status: int) -> AuditEntry:
        return replace(self, outcome=outcome[:64], status=status)


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """What ``GET /audit`` narrows by; None means any."""

    actor_id: uuid.UUID | None = None
    action: str | None = None  # exact, or a prefix ending in "." (e.g. "jobs.")
    object_type: str | None = None
    object_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    outcome: str | None = None  # "success", "failure", or one error code


# Built once per dialect: every audited request inserts one row, stamped by the
# database clock unless the caller moves time (tests).
_RECORD = {
    "postgresql": postgresql.insert(audit_log).on_conflict_do_nothing(
        index_elements=[audit_log.c.id]
    ),
    "sqlite": sqlite.insert(audit_log).on_conflict_do_nothing(index_elements=[audit_log.c.id]),
}
_RECORD_NOW = {dialect: stmt.values(created_at=db_clock()) for dialect, stmt in _RECORD.items()}


def record(tx: Tx, entry: AuditEntry) -> None:
    """Insert ``entry`` unless its request already has a row."""
    row = audit_row(entry)
    if tx.now is None:
        tx.conn.execute(_RECORD_NOW[tx.dialect], row)
    else:
        tx.conn.execute(_RECORD[tx.dialect], {**row, "created_at": tx.now})


def audit_row(entry: AuditEntry) -> dict[str, Any]:
    """The ``audit_log`` columns of ``entry``, all but ``seq`` and ``created_at``."""
    return {
        "id": entry.id,
        "team_id": entry.team_id,
        "actor_kind": entry.actor_kind,
        "actor_id": entry.actor_id,
        "actor_display": entry.actor_display[:320],
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "outcome": entry.outcome,
        "status": entry.status,
        "client_addr": entry.client_addr,
        "details": entry.details,
    }


Describe = Callable[[AuditEntry, R], AuditEntry]


def audited(
    op: Callable[Concatenate[Tx, P], R],
    entry: AuditEntry | None,
    describe: Describe[R] | None = None,
) -> Callable[Concatenate[Tx, P], R]:
    """``op`` followed, in its transaction, by the insert of ``entry``.

    ``describe`` completes the entry from the operation's result (the id of what
    it created). Without an entry, ``op`` itself.
    """
    if entry is None:
        return op

    def run(tx: Tx, /, *args: P.args, **kwargs: P.kwargs) -> R:
        result = op(tx, *args, **kwargs)
        record(tx, describe(entry, result) if describe is not None else entry)
        return result

    return run


def ids_detail(ids: list[Any]) -> dict[str, Any]:
    """Details naming many objects: how many, and the first hundred."""
    return {"count": len(ids), "ids": [str(i) for i in ids[:MAX_IDS_IN_DETAILS]]}


def list_events(
    tx: Tx, team_id: uuid.UUID, where: AuditFilter, *, limit: int, cursor: int | None
) -> AuditPage:
    """The team's audit rows newest first; the cursor is the last row's ``seq``."""
    if isinstance(limit, bool) or not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}", field="limit")
    query = sa.select(*_COLUMNS).where(audit_log.c.team_id == team_id)
    if where.actor_id is not None:
        query = query.where(audit_log.c.actor_id == where.actor_id)
    if where.action is not None:
        if where.action.endswith("."):
            query = query.where(audit_log.c.action.startswith(where.action, autoescape=True))
        else:
            query = query.where(audit_log.c.action == where.action)
    if where.object_type is not None:
        query = query.where(audit_log.c.object_type == where.object_type)
    if where.object_id is not None:
        query = query.where(audit_log.c.object_id == where.object_id)
    if where.since is not None:
        query = query.where(audit_log.c.created_at >= where.since)
    if where.until is not None:
        query = query.where(audit_log.c.created_at < where.until)
    if where.outcome == "failure":
        query = query.where(audit_log.c.outcome != SUCCESS)
    elif where.outcome is not None:
        query = query.where(audit_log.c.outcome == where.outcome)
    if cursor is not None:
        query = query.where(audit_log.c.seq < cursor)
    rows = tx.conn.execute(query.order_by(audit_log.c.seq.desc()).limit(limit + 1)).all()
    page = [AuditEvent(**row._mapping) for row in rows[:limit]]
    return AuditPage(page, page[-1].seq if len(rows) > limit else None)
