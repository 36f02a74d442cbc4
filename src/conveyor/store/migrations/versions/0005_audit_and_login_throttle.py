"""audit log; failed-login counters for rate limits

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import conveyor.store.types as ct

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None
# Rolling upgrades (docs/operations.md): servers of the previous revision run on this one.
expand_only = True


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("seq", ct.BigSerial, autoincrement=True, nullable=False),
        sa.Column("id", ct.GUID(), nullable=False),
        sa.Column("team_id", ct.GUID(), nullable=True),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("actor_id", ct.GUID(), nullable=True),
        sa.Column("actor_display", sa.String(length=320), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("object_type", sa.String(length=32), nullable=True),
        sa.Column("object_id", sa.String(length=255), nullable=True),
        sa.Column("outcome", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("client_addr", sa.String(length=64), nullable=True),
        sa.Column("details", ct.JSONDoc, nullable=True),
        sa.Column("created_at", ct.Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
        sa.UniqueConstraint("id", name=op.f("uq_audit_log_id")),
    )
    op.create_index("ix_audit_log_team_seq", "audit_log", ["team_id", "seq"], unique=False)
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", ct.Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_throttle")),
    )


def downgrade() -> None:
    op.drop_table("login_throttle")
    op.drop_index("ix_audit_log_team_seq", table_name="audit_log")
    op.drop_table("audit_log")
