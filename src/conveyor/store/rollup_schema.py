"""The per-minute rollups of jobs (revision 0013), kept beside ``schema.py`` to keep each
file short.

``job_minutes`` counts, per team, minute and queue, the jobs submitted and those that
finished by outcome; ``job_minute_times`` counts their wait (due to started) and run
(started to the attempt's end) times in log-scale buckets (see queries/rollups.py).
Triggers of the migration keep both in the transaction that changes the job, on every
path (submit, claim, report, cancel, reap); ``GET /api/v1/stats`` reads only these.
"""

from __future__ import annotations

import sqlalchemy as sa

from conveyor.store.types import GUID, Timestamp


def rollup_tables(metadata: sa.MetaData) -> tuple[sa.Table, sa.Table]:
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
    )
    return job_minutes, job_minute_times
