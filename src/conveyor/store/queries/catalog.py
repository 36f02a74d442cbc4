"""The action catalog: every (action, schema version) an agent of the team offered.

Kept after the agents leave, so a job can be validated and submitted while no
agent is online: it waits for one.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from conveyor.protocol import ActionOffer
from conveyor.store.records import ActionInfo, ActionVersion
from conveyor.store.schema import action_limits, actions, agents
from conveyor.store.transaction import Tx
from conveyor.store.types import at


def upsert_offers(tx: Tx, team_id: uuid.UUID, offers: Sequence[ActionOffer]) -> None:
    """Record what an agent offers; one statement whatever the number of actions."""
    now = at(tx.now)
    unique = {(o.name, o.schema_hash): o for o in offers}  # one row may be touched once
    if not unique:
        return
    rows = [
        {"team_id": team_id, "name": name, "schema_hash": digest,
         "params_schema": offer.params_schema, "first_seen_at": now, "last_seen_at": now,
         "description": offer.description}
        for (name, digest), offer in sorted(unique.items())
    ]  # fmt: skip
    insert = (postgresql.insert if tx.dialect == "postgresql" else sqlite.insert)(actions)
    statement = insert.values(rows)
    tx.conn.execute(
        statement.on_conflict_do_update(
            index_elements=[actions.c.team_id, actions.c.name, actions.c.schema_hash],
            set_={
                "last_seen_at": statement.excluded.last_seen_at,
                "description": statement.excluded.description,
            },
        )
    )


def list_actions(tx: Tx, team_id: uuid.UUID) -> list[ActionInfo]:
    """Every action of the team by name, with the connected agents that offer it."""
    rows = tx.conn.execute(
        sa.select(actions.c.name, actions.c.schema_hash, actions.c.params_schema,
                  actions.c.last_seen_at, actions.c.description)
        .where(actions.c.team_id == team_id)
        .order_by(actions.c.name, actions.c.last_seen_at.desc(), actions.c.schema_hash)
    ).all()  # fmt: skip
    offered_by: dict[str, set[str]] = {}
    connected = tx.conn.execute(
        sa.select(agents.c.name, agents.c.actions).where(
            agents.c.team_id == team_id,
            agents.c.connected_at.is_not(None),
            agents.c.disconnected_at.is_(None),
        )
    )
    for agent_name, offered in connected:
        for offer in offered or []:
            offered_by.setdefault(offer["name"], set()).add(agent_name)
    catalog: dict[str, list[ActionVersion]] = {}
    described: dict[str, str] = {}  # the newest version's (rows come newest first per name)
    for row in rows:
        catalog.setdefault(row.name, []).append(
            ActionVersion(row.schema_hash, row.params_schema, row.last_seen_at)
        )
        described.setdefault(row.name, row.description)
    limits = dict(
        tx.conn.execute(
            sa.select(action_limits.c.action, action_limits.c.concurrency_limit).where(
                action_limits.c.team_id == team_id
            )
        ).all()
    )
    return [
        ActionInfo(
            name, versions, sorted(offered_by.get(name, ())), described[name], limits.get(name)
        )
        for name, versions in catalog.items()
    ]


def latest_version(tx: Tx, team_id: uuid.UUID, name: str) -> ActionVersion | None:
    """The version of ``name`` seen most recently (what a new job is validated against)."""
    row = tx.conn.execute(_LATEST_VERSION, {"team_id": team_id, "name": name}).first()
    return None if row is None else ActionVersion(*row)


_LATEST_VERSION = (  # built once: every submit reads it before anything else
    sa.select(actions.c.schema_hash, actions.c.params_schema, actions.c.last_seen_at)
    .where(actions.c.team_id == sa.bindparam("team_id"), actions.c.name == sa.bindparam("name"))
    .order_by(actions.c.last_seen_at.desc(), actions.c.first_seen_at.desc(),
              actions.c.schema_hash)
    .limit(1)
)  # fmt: skip
