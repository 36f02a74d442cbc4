"""initial schema

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import conveyor.store.types as ct

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("seq", ct.BigSerial, autoincrement=True, nullable=False),
        sa.Column("team_id", ct.GUID(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("object_id", ct.GUID(), nullable=False),
        sa.Column("data", ct.JSONDoc, nullable=False),
        sa.Column("created_at", ct.Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_events")),
    )
    op.create_index("ix_events_team_seq", "events", ["team_id", "seq"], unique=False)

    op.create_table(
        "teams",
        sa.Column("id", ct.GUID(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", ct.Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teams")),
        sa.UniqueConstraint("slug", name=op.f("uq_teams_slug")),
    )
    op.create_table(
        "users",
        sa.Column("id", ct.GUID(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("display_name", sa.String(length=200), server_default="", nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("disabled_at", ct.Timestamp(), nullable=True),
        sa.Column("created_at", ct.Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "actions",
        sa.Column("team_id", ct.GUID(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("schema_hash", sa.String(length=64), nullable=False),
        sa.Column("params_schema", ct.JSONDoc, nullable=False),
        sa.Column("first_seen_at", ct.Timestamp(), nullable=False),
        sa.Column("last_seen_at", ct.Timestamp(), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_actions_team_id_teams")),
        sa.PrimaryKeyConstraint("team_id", "name", "schema_hash", name=op.f("pk_actions")),
    )
    op.create_table(
        "agents",
        sa.Column("id", ct.GUID(), nullable=False),
        sa.Column("team_id", ct.GUID(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("labels", ct.JSONDoc, nullable=False),
        sa.Column("slots", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=50), server_default="", nullable=False),
        sa.Column("connected_at", ct.Timestamp(), nullable=True),
        sa.Column("last_seen_at", ct.Timestamp(), nullable=True),
        sa.Column("draining", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", ct.Timestamp(), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_agents_team_id_teams")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agents")),
    )
    op.create_index(op.f("ix_agents_team_id"), "agents", ["team_id"], unique=False)

    op.create_table(
        "concurrency_keys",
        sa.Column("team_id", ct.GUID(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_concurrency_keys_team_id_teams")
        ),
        sa.PrimaryKeyConstraint("team_id", "key", name=op.f("pk_concurrency_keys")),
    )
    op.create_table(
        "jobs",
        sa.Column("seq", ct.BigSerial, autoincrement=True, nullable=False),
        sa.Column("id", ct.GUID(), nullable=False),
        sa.Column("team_id", ct.GUID(), nullable=False),
        sa.Column("action", sa.String(length=200), nullable=False),
        sa.Column("schema_hash", sa.String(length=64), nullable=True),
        sa.Column("params", ct.JSONDoc, nullable=False),
        sa.Column("params_hash", sa.String(length=64), nullable=False),
        sa.Column("queue", sa.String(length=100), nullable=False),
        sa.Column("priority", sa.SmallInteger(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("run_at", ct.Timestamp(), nullable=False),
        sa.Column("attempt", sa.Integer(), server_default="0", nullable=False),
        sa.Column("attempt_floor", sa.Integer(), server_default="0", nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("backoff_base_s", sa.Float(), nullable=False),
        sa.Column("backoff_max_s", sa.Float(), nullable=False),
        sa.Column("timeout_s", sa.Float(), nullable=True),
        sa.Column("lease_s", sa.Float(), nullable=False),
        sa.Column("cancel_grace_s", sa.Float(), nullable=False),
        sa.Column("labels", ct.JSONDoc, nullable=False),
        sa.Column("lease_token", ct.GUID(), nullable=True),
        sa.Column("lease_expires_at", ct.Timestamp(), nullable=True),
        sa.Column("deadline_at", ct.Timestamp(), nullable=True),
        sa.Column("agent_id", ct.GUID(), nullable=True),
        sa.Column("cancel_requested_at", ct.Timestamp(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("concurrency_key", sa.String(length=200), nullable=True),
        sa.Column("concurrency_limit", sa.Integer(), nullable=True),
        sa.Column("parent_id", ct.GUID(), nullable=True),
        sa.Column("pending_dependencies", sa.Integer(), server_default="0", nullable=False),
        sa.Column("progress", ct.JSONDoc, nullable=True),
        sa.Column("result", ct.JSONDoc, nullable=True),
        sa.Column("error", ct.JSONDoc, nullable=True),
        sa.Column("created_by", ct.GUID(), nullable=True),
        sa.Column("created_at", ct.Timestamp(), nullable=False),
        sa.Column("updated_at", ct.Timestamp(), nullable=False),
        sa.Column("started_at", ct.Timestamp(), nullable=True),
        sa.Column("finished_at", ct.Timestamp(), nullable=True),
        sa.CheckConstraint(
            "state IN ('pending', 'scheduled', 'queued', 'running', 'succeeded', 'dead', 'cancelled')",
            name=op.f("ck_jobs_state_known"),
        ),
        sa.CheckConstraint(
            "concurrency_key IS NULL OR concurrency_limit >= 1",
            name=op.f("ck_jobs_concurrency_limit_positive"),
        ),
        sa.CheckConstraint("max_attempts >= 1", name=op.f("ck_jobs_max_attempts_positive")),
        sa.CheckConstraint("priority BETWEEN -100 AND 100", name=op.f("ck_jobs_priority_range")),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_jobs_team_id_teams")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_jobs")),
        sa.UniqueConstraint("id", name=op.f("uq_jobs_id")),
    )
    op.create_index(
        "ix_jobs_claim",
        "jobs",
        ["team_id", "queue", sa.text("priority DESC"), "run_at", "seq"],
        unique=False,
        sqlite_where=sa.text("state = 'queued'"),
        postgresql_where=sa.text("state = 'queued'"),
    )
    op.create_index(
        "ix_jobs_deadline",
        "jobs",
        ["deadline_at"],
        unique=False,
        sqlite_where=sa.text("state = 'running' AND deadline_at IS NOT NULL"),
        postgresql_where=sa.text("state = 'running' AND deadline_at IS NOT NULL"),
    )
    op.create_index(
        "ix_jobs_due",
        "jobs",
        ["run_at"],
        unique=False,
        sqlite_where=sa.text("state = 'scheduled'"),
        postgresql_where=sa.text("state = 'scheduled'"),
    )
    op.create_index(
        "ix_jobs_idempotency",
        "jobs",
        ["team_id", "idempotency_key"],
        unique=True,
        sqlite_where=sa.text(
            "idempotency_key IS NOT NULL AND state IN ('pending', 'scheduled', 'queued', 'running')"
        ),
        postgresql_where=sa.text(
            "idempotency_key IS NOT NULL AND state IN ('pending', 'scheduled', 'queued', 'running')"
        ),
    )
    op.create_index(
        "ix_jobs_lease",
        "jobs",
        ["lease_expires_at"],
        unique=False,
        sqlite_where=sa.text("state = 'running'"),
        postgresql_where=sa.text("state = 'running'"),
    )
    op.create_index(
        "ix_jobs_parent",
        "jobs",
        ["parent_id"],
        unique=False,
        sqlite_where=sa.text("parent_id IS NOT NULL"),
        postgresql_where=sa.text("parent_id IS NOT NULL"),
    )
    op.create_index(
        "ix_jobs_running_key",
        "jobs",
        ["team_id", "concurrency_key"],
        unique=False,
        sqlite_where=sa.text("state = 'running' AND concurrency_key IS NOT NULL"),
        postgresql_where=sa.text("state = 'running' AND concurrency_key IS NOT NULL"),
    )
    op.create_index("ix_jobs_team_state", "jobs", ["team_id", "state", "seq"], unique=False)

    op.create_table(
        "queues",
        sa.Column("team_id", ct.GUID(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("paused", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("rate_limit_per_s", sa.Float(), nullable=True),
        sa.Column("concurrency_limit", sa.Integer(), nullable=True),
        sa.Column("created_at", ct.Timestamp(), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_queues_team_id_teams")),
        sa.PrimaryKeyConstraint("team_id", "name", name=op.f("pk_queues")),
    )
    op.create_table(
        "artifacts",
        sa.Column("job_id", ct.GUID(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("team_id", ct.GUID(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=200), nullable=False),
        sa.Column("storage_key", sa.String(length=500), nullable=False),
        sa.Column("published_at", ct.Timestamp(), nullable=True),
        sa.Column("created_at", ct.Timestamp(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_artifacts_job_id_jobs")),
        sa.PrimaryKeyConstraint("job_id", "name", name=op.f("pk_artifacts")),
    )
    op.create_table(
        "job_attempts",
        sa.Column("job_id", ct.GUID(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("team_id", ct.GUID(), nullable=False),
        sa.Column("agent_id", ct.GUID(), nullable=True),
        sa.Column("lease_token", ct.GUID(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("error", ct.JSONDoc, nullable=True),
        sa.Column("started_at", ct.Timestamp(), nullable=False),
        sa.Column("finished_at", ct.Timestamp(), nullable=True),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_job_attempts_job_id_jobs")),
        sa.PrimaryKeyConstraint("job_id", "attempt", name=op.f("pk_job_attempts")),
    )
    op.create_table(
        "job_dependencies",
        sa.Column("job_id", ct.GUID(), nullable=False),
        sa.Column("depends_on_id", ct.GUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["depends_on_id"], ["jobs.id"], name=op.f("fk_job_dependencies_depends_on_id_jobs")
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_job_dependencies_job_id_jobs")
        ),
        sa.PrimaryKeyConstraint("job_id", "depends_on_id", name=op.f("pk_job_dependencies")),
    )
    op.create_table(
        "job_logs",
        sa.Column("job_id", ct.GUID(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("chunk_seq", sa.Integer(), nullable=False),
        sa.Column("team_id", ct.GUID(), nullable=False),
        sa.Column("lines", ct.JSONDoc, nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", ct.Timestamp(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_job_logs_job_id_jobs")),
        sa.PrimaryKeyConstraint("job_id", "attempt", "chunk_seq", name=op.f("pk_job_logs")),
    )


def downgrade() -> None:
    op.drop_table("job_logs")
    op.drop_table("job_dependencies")
    op.drop_table("job_attempts")
    op.drop_table("artifacts")
    op.drop_table("queues")
    op.drop_table("jobs")
    op.drop_table("concurrency_keys")
    op.drop_table("agents")
    op.drop_table("actions")
    op.drop_table("users")
    op.drop_table("teams")
    op.drop_table("events")
