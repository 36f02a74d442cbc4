"""Read the team's lists page by page: jobs (keyset on ``seq``) and outbox events.

Also writes the outbox entries that are not job transitions (agents, logs,
artifacts), in the transaction that made the change.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from conveyor.errors import InvalidInput
from conveyor.store.queries.job_filter import JobFilter, job_conditions
from conveyor.store.queries.outbox import insert_events
from conveyor.store.records import Event, Job, JobPage
from conveyor.store.schema import events, jobs
from conveyor.store.transaction import Tx

MAX_PAGE = 1000
CONTROL = "control"
_JOB_COLUMNS = [jobs.c[name] for name in Job.__slots__]
_EVENT_COLUMNS = [
    events.c.seq,
    events.c.kind,
    events.c.object_id,
    events.c.data,
    events.c.created_at,
]


def emit_events(
    tx: Tx, kind: str, changes: Iterable[tuple[uuid.UUID, uuid.UUID, dict[str, Any]]]
) -> None:
    """Record ``(team_id, object_id, data)`` events of one kind; one statement per batch.

    ``control`` events tell the replica holding an agent's connection to push it
    something (``{"agent_id", "cancel": true}`` for the job ``object_id``, or
    ``{"agent_id", "drain": true}``); they mark the transaction so its NOTIFY says so.
    """
    changes = list(changes)
    insert_events(tx, kind, changes)
    tx.control = tx.control or (kind == CONTROL and bool(changes))


def _check_limit(limit: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}", field="limit")


def list_jobs(
    tx: Tx, team_id: uuid.UUID, where: JobFilter, *, limit: int, cursor: int | None
) -> JobPage:
    """Newest first. The cursor is the last item's ``seq`` and the next page starts
    below it, so jobs submitted between pages appear on no page and shift none."""
    _check_limit(limit)
    query = sa.select(*_JOB_COLUMNS).where(*job_conditions(team_id, where))
    if cursor is not None:
        query = query.where(jobs.c.seq < cursor)
    rows = tx.conn.execute(query.order_by(jobs.c.seq.desc()).limit(limit + 1)).all()
    page = [Job.from_row(row) for row in rows[:limit]]
    return JobPage(page, page[-1].seq if len(rows) > limit else None)


def events_after(
    tx: Tx,
    team_id: uuid.UUID,
    after_seq: int,
    *,
    limit: int,
    object_id: uuid.UUID | None,
    skip: Sequence[int] = (),
) -> list[Event]:
    """The team's events with ``seq > after_seq``, oldest first (not the servers' own
    ``control`` events), except those in ``skip`` (a reader's look-behind: see
    :class:`OutboxReader`)."""
    _check_limit(limit)
    query = sa.select(*_EVENT_COLUMNS).where(
        events.c.team_id == team_id, events.c.seq > after_seq, events.c.kind != CONTROL
    )
    if object_id is not None:
        query = query.where(events.c.object_id == object_id)
    if skip:
        query = query.where(_not_among(tx, skip))
    rows = tx.conn.execute(query.order_by(events.c.seq).limit(limit)).all()
    return [Event(**row._mapping) for row in rows]


def control_events_after(
    tx: Tx, after_seq: int, *, limit: int, skip: Sequence[int] = ()
) -> list[Event]:
    """Every team's ``control`` events with ``seq > after_seq``, oldest first, except
    those in ``skip``."""
    _check_limit(limit)
    query = sa.select(*_EVENT_COLUMNS).where(events.c.seq > after_seq, events.c.kind == CONTROL)
    if skip:
        query = query.where(_not_among(tx, skip))
    rows = tx.conn.execute(query.order_by(events.c.seq).limit(limit)).all()
    return [Event(**row._mapping) for row in rows]


def _not_among(tx: Tx, seqs: Sequence[int]) -> sa.ColumnElement[bool]:
    """``seq`` not one of ``seqs``: one array parameter on PostgreSQL, whatever their number."""
    if tx.dialect == "postgresql":
        among = sa.bindparam("skip", list(seqs), type_=postgresql.ARRAY(sa.BigInteger))
        return sa.not_(events.c.seq == sa.any_(among))
    return events.c.seq.not_in(list(seqs))
