"""Agents of a team: connect (one row per name, so an id survives reconnects), leave, drain.

Each change writes an ``agent`` event so live views follow the fleet.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from conveyor.errors import NotFound
from conveyor.protocol import ActionOffer
from conveyor.store.queries.catalog import upsert_offers
from conveyor.store.queries.listing import CONTROL, emit_events
from conveyor.store.records import Agent
from conveyor.store.schema import agents, jobs
from conveyor.store.transaction import Tx
from conveyor.store.types import at, plus_seconds

_SLOTS_BUSY = (  # the jobs running on the agent now (ix_jobs_team_state finds the team's)
    sa.select(sa.func.count())
    .where(jobs.c.team_id == agents.c.team_id, jobs.c.state == "running")
    .where(jobs.c.agent_id == agents.c.id)
    .scalar_subquery()
    .label("slots_busy")
)
_AGENT_COLUMNS: list[sa.ColumnElement[Any]] = [
    *(agents.c[name] for name in Agent.__slots__ if name != "slots_busy"),
    _SLOTS_BUSY,
]


def connect(
    tx: Tx,
    team_id: uuid.UUID,
    *,
    name: str,
    labels: dict[str, str],
    slots: int,
    version: str,
    queues: list[str],
    actions: Sequence[ActionOffer],
    key_id: uuid.UUID | None,
    user_id: uuid.UUID | None,
    host: str = "",
) -> uuid.UUID:
    """Upsert the agent by (team, name) and its offers into the catalog.

    There is no unique key on (team, name); on PostgreSQL a transaction lock on
    the name makes two replicas that see the same agent at once agree on one row.
    ``draining`` is kept: an operator's drain outlives a reconnect.
    """
    if tx.dialect == "postgresql":
        lock_key = sa.func.hashtextextended(f"conveyor.agent:{team_id}:{name}", 0)
        tx.conn.execute(sa.select(sa.func.pg_advisory_xact_lock(lock_key)))
    now = at(tx.now)
    values: dict[str, Any] = {
        "labels": labels,
        "slots": slots,
        "version": version,
        "host": host,
        "queues": list(queues),
        "actions": [
            {"name": a.name, "schema_hash": a.schema_hash, "kind": a.kind} for a in actions
        ],
        "key_id": key_id,
        "user_id": user_id,
        "connected_at": now,
        "last_seen_at": now,
        "disconnected_at": None,
    }
    agent_id = tx.conn.execute(
        sa.update(agents)
        .where(agents.c.team_id == team_id, agents.c.name == name)
        .values(values)
        .returning(agents.c.id)
    ).scalar()
    if agent_id is None:
        agent_id = uuid.uuid4()
        tx.conn.execute(
            sa.insert(agents).values(
                id=agent_id, team_id=team_id, name=name, created_at=now, **values
            )
        )
    upsert_offers(tx, team_id, actions)
    emit_events(tx, "agent", [(team_id, agent_id, {"name": name, "connected": True})])
    return agent_id


def disconnect(
    tx: Tx, team_id: uuid.UUID, agent_id: uuid.UUID, connected_at: datetime | None
) -> None:
    """Mark the agent gone; with ``connected_at``, only if that connection is still its latest
    (a replica noticing an old socket close must not undo a reconnect elsewhere)."""
    now = at(tx.now)
    query = sa.update(agents).where(
        agents.c.team_id == team_id, agents.c.id == agent_id, agents.c.disconnected_at.is_(None)
    )
    if connected_at is not None:
        query = query.where(agents.c.connected_at == connected_at)
    name = tx.conn.execute(
        query.values(disconnected_at=now, last_seen_at=now).returning(agents.c.name)
    ).scalar()
    if name is not None:
        emit_events(tx, "agent", [(team_id, agent_id, {"name": name, "connected": False})])


def seen(tx: Tx, team_id: uuid.UUID, agent_ids: list[uuid.UUID]) -> None:
    """Heartbeat of the connections themselves: one statement, no event (too chatty)."""
    if agent_ids:
        tx.conn.execute(
            sa.update(agents)
            .where(agents.c.team_id == team_id, agents.c.id.in_(agent_ids))
            .values(last_seen_at=at(tx.now))
        )


def list_agents(tx: Tx, team_id: uuid.UUID) -> list[Agent]:
    rows = tx.conn.execute(
        sa.select(*_AGENT_COLUMNS).where(agents.c.team_id == team_id).order_by(agents.c.name)
    )
    return [Agent.from_row(row) for row in rows]


def get_agent(tx: Tx, team_id: uuid.UUID, agent_id: uuid.UUID) -> Agent:
    row = tx.conn.execute(
        sa.select(*_AGENT_COLUMNS).where(agents.c.team_id == team_id, agents.c.id == agent_id)
    ).first()
    if row is None:
        raise NotFound(f"agent {agent_id} not found", agent_id=str(agent_id))
    return Agent.from_row(row)


def set_draining(tx: Tx, team_id: uuid.UUID, agent_id: uuid.UUID, draining: bool) -> Agent:
    changed = tx.conn.execute(  # SQLite's RETURNING takes no subquery: read it back
        sa.update(agents)
        .where(agents.c.team_id == team_id, agents.c.id == agent_id)
        .values(draining=draining)
        .returning(agents.c.id)
    ).first()
    if changed is None:
        raise NotFound(f"agent {agent_id} not found", agent_id=str(agent_id))
    agent = get_agent(tx, team_id, agent_id)
    emit_events(tx, "agent", [(team_id, agent_id, {"name": agent.name, "draining": draining})])
    if draining:  # pushed by the replica holding the agent's connection (see the hub)
        emit_events(tx, CONTROL, [(team_id, agent_id, {"agent_id": str(agent_id), "drain": True})])
    return agent


def prune_offline(tx: Tx, keep: timedelta, limit: int) -> int:
    """Delete up to ``limit`` agents not heard from for ``keep``: disconnected that long,
    or never disconnected but silent that long (their replica died). Their jobs and
    attempts keep the agent's id; an agent that comes back gets a new row."""
    gone = sa.func.coalesce(agents.c.disconnected_at, agents.c.last_seen_at, agents.c.created_at)
    old = plus_seconds(gone, keep.total_seconds()) <= at(tx.now)
    picked = tx.conn.execute(sa.select(agents.c.id).where(old).limit(limit)).scalars().all()
    if not picked:
        return 0
    gone_rows = tx.conn.execute(  # re-checked: an agent that reconnected meanwhile stays
        sa.delete(agents)
        .where(agents.c.id.in_(picked), old)
        .returning(agents.c.id, agents.c.team_id, agents.c.name)
    ).all()
    emit_events(
        tx, "agent", [(r.team_id, r.id, {"name": r.name, "pruned": True}) for r in gone_rows]
    )
    return len(gone_rows)
