"""The flow-control tables (revision 0012), kept beside ``schema.py`` to keep each file short.

Limits per action and per rate key, locked by claimers like ``concurrency_keys``;
``rate_starts`` holds each rate scope's starts within its window (queries/flow.py).
"""

from __future__ import annotations

import sqlalchemy as sa

from conveyor.store.types import GUID, Timestamp


def flow_tables(metadata: sa.MetaData) -> tuple[sa.Table, sa.Table, sa.Table]:
    action_limits = sa.Table(
        "action_limits",
        metadata,
        sa.Column("team_id", GUID(), sa.ForeignKey("teams.id"), primary_key=True),
        sa.Column("action", sa.String(200), primary_key=True),
        sa.Column("concurrency_limit", sa.Integer(), nullable=False),
    )

    rate_limits = sa.Table(
        "rate_limits",
        metadata,
        sa.Column("team_id", GUID(), sa.ForeignKey("teams.id"), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("interval_s", sa.Float(), nullable=False),
    )

    rate_starts = sa.Table(
        "rate_starts",
        metadata,
        sa.Column("team_id", GUID(), primary_key=True),
        sa.Column("scope", sa.String(210), primary_key=True),
        sa.Column("started_at", Timestamp(), primary_key=True),
        sa.Column("job_id", GUID(), primary_key=True),
    )
    return action_limits, rate_limits, rate_starts
