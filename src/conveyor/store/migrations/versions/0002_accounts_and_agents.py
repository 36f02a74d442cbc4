"""accounts, API keys, refresh tokens, signing keys; what agents offer

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import conveyor.store.types as ct

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None
# Rolling upgrades (docs/operations.md): servers of the previous revision run on this one.
expand_only = True


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("is_superuser", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("agents") as batch:
        batch.add_column(sa.Column("actions", ct.JSONDoc, nullable=True))
        batch.add_column(sa.Column("queues", ct.JSONDoc, nullable=True))
        batch.add_column(sa.Column("key_id", ct.GUID(), nullable=True))
        batch.add_column(sa.Column("user_id", ct.GUID(), nullable=True))
        batch.add_column(sa.Column("disconnected_at", ct.Timestamp(), nullable=True))

    op.create_table(
        "team_members",
        sa.Column("team_id", ct.GUID(), nullable=False),
        sa.Column("user_id", ct.GUID(), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("created_at", ct.Timestamp(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_team_members_team_id_teams")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_team_members_user_id_users")
        ),
        sa.PrimaryKeyConstraint("team_id", "user_id", name=op.f("pk_team_members")),
    )
    op.create_index(op.f("ix_team_members_user_id"), "team_members", ["user_id"], unique=False)

    op.create_table(
        "api_keys",
        sa.Column("id", ct.GUID(), nullable=False),
        sa.Column("team_id", ct.GUID(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("prefix", sa.String(length=32), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", ct.JSONDoc, nullable=False),
        sa.Column("created_by", ct.GUID(), nullable=True),
        sa.Column("created_at", ct.Timestamp(), nullable=False),
        sa.Column("expires_at", ct.Timestamp(), nullable=True),
        sa.Column("last_used_at", ct.Timestamp(), nullable=True),
        sa.Column("revoked_at", ct.Timestamp(), nullable=True),
        sa.CheckConstraint("kind IN ('agent', 'client')", name=op.f("ck_api_keys_kind_known")),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_api_keys_team_id_teams")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_keys_prefix")),
    )
    op.create_index(op.f("ix_api_keys_team_id"), "api_keys", ["team_id"], unique=False)

    op.create_table(
        "refresh_tokens",
        sa.Column("id", ct.GUID(), nullable=False),
        sa.Column("user_id", ct.GUID(), nullable=False),
        sa.Column("family_id", ct.GUID(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", ct.Timestamp(), nullable=False),
        sa.Column("expires_at", ct.Timestamp(), nullable=False),
        sa.Column("used_at", ct.Timestamp(), nullable=True),
        sa.Column("revoked_at", ct.Timestamp(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_refresh_tokens_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refresh_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_refresh_tokens_token_hash")),
    )
    op.create_index(
        op.f("ix_refresh_tokens_family_id"), "refresh_tokens", ["family_id"], unique=False
    )
    op.create_index(op.f("ix_refresh_tokens_user_id"), "refresh_tokens", ["user_id"], unique=False)

    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.Column("created_at", ct.Timestamp(), nullable=False),
        sa.Column("retired_at", ct.Timestamp(), nullable=True),
        sa.PrimaryKeyConstraint("kid", name=op.f("pk_signing_keys")),
    )


def downgrade() -> None:
    op.drop_table("signing_keys")
    op.drop_index(op.f("ix_refresh_tokens_user_id"), table_name="refresh_tokens")
    op.drop_index(op.f("ix_refresh_tokens_family_id"), table_name="refresh_tokens")
    op.drop_table("refresh_tokens")
    op.drop_index(op.f("ix_api_keys_team_id"), table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_index(op.f("ix_team_members_user_id"), table_name="team_members")
    op.drop_table("team_members")
    with op.batch_alter_table("agents") as batch:
        for column in ("disconnected_at", "user_id", "key_id", "queues", "actions"):
            batch.drop_column(column)
    with op.batch_alter_table("users") as batch:
        batch.drop_column("is_superuser")
