"""Idempotency keys: which job holds a key, and when a finished job lets go of it.

A job holds its key while unfinished and for a window after it finishes (24 h by
default): a submit with the same key in that time gets the job back instead of a
second one, so a client may retry a submit whose answer it never received. The
window is checked only when a key is used again: the submit's insert conflicts,
the finished job's key is forgotten (set to NULL) if its window has passed, and
the insert runs again. A job without a key never reaches this module.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from conveyor.store.schema import jobs
from conveyor.store.transaction import Tx

DEFAULT_WINDOW = timedelta(hours=24)
_FINISHED = ("succeeded", "cancelled", "dead")


def forget_expired(tx: Tx, team_id: uuid.UUID, keys: Collection[str], window: timedelta) -> int:
    """Forget ``keys`` held by jobs that finished at least ``window`` ago; how many.

    ``window`` 0 frees a key as soon as its job finishes (the rule before the window).
    """
    now: Any = tx.now if tx.now is not None else sa.func.now()
    freed = tx.conn.execute(
        jobs.update()
        .where(
            jobs.c.team_id == team_id,
            jobs.c.idempotency_key.in_(sorted(keys)),
            jobs.c.state.in_(_FINISHED),
            jobs.c.finished_at <= now - window,
        )
        .values(idempotency_key=None)
    )
    return int(freed.rowcount)


def holders(tx: Tx, team_id: uuid.UUID, keys: Collection[str]) -> dict[str, Any]:
    """The job holding each of ``keys``, finished or not: ``id``, ``params_hash``,
    ``state``, by key."""
    found = tx.conn.execute(
        sa.select(jobs.c.id, jobs.c.idempotency_key, jobs.c.params_hash, jobs.c.state).where(
            jobs.c.team_id == team_id, jobs.c.idempotency_key.in_(sorted(keys))
        )
    )
    return {row.idempotency_key: row for row in found}
