"""indexes for retention: old finished jobs, dependency edges by target

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None
# Rolling upgrades (docs/operations.md): servers of the previous revision run on this one.
expand_only = True

FINISHED = "state IN ('succeeded', 'cancelled', 'dead')"


def upgrade() -> None:
    op.create_index(
        "ix_jobs_finished",
        "jobs",
        ["state", "finished_at"],
        unique=False,
        sqlite_where=sa.text(FINISHED),
        postgresql_where=sa.text(FINISHED),
    )
    op.create_index(
        op.f("ix_job_dependencies_depends_on_id"),
        "job_dependencies",
        ["depends_on_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_job_dependencies_depends_on_id"), table_name="job_dependencies")
    op.drop_index("ix_jobs_finished", table_name="jobs")
