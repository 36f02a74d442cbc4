"""jobs.traceparent: the W3C trace context a job carries to its agent (conveyor.tracing)

Set at submit only while tracing is on; NULL otherwise. Adding a nullable column is
safe for a server of the previous version: it never names it.

Revision ID: 0014
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
expand_only = True  # only adds: servers of the previous revision run on it
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", recreate="never") as batch:
        batch.add_column(sa.Column("traceparent", sa.String(55), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs", recreate="never") as batch:
        batch.drop_column("traceparent")
