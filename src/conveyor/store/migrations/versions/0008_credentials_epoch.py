"""credentials epoch: a password change or reset ends the user's other access tokens

Expand-only: two columns with defaults, so a server of the previous version keeps
running on this schema (it neither reads nor bumps them).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import conveyor.store.types as ct

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None
# Rolling upgrades (docs/operations.md): servers of the previous revision run on this one.
expand_only = True


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("credentials_epoch", sa.Integer(), server_default="0", nullable=False)
        )
        batch.add_column(sa.Column("credentials_kept_session", ct.GUID(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("credentials_kept_session")
        batch.drop_column("credentials_epoch")
