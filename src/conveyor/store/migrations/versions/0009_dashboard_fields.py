"""what the dashboard shows: who submitted a job, an agent's host, an action's description

- ``jobs.created_by_key``: the API key that submitted the job (``created_by`` already
  holds the user of a login); jobs submitted before this revision by a key have neither.
- ``agents.host``: the hostname the agent reports in its hello ("" until it does).
- ``actions.description``: what the agent says the action does (a task's docstring, a
  TOML action's ``description``), the newest offer's.

Expand-only: nullable or defaulted columns, so a server of the previous version keeps
running on this schema (it neither reads nor writes them).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import conveyor.store.types as ct

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None
# Rolling upgrades (docs/operations.md): servers of the previous revision run on this one.
expand_only = True


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("created_by_key", ct.GUID(), nullable=True))
    with op.batch_alter_table("agents") as batch:
        batch.add_column(sa.Column("host", sa.String(255), server_default="", nullable=False))
    with op.batch_alter_table("actions") as batch:
        batch.add_column(
            sa.Column("description", sa.String(4096), server_default="", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("actions") as batch:
        batch.drop_column("description")
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("host")
    # Not a copy of the table: SQLite's batch would rebuild ix_jobs_claim without its
    # ``priority DESC``. SQLite drops a column in place since 3.35 (RETURNING needs it too).
    with op.batch_alter_table("jobs", recreate="never") as batch:
        batch.drop_column("created_by_key")
