"""flow control: queue and rate-key rate limits, queue and action concurrency limits, fair queues

- ``queues.rate_count`` / ``queues.rate_interval_s``: at most ``rate_count`` starts per
  ``rate_interval_s`` seconds (a sliding window), replacing ``rate_limit_per_s``,
  which nothing ever read or wrote; ``queues.fair``: share the queue's agents across
  ``jobs.fair_key``.
- ``action_limits``: a team's concurrency limit per action name.
- ``rate_limits``: a team's limit per ``jobs.rate_key``.
- ``rate_starts``: the starts of the last window of every rate-limited queue and key
  (scope ``queue:<name>`` or ``key:<rate key>``), what the claim counts; pruned by it.
- ``jobs.rate_key``, ``jobs.fair_key`` and ``ix_jobs_fair`` (only jobs with a fair key).

The claim takes the locks of queue, action and rate-limit rows only when one is
configured (queries/flow.py). Dropping ``rate_limit_per_s`` is safe for a server of
the previous version: it never named the column.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import conveyor.store.types as ct

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None
# A contract step: it drops queues.rate_limit_per_s, which servers of 0011 (and older)
# never named, so they run on this revision (docs/operations.md, rolling upgrades).
expand_only = False
oldest_server = "0011"


def upgrade() -> None:
    with op.batch_alter_table("queues", recreate="never") as batch:
        batch.drop_column("rate_limit_per_s")
    with op.batch_alter_table("queues") as batch:
        batch.add_column(sa.Column("rate_count", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("rate_interval_s", sa.Float(), nullable=True))
        batch.add_column(sa.Column("fair", sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table("jobs", recreate="never") as batch:
        batch.add_column(sa.Column("rate_key", sa.String(200), nullable=True))
        batch.add_column(sa.Column("fair_key", sa.String(200), nullable=True))
    op.create_index(
        "ix_jobs_fair",
        "jobs",
        ["team_id", "queue", "fair_key", sa.text("priority DESC"), "run_at", "seq"],
        unique=False,
        sqlite_where=sa.text("state = 'queued' AND fair_key IS NOT NULL"),
        postgresql_where=sa.text("state = 'queued' AND fair_key IS NOT NULL"),
    )
    op.create_table(
        "action_limits",
        sa.Column("team_id", ct.GUID(), sa.ForeignKey("teams.id"), primary_key=True),
        sa.Column("action", sa.String(200), primary_key=True),
        sa.Column("concurrency_limit", sa.Integer(), nullable=False),
    )
    op.create_table(
        "rate_limits",
        sa.Column("team_id", ct.GUID(), sa.ForeignKey("teams.id"), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("interval_s", sa.Float(), nullable=False),
    )
    op.create_table(
        "rate_starts",
        sa.Column("team_id", ct.GUID(), primary_key=True),
        sa.Column("scope", sa.String(210), primary_key=True),
        sa.Column("started_at", ct.Timestamp(), primary_key=True),
        sa.Column("job_id", ct.GUID(), primary_key=True),
    )


def downgrade() -> None:
    op.drop_table("rate_starts")
    op.drop_table("rate_limits")
    op.drop_table("action_limits")
    op.drop_index("ix_jobs_fair", table_name="jobs")
    with op.batch_alter_table("jobs", recreate="never") as batch:
        batch.drop_column("fair_key")
        batch.drop_column("rate_key")
    with op.batch_alter_table("queues", recreate="never") as batch:
        batch.drop_column("fair")
        batch.drop_column("rate_interval_s")
        batch.drop_column("rate_count")
    with op.batch_alter_table("queues") as batch:
        batch.add_column(sa.Column("rate_limit_per_s", sa.Float(), nullable=True))
