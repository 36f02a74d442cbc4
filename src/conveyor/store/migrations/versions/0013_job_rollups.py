"""per-minute job rollups for stats: ``job_minutes``, ``job_minute_times`` and their triggers

- ``job_minutes``: per team, minute and queue, the jobs submitted (by ``created_at``) and
  those that finished as succeeded, dead (``failed``) or cancelled (by ``finished_at``).
- ``job_minute_times``: per team, minute and queue, wait times (``started_at`` minus the
  time the job was due, ``max(created_at, run_at)``, counted at its start) and run times
  (the attempt's start to its end, counted at its end; a job handed back to the queue
  unstarted is not counted) in log-scale buckets: bucket ``floor(4 * log2(ms))``,
  clamped to 0..159 (queries/rollups.py reads them). Retention folds the minutes older
  than an hour or two into ``job_hour_times`` (store/sql: rollups_fold), so the day
  window reads hours.

``ix_jobs_unfinished`` (team, queue, state of unfinished jobs): the queue depths are
counted from this index alone, never reading a finished job.

Triggers keep them in the transaction that changes the job, whatever the path (submit,
claim, report, cancel, bulk changes, reaper). On PostgreSQL they are statement-level
with transition tables: one grouped UPSERT per statement, so a batch of 500 claims
costs one statement, not 500. SQLite has only row triggers; its writes are in-process
and the upsert of one row costs a few microseconds. Both are additive: servers of the
previous version run beside this one and their changes are counted too.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import conveyor.store.types as ct

revision = "0013"
down_revision = "0012"
expand_only = True  # only adds: servers of the previous revision run on it
branch_labels = None
depends_on = None

FINISHED = "('succeeded', 'dead', 'cancelled')"

# -- SQLite: timestamps are integer microseconds since the epoch. ---------------------

_SQLITE_MINUTE = "({t} - {t} % 60000000)"
_SQLITE_BUCKET = "max(0, min(159, CAST(floor(4 * log2(max({us}, 1000) / 1000.0)) AS INTEGER)))"


def _sqlite_times(kind: str, at: str, us: str) -> str:
    minute = _SQLITE_MINUTE.format(t=at)
    bucket = _SQLITE_BUCKET.format(us=us)
    return f"""
  INSERT INTO job_minute_times (team_id, minute, queue, kind, bucket, count)
  VALUES (NEW.team_id, {minute}, NEW.queue, '{kind}', {bucket}, 1)
  ON CONFLICT (team_id, minute, queue, kind, bucket) DO UPDATE SET count = count + 1;"""


_SQLITE_STARTED = _sqlite_times(
    "wait", "NEW.started_at", "NEW.started_at - max(NEW.created_at, NEW.run_at)"
)
_SQLITE_ENDED = "coalesce(NEW.finished_at, NEW.updated_at)"

SQLITE_TRIGGERS = {
    "jobs_rollup_submitted": f"""
CREATE TRIGGER jobs_rollup_submitted AFTER INSERT ON jobs
BEGIN
  INSERT INTO job_minutes (team_id, minute, queue, submitted)
  VALUES (NEW.team_id, {_SQLITE_MINUTE.format(t="NEW.created_at")}, NEW.queue, 1)
  ON CONFLICT (team_id, minute, queue) DO UPDATE SET submitted = submitted + 1;
END""",
    "jobs_rollup_inserted_running": f"""
CREATE TRIGGER jobs_rollup_inserted_running AFTER INSERT ON jobs
WHEN NEW.state = 'running' AND NEW.started_at IS NOT NULL
BEGIN{_SQLITE_STARTED}
END""",
    "jobs_rollup_started": f"""
CREATE TRIGGER jobs_rollup_started AFTER UPDATE OF state ON jobs
WHEN NEW.state = 'running' AND OLD.state <> 'running' AND NEW.started_at IS NOT NULL
BEGIN{_SQLITE_STARTED}
END""",
    "jobs_rollup_ran": f"""
CREATE TRIGGER jobs_rollup_ran AFTER UPDATE OF state ON jobs
WHEN OLD.state = 'running' AND NEW.state NOT IN ('running', 'queued')
  AND OLD.started_at IS NOT NULL
BEGIN{_sqlite_times("run", _SQLITE_ENDED, f"{_SQLITE_ENDED} - OLD.started_at")}
END""",
    "jobs_rollup_finished": f"""
CREATE TRIGGER jobs_rollup_finished AFTER UPDATE OF state ON jobs
WHEN NEW.state IN {FINISHED} AND OLD.state NOT IN {FINISHED}
BEGIN
  INSERT INTO job_minutes (team_id, minute, queue, succeeded, failed, cancelled)
  VALUES (NEW.team_id, {_SQLITE_MINUTE.format(t=_SQLITE_ENDED)}, NEW.queue,
          NEW.state = 'succeeded', NEW.state = 'dead', NEW.state = 'cancelled')
  ON CONFLICT (team_id, minute, queue) DO UPDATE SET
    succeeded = succeeded + excluded.succeeded,
    failed = failed + excluded.failed,
    cancelled = cancelled + excluded.cancelled;
END""",
}

# -- PostgreSQL: statement-level triggers over the transition tables. ----------------

_PG_BUCKET = "conveyor_rollup_bucket(extract(epoch FROM {d}))"
_PG_TIMES_UPSERT = """
  ON CONFLICT (team_id, minute, queue, kind, bucket) DO UPDATE SET count = t.count + excluded.count"""

PG_FUNCTIONS = {
    "conveyor_rollup_bucket": """
CREATE FUNCTION conveyor_rollup_bucket(seconds numeric) RETURNS smallint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT least(159, greatest(0, floor(4 * ln(greatest(seconds * 1000, 1)) / ln(2))))::smallint
$$""",
    "conveyor_jobs_rollup_inserted": f"""
CREATE FUNCTION conveyor_jobs_rollup_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO job_minutes AS m (team_id, minute, queue, submitted)
  SELECT team_id, date_trunc('minute', created_at), queue, count(*)
  FROM new_jobs GROUP BY 1, 2, 3
  ON CONFLICT (team_id, minute, queue) DO UPDATE SET submitted = m.submitted + excluded.submitted;
  -- A submit that hands its jobs straight to an idle agent inserts them running.
  INSERT INTO job_minute_times AS t (team_id, minute, queue, kind, bucket, count)
  SELECT team_id, date_trunc('minute', started_at), queue, 'wait',
         {_PG_BUCKET.format(d="started_at - greatest(created_at, run_at)")}, count(*)
  FROM new_jobs WHERE state = 'running' AND started_at IS NOT NULL
  GROUP BY 1, 2, 3, 5{_PG_TIMES_UPSERT};
  RETURN NULL;
END
$$""",
    "conveyor_jobs_rollup_updated": f"""
CREATE FUNCTION conveyor_jobs_rollup_updated() RETURNS trigger LANGUAGE plpgsql
-- Transition tables have no statistics: the planner would join a bulk update's 10,000
-- old and new rows in a nested loop (10^8 comparisons per join). Hash them instead.
SET enable_nestloop = off AS $$
BEGIN
  INSERT INTO job_minute_times AS t (team_id, minute, queue, kind, bucket, count)
  SELECT n.team_id, date_trunc('minute', n.started_at), n.queue, 'wait',
         {_PG_BUCKET.format(d="n.started_at - greatest(n.created_at, n.run_at)")}, count(*)
  FROM new_jobs n JOIN old_jobs o ON o.seq = n.seq
  WHERE n.state = 'running' AND o.state <> 'running' AND n.started_at IS NOT NULL
  GROUP BY 1, 2, 3, 5
  UNION ALL
  SELECT n.team_id, date_trunc('minute', coalesce(n.finished_at, n.updated_at)), n.queue, 'run',
         {_PG_BUCKET.format(d="coalesce(n.finished_at, n.updated_at) - o.started_at")}, count(*)
  FROM new_jobs n JOIN old_jobs o ON o.seq = n.seq
  WHERE o.state = 'running' AND n.state NOT IN ('running', 'queued') AND o.started_at IS NOT NULL
  GROUP BY 1, 2, 3, 5{_PG_TIMES_UPSERT};
  INSERT INTO job_minutes AS m (team_id, minute, queue, succeeded, failed, cancelled)
  SELECT n.team_id, date_trunc('minute', coalesce(n.finished_at, n.updated_at)), n.queue,
         count(*) FILTER (WHERE n.state = 'succeeded'),
         count(*) FILTER (WHERE n.state = 'dead'),
         count(*) FILTER (WHERE n.state = 'cancelled')
  FROM new_jobs n JOIN old_jobs o ON o.seq = n.seq
  WHERE n.state IN {FINISHED} AND o.state NOT IN {FINISHED}
  GROUP BY 1, 2, 3
  ON CONFLICT (team_id, minute, queue) DO UPDATE SET
    succeeded = m.succeeded + excluded.succeeded,
    failed = m.failed + excluded.failed,
    cancelled = m.cancelled + excluded.cancelled;
  RETURN NULL;
END
$$""",
}

PG_TRIGGERS = {
    "jobs_rollup_inserted": """
CREATE TRIGGER jobs_rollup_inserted AFTER INSERT ON jobs
REFERENCING NEW TABLE AS new_jobs
FOR EACH STATEMENT EXECUTE FUNCTION conveyor_jobs_rollup_inserted()""",
    # Transition tables allow no column list (UPDATE OF state): the function's joins
    # find nothing for the updates that leave the state as it was (heartbeats).
    "jobs_rollup_updated": """
CREATE TRIGGER jobs_rollup_updated AFTER UPDATE ON jobs
REFERENCING OLD TABLE AS old_jobs NEW TABLE AS new_jobs
FOR EACH STATEMENT EXECUTE FUNCTION conveyor_jobs_rollup_updated()""",
}


def _key() -> list[sa.Column[object]]:
    return [
        sa.Column("team_id", ct.GUID(), primary_key=True),
        sa.Column("minute", ct.Timestamp(), primary_key=True),
        sa.Column("queue", sa.String(100), primary_key=True),
    ]


def upgrade() -> None:
    op.create_table(
        "job_minutes",
        *_key(),
        *(
            sa.Column(name, sa.Integer(), nullable=False, server_default="0")
            for name in ("submitted", "succeeded", "failed", "cancelled")
        ),
    )
    op.create_table(
        "job_minute_times",
        *_key(),
        sa.Column("kind", sa.String(4), primary_key=True),
        sa.Column("bucket", sa.SmallInteger(), primary_key=True),
        sa.Column("count", sa.Integer(), nullable=False),
    )
    op.create_index("ix_job_minute_times_minute", "job_minute_times", ["minute"])
    op.create_table(
        "job_hour_times",
        sa.Column("team_id", ct.GUID(), primary_key=True),
        sa.Column("hour", ct.Timestamp(), primary_key=True),
        sa.Column("queue", sa.String(100), primary_key=True),
        sa.Column("kind", sa.String(4), primary_key=True),
        sa.Column("bucket", sa.SmallInteger(), primary_key=True),
        sa.Column("count", sa.BigInteger(), nullable=False),
    )
    unfinished = sa.text("state IN ('pending', 'scheduled', 'queued', 'running')")
    op.create_index("ix_jobs_unfinished", "jobs", ["team_id", "queue", "state"],
                    sqlite_where=unfinished, postgresql_where=unfinished)  # fmt: skip
    if op.get_bind().dialect.name == "postgresql":
        statements = [*PG_FUNCTIONS.values(), *PG_TRIGGERS.values()]
    else:
        statements = list(SQLITE_TRIGGERS.values())
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in PG_TRIGGERS:
            op.execute(f"DROP TRIGGER {name} ON jobs")
        for name in reversed(list(PG_FUNCTIONS)):
            op.execute(f"DROP FUNCTION {name}")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
    op.drop_index("ix_jobs_unfinished", table_name="jobs")
    op.drop_table("job_hour_times")
    op.drop_index("ix_job_minute_times_minute", table_name="job_minute_times")
    op.drop_table("job_minute_times")
    op.drop_table("job_minutes")
