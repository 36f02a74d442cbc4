"""Cancel or retry many jobs in one call: the ones named by id, or those a filter matches.

Both go through the single-job paths' statements (:func:`control.cancel_where`,
:func:`control.retry_where`), so a bulk cancel flags running jobs and tells their
agents exactly as one cancel does. Nothing is refused: a job that is not in a
state the change applies to, or not the team's, or not there, is *skipped*.

With a filter, one call changes at most ``limit`` jobs, newest first, and
answers ``next_seq``: the lowest seq it considered. A further call given it as
``below`` looks only at older jobs, so a loop passing it back visits each
matching job at most once and ends, however fast jobs change or arrive (a job
retried that dies again, or one created since, is above it). ``remaining``
counts the matching jobs below ``next_seq``: what such a call would still
change. A cancel counts a running job once: after it is flagged it no longer
matches.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from functools import partial
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


def check_selection(
    ids: list[uuid.UUID] | None, where: JobFilter | None, limit: int, below: int | None = None
) -> None:
    """Exactly one of ``ids`` (1 to ``BULK_MAX``) and ``where``; a limit within 1..BULK_MAX;
    ``below`` (where a filter's earlier call left off) only with ``where``."""
    if (ids is None) == (where is None):
        raise InvalidInput("name the jobs either by ids or by a filter, not both nor neither")
    if below is not None and where is None:
        raise InvalidInput("a cursor continues a filter, not a list of ids", field="cursor")
    if ids is not None and not 1 <= len(ids) <= BULK_MAX:
        raise InvalidInput(f"ids must name 1 to {BULK_MAX} jobs", field="ids")
    if isinstance(limit, bool) or not 1 <= limit <= BULK_MAX:
        raise InvalidInput(f"limit must be between 1 and {BULK_MAX}", field="limit")


def _apply(
    change: Change,
    applies: sa.ColumnElement[bool],
    tx: Tx,
    team_id: uuid.UUID,
    ids: list[uuid.UUID] | None,
    where: JobFilter | None,
    limit: int,
    below: int | None = None,
) -> BulkChange:
    if ids is not None:
        wanted = sorted(set(ids))
        rows = change(tx, team_id, _among(tx, jobs.c.id, wanted, sa.Uuid()), applies)
        return BulkChange(affected=len(rows), skipped=len(wanted) - len(rows), remaining=0)
    assert where is not None
    matching = [*job_conditions(team_id, where), applies]
    if below is not None:
        matching.append(jobs.c.seq < below)
    picked = sa.select(jobs.c.seq).where(*matching).order_by(jobs.c.seq.desc()).limit(limit)
    lowest, chosen = _pick(tx, picked)
    if lowest is None:
        return BulkChange(affected=0, skipped=0, remaining=0)
    # The conditions again: on PostgreSQL a job another transaction changed since it was
    # picked is judged afresh.
    rows = change(tx, team_id, chosen, *matching)
    older = sa.select(sa.func.count()).select_from(jobs).where(*matching, jobs.c.seq < lowest)
    left = int(tx.conn.execute(older).scalar_one())
    return BulkChange(
        affected=len(rows), skipped=0, remaining=left, next_seq=lowest if left else None
    )


cancel_many = partial(_apply, cancel_where, CANCEL_PENDING)
"""Cancel the jobs ``ids`` names, or up to ``limit`` of those ``where`` matches (below ``below``)."""
retry_many = partial(_apply, retry_where, RETRYABLE)
"""Retry the jobs ``ids`` names, or up to ``limit`` of those ``where`` matches (below ``below``)."""


def _pick(tx: Tx, picked: sa.Select[Any]) -> tuple[int | None, sa.ColumnElement[bool]]:
    """The lowest seq ``picked`` finds (where a further call goes on), and "is one of them"."""
    if tx.dialect == "postgresql":
        # The picked seqs travel back as one array: planned as a subquery, a table whose
        # statistics lag a burst of inserts is joined row by row (seconds, not ms).
        seqs = list(tx.conn.execute(picked).scalars())
        return min(seqs, default=None), _among(tx, jobs.c.seq, seqs, sa.BigInteger())
    # One writer at a time: the jobs picked now are the ones the change picks again.
    lowest = tx.conn.execute(sa.select(sa.func.min(picked.subquery().c.seq))).scalar_one()
    return lowest, jobs.c.seq.in_(picked)


def _among(
    tx: Tx, column: sa.ColumnElement[Any], values: list[Any], item: sa.types.TypeEngine[Any]
) -> sa.ColumnElement[bool]:
    """``column`` is one of ``values``: one array parameter on PostgreSQL, a list on SQLite."""
    if tx.dialect == "postgresql":
        return column == sa.any_(sa.bindparam("among", values, type_=postgresql.ARRAY(item)))
    return column.in_(values)
