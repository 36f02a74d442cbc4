"""idempotency keys held after their job finishes: unique per team among all jobs

Until now a key was unique only among unfinished jobs, so a submit retried after
its job had finished made a second job. From this revision a job keeps its key
after it finishes; the store forgets it (sets it to NULL) once the idempotency
window has passed and the key is used again (see store/queries/submit.py).

Expand only: the old partial index stays, so a server of the previous version
still finds its ON CONFLICT target; such a server answers an error instead of
a second job when a key of a finished job is reused. Finished jobs that share a
key with an unfinished or a newer job of their team lose it first (one holder per
key; under the old rule those keys were already free).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None
# Rolling upgrades (docs/operations.md): servers of the previous revision run on this one.
expand_only = True

HELD = "idempotency_key IS NOT NULL"


def upgrade() -> None:
    # A finished job keeps its key only when no other job of its team holds it unfinished
    # (a dead job retried under the old rule may be older than a finished one) and none
    # newer holds it: afterwards each key has one holder.
    op.execute(
        "UPDATE jobs SET idempotency_key = NULL "
        "WHERE idempotency_key IS NOT NULL "
        "AND state IN ('succeeded', 'cancelled', 'dead') "
        "AND EXISTS (SELECT 1 FROM jobs AS other "
        "WHERE other.team_id = jobs.team_id "
        "AND other.idempotency_key = jobs.idempotency_key "
        "AND other.id <> jobs.id "
        "AND (other.state NOT IN ('succeeded', 'cancelled', 'dead') OR other.seq > jobs.seq))"
    )
    op.create_index(
        "ix_jobs_idempotency_key",
        "jobs",
        ["team_id", "idempotency_key"],
        unique=True,
        sqlite_where=sa.text(HELD),
        postgresql_where=sa.text(HELD),
    )


def downgrade() -> None:
    op.drop_index("ix_jobs_idempotency_key", table_name="jobs")
