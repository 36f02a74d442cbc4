"""custom roles per team, team invitations, requests to join a team, agent key limits

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import conveyor.store.types as ct

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None
# Rolling upgrades (docs/operations.md): servers of the previous revision run on this one.
expand_only = True

PENDING = "state = 'pending'"


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("limits", ct.JSONDoc, nullable=True))
    op.create_table(
        "team_roles",
        sa.Column("id", ct.GUID(), nullable=False),
        sa.Column("team_id", ct.GUID(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=500), server_default="", nullable=False),
        sa.Column("permissions", ct.JSONDoc, nullable=False),
        sa.Column("created_at", ct.Timestamp(), nullable=False),
        sa.Column("updated_at", ct.Timestamp(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_team_roles_team_id_teams")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_roles")),
        sa.UniqueConstraint("team_id", "name", name=op.f("uq_team_roles_team_id_name")),
    )
    op.create_table(
        "team_invites",
        sa.Column("id", ct.GUID(), nullable=False),
        sa.Column("team_id", ct.GUID(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("max_uses", sa.Integer(), nullable=True),
        sa.Column("uses", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_by", ct.GUID(), nullable=True),
        sa.Column("created_at", ct.Timestamp(), nullable=False),
        sa.Column("expires_at", ct.Timestamp(), nullable=False),
        sa.Column("revoked_at", ct.Timestamp(), nullable=True),
        sa.CheckConstraint(
            "max_uses IS NULL OR max_uses >= 1", name=op.f("ck_team_invites_max_uses_positive")
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_team_invites_team_id_teams")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_invites")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_team_invites_code_hash")),
    )
    op.create_index(op.f("ix_team_invites_team_id"), "team_invites", ["team_id"], unique=False)
    op.create_table(
        "team_join_requests",
        sa.Column("id", ct.GUID(), nullable=False),
        sa.Column("team_id", ct.GUID(), nullable=False),
        sa.Column("user_id", ct.GUID(), nullable=False),
        sa.Column("message", sa.String(length=500), server_default="", nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=True),
        sa.Column("decided_by", ct.GUID(), nullable=True),
        sa.Column("decided_at", ct.Timestamp(), nullable=True),
        sa.Column("created_at", ct.Timestamp(), nullable=False),
        sa.CheckConstraint(
            "state IN ('pending', 'accepted', 'rejected')",
            name=op.f("ck_team_join_requests_state_known"),
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_team_join_requests_team_id_teams")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_team_join_requests_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_join_requests")),
    )
    op.create_index(
        "ix_team_join_requests_team_id_state", "team_join_requests", ["team_id", "state"]
    )
    op.create_index(
        "ix_team_join_requests_open",
        "team_join_requests",
        ["team_id", "user_id"],
        unique=True,
        sqlite_where=sa.text(PENDING),
        postgresql_where=sa.text(PENDING),
    )


def downgrade() -> None:
    op.drop_index("ix_team_join_requests_open", table_name="team_join_requests")
    op.drop_index("ix_team_join_requests_team_id_state", table_name="team_join_requests")
    op.drop_table("team_join_requests")
    op.drop_index(op.f("ix_team_invites_team_id"), table_name="team_invites")
    op.drop_table("team_invites")
    op.drop_table("team_roles")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("limits")
