"""cron schedules: the schedules and their ticks; jobs record the tick that made them

``schedule_ticks``' primary key (schedule, fire time) is what makes each tick fire
exactly once on any number of replicas: the tick row is inserted in the
transaction of its job. It has no foreign key to ``jobs``, so job retention leaves
it in place.

Expand-only: new tables, two nullable columns on ``jobs`` and a partial index on
them (on PostgreSQL ``CREATE INDEX`` holds off writes to ``jobs`` while it builds).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from conveyor.store.types import GUID, JSONDoc, Timestamp

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None
# Rolling upgrades (docs/operations.md): servers of the previous revision run on this one.
expand_only = True


def upgrade() -> None:
    op.create_table(
        "schedules",
        sa.Column("id", GUID(), nullable=False),
        sa.Column("team_id", GUID(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("description", sa.String(2000), server_default="", nullable=False),
        sa.Column("action", sa.String(200), nullable=False),
        sa.Column("params", JSONDoc, nullable=False),
        sa.Column("queue", sa.String(100), nullable=False),
        sa.Column("priority", sa.SmallInteger(), nullable=False),
        sa.Column("labels", JSONDoc, nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=True),
        sa.Column("timeout_s", sa.Float(), nullable=True),
        sa.Column("cron", sa.String(200), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("paused", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("misfire_policy", sa.String(16), nullable=False),
        sa.Column("catchup_window_s", sa.Integer(), nullable=False),
        sa.Column("overlap", sa.String(16), nullable=False),
        sa.Column("run_as_key_id", GUID(), nullable=True),
        sa.Column("created_by", GUID(), nullable=True),
        sa.Column("created_by_key", GUID(), nullable=True),
        sa.Column("created_at", Timestamp(), nullable=False),
        sa.Column("updated_at", Timestamp(), nullable=False),
        sa.Column("next_fire_at", Timestamp(), nullable=True),
        sa.CheckConstraint(
            "misfire_policy IN ('catch_up', 'latest', 'skip')", name="ck_schedules_misfire_known"
        ),
        sa.CheckConstraint(
            "overlap IN ('allow', 'skip', 'cancel_previous')", name="ck_schedules_overlap_known"
        ),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name="fk_schedules_team_id_teams"),
        sa.PrimaryKeyConstraint("id", name="pk_schedules"),
        sa.UniqueConstraint("team_id", "name", name="uq_schedules_team_id_name"),
    )
    op.create_index("ix_schedules_due", "schedules", ["next_fire_at"], unique=False)
    op.create_table(
        "schedule_ticks",
        sa.Column("schedule_id", GUID(), nullable=False),
        sa.Column("fire_at", Timestamp(), nullable=False),
        sa.Column("team_id", GUID(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("skip_reason", sa.String(32), nullable=True),
        sa.Column("message", sa.String(500), nullable=True),
        sa.Column("job_id", GUID(), nullable=True),
        sa.Column("created_at", Timestamp(), nullable=False),
        sa.ForeignKeyConstraint(
            ["schedule_id"], ["schedules.id"], name="fk_schedule_ticks_schedule_id_schedules"
        ),
        sa.PrimaryKeyConstraint("schedule_id", "fire_at", name="pk_schedule_ticks"),
    )
    op.add_column("jobs", sa.Column("schedule_id", GUID(), nullable=True))
    op.add_column("jobs", sa.Column("schedule_fire_at", Timestamp(), nullable=True))
    op.create_index(
        "ix_jobs_schedule",
        "jobs",
        ["schedule_id", "seq"],
        unique=False,
        sqlite_where=sa.text("schedule_id IS NOT NULL"),
        postgresql_where=sa.text("schedule_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_jobs_schedule", table_name="jobs")
    # Plain ALTER TABLE on both dialects: a batch copy would rebuild ``jobs`` on SQLite
    # and lose what its indexes say (``priority DESC``).
    op.execute("ALTER TABLE jobs DROP COLUMN schedule_fire_at")
    op.execute("ALTER TABLE jobs DROP COLUMN schedule_id")
    op.drop_table("schedule_ticks")
    op.drop_index("ix_schedules_due", table_name="schedules")
    op.drop_table("schedules")
