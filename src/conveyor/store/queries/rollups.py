"""The per-minute rollups read for ``GET /api/v1/stats``, and pruned by retention.

The migration's triggers (revision 0013) write them; this module only reads and
deletes. Wait and run times are counted in log-scale buckets, ``BUCKETS_PER_DOUBLING``
per doubling from one millisecond: bucket ``b`` holds times in
``[2^(b/4), 2^((b+1)/4))`` ms (bucket 0 also everything shorter, the last everything
longer), so a percentile read from them is within about 9 % of the exact value.
"""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from conveyor.store.schema import job_hour_times, job_minute_times, job_minutes, jobs
from conveyor.store.transaction import Tx
from conveyor.store.types import Timestamp, at

BUCKETS_PER_DOUBLING = 4
BUCKET_FLOOR_S = 0.001
BUCKET_LAST = 159  # 2^(160/4) ms: about 35 years; anything longer lands here too
STATS_OUTCOMES = ("submitted", "succeeded", "failed", "cancelled")
QUANTILES = (0.50, 0.95, 0.99)
RECENT_FAILURES = 10
KEEP = timedelta(days=1, hours=1)  # a day window plus a margin; older rows are pruned
PRUNE_SPAN = timedelta(hours=1)  # minutes deleted per prune call, to keep each one short
FOLD_AFTER = timedelta(hours=1)  # minutes before the previous hour are folded into hours
FOLD_SPAN = timedelta(hours=1)  # minutes folded per call, to keep each one short


def bucket_of(seconds: float) -> int:
    """The bucket a time falls in (the triggers compute the same in SQL)."""
    ms = max(seconds / BUCKET_FLOOR_S, 1.0)
    return min(BUCKET_LAST, max(0, math.floor(BUCKETS_PER_DOUBLING * math.log2(ms))))


def bucket_seconds(bucket: int) -> float:
    """A bucket's representative time: the geometric middle of its bounds."""
    return float(BUCKET_FLOOR_S * 2 ** ((bucket + 0.5) / BUCKETS_PER_DOUBLING))


def percentiles(counts: dict[int, int]) -> tuple[float | None, ...]:
    """p50, p95 and p99 of the times counted per bucket (None each when there are none)."""
    total = sum(counts.values())
    if total == 0:
        return tuple(None for _ in QUANTILES)
    found: list[float | None] = []
    for q in QUANTILES:
        rank, seen = q * total, 0
        for bucket in sorted(counts):
            seen += counts[bucket]
            if seen >= rank:
                found.append(bucket_seconds(bucket))
                break
    return tuple(found)


@dataclass(frozen=True, slots=True)
class Failure:
    """A job that ended dead."""

    job_id: uuid.UUID
    action: str
    queue: str
    finished_at: datetime | None
    error: object


@dataclass(slots=True)
class Rollup:
    """A team's rollups over a window: counts per minute, time buckets per queue."""

    now: datetime
    since: datetime
    minutes: dict[datetime, dict[str, int]] = field(default_factory=dict)
    times: dict[tuple[str, str], dict[int, int]] = field(default_factory=dict)  # (queue, kind)
    failures: list[Failure] = field(default_factory=list)


def minute_of(instant: datetime) -> datetime:
    return instant.replace(second=0, microsecond=0)


def read_rollup(tx: Tx, team_id: uuid.UUID, minutes: int) -> Rollup:
    """The last ``minutes`` minutes (the current one included) of the team's rollups."""
    now = tx.conn.execute(sa.select(at(tx.now))).scalar_one()
    since = minute_of(now) - timedelta(minutes=minutes - 1)
    found = Rollup(now=now, since=since)
    counts = tx.conn.execute(
        sa.select(job_minutes.c.minute, *(sa.func.sum(job_minutes.c[o]) for o in STATS_OUTCOMES))
        .where(
            job_minutes.c.team_id == team_id, job_minutes.c.minute >= sa.literal(since, Timestamp())
        )
        .group_by(job_minutes.c.minute)
    )
    for minute, *sums in counts:
        found.minutes[minute] = {o: int(n or 0) for o, n in zip(STATS_OUTCOMES, sums, strict=True)}
    m, h = job_minute_times.c, job_hour_times.c
    at_since = sa.literal(since, Timestamp())
    # The minutes not yet folded, and the hours folded (the day's oldest hour, partly
    # outside the window, is left out: the day's percentiles start on the hour).
    rows = sa.union_all(
        sa.select(m.queue, m.kind, m.bucket, m.count).where(
            m.team_id == team_id, m.minute >= at_since
        ),
        sa.select(h.queue, h.kind, h.bucket, h.count).where(
            h.team_id == team_id, h.hour >= at_since
        ),
    ).subquery()
    buckets = tx.conn.execute(
        sa.select(rows.c.queue, rows.c.kind, rows.c.bucket, sa.func.sum(rows.c.count)).group_by(
            rows.c.queue, rows.c.kind, rows.c.bucket
        )
    )
    times: dict[tuple[str, str], dict[int, int]] = defaultdict(dict)
    for queue, kind, bucket, n in buckets:
        times[(str(queue), str(kind))][int(bucket)] = int(n)
    found.times = dict(times)
    found.failures = recent_failures(tx, team_id)
    return found


def recent_failures(tx: Tx, team_id: uuid.UUID) -> list[Failure]:
    """The team's latest dead jobs, newest submitted first (ix_jobs_team_state, no scan)."""
    rows = tx.conn.execute(
        sa.select(jobs.c.id, jobs.c.action, jobs.c.queue, jobs.c.finished_at, jobs.c.error)
        .where(jobs.c.team_id == team_id, jobs.c.state == "dead")
        .order_by(jobs.c.seq.desc())
        .limit(RECENT_FAILURES)
    )
    return [Failure(r.id, r.action, r.queue, r.finished_at, r.error) for r in rows]


def fold_rollups(tx: Tx) -> int:
    """Fold the time buckets of minutes before the previous hour into hour rows, at most
    ``FOLD_SPAN`` of minutes per call; returns how many minute rows it folded.

    What stays unfolded always covers the last hour, so the hour window reads minutes.
    """
    now = tx.conn.execute(sa.select(at(tx.now))).scalar_one()
    before = minute_of(now).replace(minute=0) - FOLD_AFTER
    oldest = tx.conn.execute(sa.select(sa.func.min(job_minute_times.c.minute))).scalar()
    if oldest is None or oldest >= before:
        return 0
    upto = min(before, oldest + FOLD_SPAN)
    minutes = job_minute_times.c.minute
    folded = tx.conn.execute(  # ix_job_minute_times_minute: only the rows to fold
        sa.select(sa.func.count()).where(minutes < sa.literal(upto, Timestamp()))
    ).scalar_one()
    bound = {"before": _bind(tx, upto)}
    tx.conn.execute(tx.q("rollups_fold"), bound)
    tx.conn.execute(tx.q("rollups_fold_clear"), bound)
    return int(folded)


def _bind(tx: Tx, instant: datetime) -> object:
    """A timestamp as a named statement takes it (integer microseconds on SQLite)."""
    return Timestamp().process_bind_param(instant, tx.conn.dialect)


def prune_rollups(tx: Tx, keep: timedelta) -> int:
    """Delete rollup rows older than ``keep``, at most ``PRUNE_SPAN`` of them per table and
    call (retention calls again while something was deleted); returns how many."""
    now = tx.conn.execute(sa.select(at(tx.now))).scalar_one()
    cutoff = minute_of(now) - keep
    deleted = 0
    for table, column in (
        (job_minutes, job_minutes.c.minute),
        (job_minute_times, job_minute_times.c.minute),
        (job_hour_times, job_hour_times.c.hour),
    ):
        oldest = tx.conn.execute(sa.select(sa.func.min(column))).scalar()
        if oldest is None or oldest >= cutoff:
            continue
        below = sa.literal(min(cutoff, oldest + PRUNE_SPAN), Timestamp())
        deleted += tx.conn.execute(sa.delete(table).where(column < below)).rowcount
    return deleted
