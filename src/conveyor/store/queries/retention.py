"""Retention: delete finished jobs (with their rows) and outbox events once old enough.

Runs in bounded batches so a large backlog never holds one long transaction; the
retention loop repeats while a pass still found something. On PostgreSQL the
batch is picked with ``FOR UPDATE SKIP LOCKED``, so replicas pruning at once
take disjoint batches, and a job retried while being pruned is either retried
(it is no longer finished when the pick re-checks it) or gone, never half-deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from conveyor.errors import InvalidInput
from conveyor.store.queries._encode import array
from conveyor.store.schema import jobs
from conveyor.store.transaction import Tx

DAY = timedelta(days=1)


@dataclass(frozen=True)
class KeepFinished:
    """How long a finished job is kept after it finished, per final state; None = forever."""

    succeeded: timedelta | None = 7 * DAY
    cancelled: timedelta | None = 7 * DAY
    dead: timedelta | None = 30 * DAY  # longer: someone may still want to inspect or retry it

    def __post_init__(self) -> None:
        for state, age in self.seconds().items():
            if age is not None and age < 0:
                raise InvalidInput(f"the retention of {state} jobs must not be negative")

    def seconds(self) -> dict[str, float | None]:
        return {
            "succeeded": _seconds(self.succeeded),
            "cancelled": _seconds(self.cancelled),
            "dead": _seconds(self.dead),
        }

    @property
    def keeps_all(self) -> bool:
        return all(age is None for age in self.seconds().values())


@dataclass(frozen=True, slots=True)
class Pruned:
    """What one pass deleted: the number of jobs, and the artifact blobs now unreferenced."""

    jobs: int
    storage_keys: list[str]


def _seconds(age: timedelta | None) -> float | None:
    return None if age is None else age.total_seconds()


def check_limit(limit: int) -> None:
    if limit < 1:
        raise InvalidInput("a retention batch must hold at least one row")


def prune_finished(tx: Tx, keep: KeepFinished, limit: int) -> Pruned:
    """Delete up to ``limit`` old finished jobs and every row that points at them.

    Six statements whatever the batch size (one when nothing is old enough);
    children first, so foreign keys hold on both dialects.
    """
    ages = keep.seconds()
    picked = tx.conn.execute(
        tx.q("prune_pick_jobs").columns(id=jobs.c.id.type),
        {"now": tx.now, "limit": limit, **{f"{state}_s": age for state, age in ages.items()}},
    ).all()
    if not picked:
        return Pruned(jobs=0, storage_keys=[])
    ids = {"ids": array(tx.dialect, [row.id for row in picked])}
    tx.conn.execute(tx.q("prune_job_logs"), ids)
    tx.conn.execute(tx.q("prune_job_attempts"), ids)
    tx.conn.execute(tx.q("prune_job_dependencies"), ids)
    keys = [row.storage_key for row in tx.conn.execute(tx.q("prune_artifacts"), ids)]
    deleted = tx.conn.execute(tx.q("prune_jobs"), ids).rowcount
    return Pruned(jobs=deleted, storage_keys=keys)


def prune_events(tx: Tx, keep: timedelta, limit: int) -> int:
    """Delete up to ``limit`` outbox events older than ``keep``, oldest first."""
    result = tx.conn.execute(
        tx.q("prune_events"), {"now": tx.now, "limit": limit, "keep_s": keep.total_seconds()}
    )
    return int(result.rowcount)
