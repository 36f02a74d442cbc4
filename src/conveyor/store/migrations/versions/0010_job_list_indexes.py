"""indexes for the job list: newest first for a team, and by action

``GET /api/v1/jobs`` pages newest first (``ORDER BY seq DESC``). Without a
``(team_id, seq)`` index SQLite found the team's jobs by ``ix_jobs_team_state`` and
sorted all of them for every first page (seconds at a million jobs); PostgreSQL
walked the primary key backwards, skipping other teams' jobs. With an action
filter, ``(team_id, action, seq)`` reads the newest of that action directly; with
a state too, either this or ``ix_jobs_team_state`` does (``make bench-api``,
``docs/benchmarks.md``).

Expand-only. On PostgreSQL ``CREATE INDEX`` holds off writes to ``jobs`` while it
builds (seconds per million jobs); run the migration before the new servers start.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None
# Rolling upgrades (docs/operations.md): servers of the previous revision run on this one.
expand_only = True


def upgrade() -> None:
    op.create_index("ix_jobs_team_seq", "jobs", ["team_id", "seq"], unique=False)
    op.create_index("ix_jobs_team_action", "jobs", ["team_id", "action", "seq"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_jobs_team_action", table_name="jobs")
    op.drop_index("ix_jobs_team_seq", table_name="jobs")
