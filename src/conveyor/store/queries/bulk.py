"""Cancel or retry many jobs in one call: the ones named by id, or those a filter matches.

Both go through the single-job paths' statements (:func:`control.cancel_where`,
:func:`control.retry_where`), so a bulk cancel flags running jobs and tells their
agents exactly as one cancel does. Nothing is refused: a job that is not in a
state the change applies to, or not the team's, or not there, is *skipped*.

With a filter, one call changes at most ``limit`` jobs, newest first;
``remaining`` says how many matching jobs the
change would still apply to, for the caller to call again. A cancel counts a
running job once: after it is flagged it no longer matches.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from conveyor import bounds
from conveyor.errors import InvalidInput
from conveyor.store.queries.control import CANCEL_PENDING, RETRYABLE, cancel_where, retry_where
from conveyor.store.queries.job_filter import JobFilter, job_conditions
from conveyor.store.records import BulkChange
from conveyor.store.schema import jobs
from conveyor.store.transaction import Tx

Change = Callable[..., Sequence[sa.Row[Any]]]


BULK_MAX = bounds.BULK_MAX
"""At most this many jobs change in one call (and are named in one call: ids)."""


def check_selection(ids: list[uuid.UUID] | None, where: JobFilter | None, limit: int) -> None:
    """Exactly one of ``ids`` (1 to ``BULK_MAX``) and ``where``; a limit within 1..BULK_MAX."""
    if (ids is None) == (where is None):
        raise InvalidInput("name the jobs either by ids or by a filter, not both nor neither")
    if ids is not None and not 1 <= len(ids) <= BULK_MAX:
        raise InvalidInput(f"ids must name 1 to {BULK_MAX} jobs", field="ids")
    if isinstance(limit, bool) or not 1 <= limit <= BULK_MAX:
        raise InvalidInput(f"limit must be between 1 and {BULK_MAX}", field="limit")


def cancel_many(
    tx: Tx, team_id: uuid.UUID, ids: list[uuid.UUID] | None, where: JobFilter | None, limit: int
) -> BulkChange:
    return _apply(tx, team_id, cancel_where, CANCEL_PENDING, ids, where, limit)


def retry_many(
    tx: Tx, team_id: uuid.UUID, ids: list[uuid.UUID] | None, where: JobFilter | None, limit: int
) -> BulkChange:
    return _apply(tx, team_id, retry_where, RETRYABLE, ids, where, limit)


def _apply(
    tx: Tx,
    team_id: uuid.UUID,
    change: Change,
    applies: sa.ColumnElement[bool],
    ids: list[uuid.UUID] | None,
    where: JobFilter | None,
    limit: int,
) -> BulkChange:
    if ids is not None:
        wanted = sorted(set(ids))
        rows = change(tx, team_id, _among(tx, jobs.c.id, wanted, sa.Uuid()), applies)
        return BulkChange(affected=len(rows), skipped=len(wanted) - len(rows), remaining=0)
    assert where is not None
    matching = [*job_conditions(team_id, where), applies]
    picked = sa.select(jobs.c.seq).where(*matching).order_by(jobs.c.seq.desc()).limit(limit)
    if tx.dialect == "postgresql":
        # The picked seqs travel back as one array: planned as a subquery, a table whose
        # statistics lag a burst of inserts is joined row by row (seconds, not ms).
        seqs = list(tx.conn.execute(picked).scalars())
        chosen = _among(tx, jobs.c.seq, seqs, sa.BigInteger())
    else:
        chosen = jobs.c.seq.in_(picked)
    # The conditions again: on PostgreSQL a job another transaction changed since it was
    # picked is judged afresh.
    rows = change(tx, team_id, chosen, *matching)
    left = tx.conn.execute(sa.select(sa.func.count()).select_from(jobs).where(*matching))
    return BulkChange(affected=len(rows), skipped=0, remaining=int(left.scalar_one()))


def _among(
    tx: Tx, column: sa.ColumnElement[Any], values: list[Any], item: sa.types.TypeEngine[Any]
) -> sa.ColumnElement[bool]:
    """``column`` is one of ``values``: one array parameter on PostgreSQL, a list on SQLite."""
    if tx.dialect == "postgresql":
        return column == sa.any_(sa.bindparam("among", values, type_=postgresql.ARRAY(item)))
    return column.in_(values)
