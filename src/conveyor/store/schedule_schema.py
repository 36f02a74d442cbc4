"""The schedules' tables (revision 0011), kept beside ``schema.py`` to keep each file short.

``schedule_ticks`` has no foreign key to ``jobs``: a tick outlives its job's
retention, since its primary key (schedule, fire time) is what makes each tick fire
exactly once, long after job ids and idempotency keys are gone.
"""

from __future__ import annotations

import sqlalchemy as sa

from conveyor import bounds
from conveyor.store.types import GUID, JSONDoc, Timestamp

MISFIRE_POLICIES = ("catch_up", "latest", "skip")
OVERLAP_POLICIES = ("allow", "skip", "cancel_previous")


def schedule_tables(metadata: sa.MetaData) -> tuple[sa.Table, sa.Table]:
    schedules = sa.Table(
        "schedules",
        metadata,
        sa.Column("id", GUID(), primary_key=True),
        sa.Column("team_id", GUID(), sa.ForeignKey("teams.id"), nullable=False),
        sa.Column("name", sa.String(bounds.SCHEDULE_NAME_MAX), nullable=False),
        sa.Column(
            "description",
            sa.String(bounds.SCHEDULE_DESCRIPTION_MAX),
            nullable=False,
            server_default="",
        ),
        sa.Column("action", sa.String(200), nullable=False),
        sa.Column("params", JSONDoc, nullable=False),
        sa.Column("queue", sa.String(100), nullable=False),
        sa.Column("priority", sa.SmallInteger(), nullable=False),
        sa.Column("labels", JSONDoc, nullable=False),
        sa.Column("max_attempts", sa.Integer()),
        sa.Column("timeout_s", sa.Float()),
        sa.Column("cron", sa.String(bounds.CRON_MAX), nullable=False),
        sa.Column("timezone", sa.String(bounds.TIMEZONE_MAX), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("misfire_policy", sa.String(16), nullable=False),
        sa.Column("catchup_window_s", sa.Integer(), nullable=False),
        sa.Column("overlap", sa.String(16), nullable=False),
        sa.Column("run_as_key_id", GUID()),
        sa.Column("created_by", GUID()),  # the user who created it, or
        sa.Column("created_by_key", GUID()),  # the API key: whose rights a tick uses
        sa.Column("created_at", Timestamp(), nullable=False),
        sa.Column("updated_at", Timestamp(), nullable=False),
        # The next tick to handle; the scheduler's due scan reads it (NULL: never again).
        sa.Column("next_fire_at", Timestamp()),
        sa.UniqueConstraint("team_id", "name"),
        sa.CheckConstraint(f"misfire_policy IN {MISFIRE_POLICIES!r}", name="misfire_known"),
        sa.CheckConstraint(f"overlap IN {OVERLAP_POLICIES!r}", name="overlap_known"),
        sa.Index("ix_schedules_due", "next_fire_at"),
    )
    ticks = sa.Table(
        "schedule_ticks",
        metadata,
        sa.Column("schedule_id", GUID(), sa.ForeignKey("schedules.id"), primary_key=True),
        sa.Column("fire_at", Timestamp(), primary_key=True),
        sa.Column("team_id", GUID(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),  # cron | manual
        sa.Column("outcome", sa.String(16), nullable=False),  # submitted | skipped
        sa.Column("skip_reason", sa.String(32)),
        sa.Column("message", sa.String(bounds.TEXT_MAX)),
        sa.Column("job_id", GUID()),  # no foreign key: the tick outlives the job
        sa.Column("created_at", Timestamp(), nullable=False),
    )
    return schedules, ticks
