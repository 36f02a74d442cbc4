"""Agents keep their id across reconnects; the action catalog keeps every schema version."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from conveyor.errors import NotFound
from conveyor.protocol import ActionOffer
from conveyor.store import Store

T0 = datetime(2030, 1, 1, tzinfo=UTC)
V1: dict[str, Any] = {"type": "object", "properties": {"n": {"type": "integer"}}}
V2: dict[str, Any] = {"type": "object", "properties": {"n": {"type": "string"}}}


def offer(name: str, schema: dict[str, Any]) -> ActionOffer:
    return ActionOffer(name=name, params_schema=schema)


async def connect(
    store: Store,
    team: uuid.UUID,
    name: str,
    actions: list[ActionOffer] | None = None,
    *,
    now: datetime = T0,
    slots: int = 2,
    labels: dict[str, str] | None = None,
) -> uuid.UUID:
    return await store.agent_connect(
        team, name=name, labels=labels or {}, slots=slots, version="1.0", queues=["default"],
        actions=actions or [], key_id=None, user_id=None, now=now,
    )  # fmt: skip


async def test_agent_keeps_its_id_across_reconnects(store: Store, team: uuid.UUID) -> None:
    key = uuid.uuid4()
    first = await store.agent_connect(
        team, name="worker-1", labels={"os": "linux"}, slots=4, version="1.0",
        queues=["default", "exports"], actions=[offer("demo.echo", V1)], key_id=key,
        user_id=None, now=T0,
    )  # fmt: skip
    agent = await store.agent_get(team, first)
    assert (agent.name, agent.labels, agent.slots, agent.version, agent.queues) == (
        "worker-1", {"os": "linux"}, 4, "1.0", ["default", "exports"],
    )  # fmt: skip
    assert agent.actions == [
        {"name": "demo.echo", "schema_hash": offer("demo.echo", V1).schema_hash, "kind": "python"}
    ]
    assert agent.key_id == key and agent.connected and agent.connected_at == T0
    assert agent.created_at == T0 and agent.last_seen_at == T0

    await store.agent_disconnect(team, first, now=T0 + timedelta(seconds=5))
    gone = await store.agent_get(team, first)
    assert not gone.connected and gone.disconnected_at == T0 + timedelta(seconds=5)

    later = T0 + timedelta(minutes=1)
    again = await connect(store, team, "worker-1", slots=8, labels={"os": "mac"}, now=later)
    assert again == first
    back = await store.agent_get(team, first)
    assert back.connected and back.disconnected_at is None and back.connected_at == later
    assert back.slots == 8 and back.labels == {"os": "mac"} and back.actions == []
    assert back.created_at == T0

    other = await connect(store, team, "worker-2")
    assert other != first
    assert [a.name for a in await store.agent_list(team)] == ["worker-1", "worker-2"]

    team_b = await store.team_create("beta", "Beta")
    assert await connect(store, team_b, "worker-1") != first
    assert [a.name for a in await store.agent_list(team_b)] == ["worker-1"]
    with pytest.raises(NotFound):
        await store.agent_get(team_b, first)


async def test_disconnect_of_an_old_connection_leaves_a_newer_one(
    store: Store, team: uuid.UUID
) -> None:
    agent_id = await connect(store, team, "w", now=T0)
    old = (await store.agent_get(team, agent_id)).connected_at
    assert old is not None
    await connect(store, team, "w", now=T0 + timedelta(seconds=1))  # reconnected elsewhere
    await store.agent_disconnect(team, agent_id, connected_at=old)  # the old socket closes late
    assert (await store.agent_get(team, agent_id)).connected
    await store.agent_disconnect(team, agent_id, connected_at=T0 + timedelta(seconds=1))
    assert not (await store.agent_get(team, agent_id)).connected


async def test_seen_draining_and_agent_events(store: Store, team: uuid.UUID) -> None:
    start = await store.event_last_seq()
    a = await connect(store, team, "a", now=T0)
    b = await connect(store, team, "b", now=T0)
    await store.agents_seen(team, [a, b], now=T0 + timedelta(seconds=10))
    assert {x.last_seen_at for x in await store.agent_list(team)} == {T0 + timedelta(seconds=10)}

    drained = await store.agent_set_draining(team, a, True)
    assert drained.draining and drained.id == a
    await connect(store, team, "a", now=T0 + timedelta(seconds=20))
    assert (await store.agent_get(team, a)).draining  # an operator's drain outlives a reconnect
    assert not (await store.agent_set_draining(team, a, False)).draining
    with pytest.raises(NotFound):
        await store.agent_set_draining(team, uuid.uuid4(), True)
    await store.agent_disconnect(team, b)
    await store.agent_disconnect(team, b)  # already gone: no second event

    events = await store.events_after(team, start)
    assert all(e.kind == "agent" for e in events)
    assert [(e.object_id, e.data) for e in events] == [
        (a, {"name": "a", "connected": True}),
        (b, {"name": "b", "connected": True}),
        (a, {"name": "a", "draining": True}),
        (a, {"name": "a", "connected": True}),
        (a, {"name": "a", "draining": False}),
        (b, {"name": "b", "connected": False}),
    ]


async def test_catalog_keeps_every_version_and_who_offers_it(store: Store, team: uuid.UUID) -> None:
    old = await connect(store, team, "old", [offer("demo.echo", V1), offer("demo.sum", V1)], now=T0)
    await connect(store, team, "new", [offer("demo.echo", V2)], now=T0 + timedelta(seconds=1))
    catalog = {a.name: a for a in await store.action_list(team)}
    assert sorted(catalog) == ["demo.echo", "demo.sum"]
    echo = catalog["demo.echo"]
    assert [v.schema_hash for v in echo.versions] == [
        offer("x", V2).schema_hash, offer("x", V1).schema_hash,
    ]  # fmt: skip
    assert echo.versions[0].params_schema == V2
    assert echo.versions[0].last_seen_at == T0 + timedelta(seconds=1)
    assert echo.agents == ["new", "old"] and catalog["demo.sum"].agents == ["old"]

    latest = await store.action_latest(team, "demo.echo")
    assert latest is not None and latest.params_schema == V2
    assert await store.action_latest(team, "demo.missing") is None

    # The old agent comes back: its version is now the most recently seen.
    await store.agent_disconnect(team, old)
    await connect(store, team, "old", [offer("demo.echo", V1)], now=T0 + timedelta(seconds=2))
    latest = await store.action_latest(team, "demo.echo")
    assert latest is not None and latest.params_schema == V1

    # Everyone leaves: the catalog stays, with nobody offering.
    for agent in await store.agent_list(team):
        await store.agent_disconnect(team, agent.id)
    catalog = {a.name: a for a in await store.action_list(team)}
    assert len(catalog["demo.echo"].versions) == 2 and catalog["demo.echo"].agents == []
    assert catalog["demo.sum"].agents == []

    team_b = await store.team_create("beta", "Beta")
    assert await store.action_list(team_b) == []
    assert await store.action_latest(team_b, "demo.echo") is None


async def test_an_offer_listed_twice_is_one_catalog_row(store: Store, team: uuid.UUID) -> None:
    await connect(store, team, "w", [offer("demo.echo", V1), offer("demo.echo", V1)])
    [info] = await store.action_list(team)
    assert len(info.versions) == 1 and info.agents == ["w"]


async def test_simultaneous_connects_of_one_name_agree_on_one_agent(
    store: Store, team: uuid.UUID
) -> None:
    """Two replicas seeing the same agent at once (PostgreSQL: separate transactions)."""
    ids = await asyncio.gather(*(connect(store, team, "same", now=T0) for _ in range(8)))
    assert len(set(ids)) == 1
    assert [a.id for a in await store.agent_list(team)] == [ids[0]]
