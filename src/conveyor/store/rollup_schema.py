"""The per-minute rollups of jobs (revision 0013), kept beside ``schema.py`` to keep each
file short.

``job_minutes`` counts, per team, minute and queue, the jobs submitted and those that
finished by outcome; ``job_minute_times`` counts their wait (due to started) and run
(started to the attempt's end) times in log-scale buckets (see queries/rollups.py).
Revision 0013 also adds ``ix_jobs_unfinished``, for cheap queue depths.
Triggers of the migration keep both in the transaction that changes the job, on every
path (submit, claim, report, cancel, reap); ``GET /api/v1/stats`` reads only these.
"""

from __future__ import annotations

import sqlalchemy as sa

from conveyor.store.types import GUID, Timestamp

UNFINISHED = "state IN ('pending', 'scheduled', 'queued', 'running')"


def unfinished_index(jobs: sa.Table) -> sa.Index:
    """The queue depths' count (queues, stats, metrics) reads only unfinished jobs, from
    this index alone: never the finished ones, however many are kept."""
    return sa.Index(
        "ix_jobs_unfinished", jobs.c.team_id, jobs.c.queue, jobs.c.state,
        sqlite_where=sa.text(UNFINISHED), postgresql_where=sa.text(UNFINISHED),
    )  # fmt: skip


def rollup_tables(metadata: sa.MetaData) -> tuple[sa.Table, sa.Table, sa.Table]:
    job_minutes = sa.Table(
        "job_minutes",
        metadata,
        sa.Column("team_id", GUID(), primary_key=True),
        sa.Column("minute", Timestamp(), primary_key=True),
        sa.Column("queue", sa.String(100), primary_key=True),
        sa.Column("submitted", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("succeeded", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("failed", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("cancelled", sa.Integer(), nullable=False, server_default="0"),
    )
    job_minute_times = sa.Table(
        "job_minute_times",
        metadata,
        sa.Column("team_id", GUID(), primary_key=True),
        sa.Column("minute", Timestamp(), primary_key=True),
        sa.Column("queue", sa.String(100), primary_key=True),
        sa.Column("kind", sa.String(4), primary_key=True),  # "wait" or "run"
        sa.Column("bucket", sa.SmallInteger(), primary_key=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Index("ix_job_minute_times_minute", "minute"),  # folding and pruning by age
    )
    job_hour_times = sa.Table(
        "job_hour_times",
        metadata,
        sa.Column("team_id", GUID(), primary_key=True),
        sa.Column("hour", Timestamp(), primary_key=True),
        sa.Column("queue", sa.String(100), primary_key=True),
        sa.Column("kind", sa.String(4), primary_key=True),
        sa.Column("bucket", sa.SmallInteger(), primary_key=True),
        sa.Column("count", sa.BigInteger(), nullable=False),
    )
    return job_minutes, job_minute_times, job_hour_times
