"""Agents offline for longer than the setting are deleted; connected ones never."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from conveyor.errors import NotFound
from conveyor.store import Store

T0 = datetime(2030, 1, 1, tzinfo=UTC)
KEEP = timedelta(hours=1)


async def _connect(store: Store, team: uuid.UUID, name: str, now: datetime) -> uuid.UUID:
    return await store.agent_connect(
        team, name=name, labels={}, slots=1, version="1", queues=["default"], actions=[],
        key_id=None, user_id=None, now=now,
    )  # fmt: skip


async def test_offline_and_silent_agents_are_pruned(store: Store, team: uuid.UUID) -> None:
    left_long_ago = await _connect(store, team, "left-long-ago", T0)
    await store.agent_disconnect(team, left_long_ago, now=T0 + timedelta(minutes=1))
    left_recently = await _connect(store, team, "left-recently", T0)
    await store.agent_disconnect(team, left_recently, now=T0 + timedelta(minutes=59))
    silent = await _connect(store, team, "silent", T0)  # its replica died: never disconnected
    alive = await _connect(store, team, "alive", T0)
    await store.agents_seen(team, [alive], now=T0 + timedelta(minutes=50))

    later = T0 + timedelta(minutes=70)
    start = await store.event_last_seq()
    assert await store.agent_prune_offline(KEEP, now=later) == 2
    names = [a.name for a in await store.agent_list(team)]
    assert names == ["alive", "left-recently"]
    pruned = [e for e in await store.events_after(team, start) if e.kind == "agent"]
    assert sorted((e.data["name"], e.data["pruned"]) for e in pruned) == [
        ("left-long-ago", True),
        ("silent", True),
    ]
    assert await store.agent_prune_offline(KEEP, now=later) == 0

    # Back after being pruned: a new row, like a new agent.
    again = await _connect(store, team, "silent", later)
    assert again != silent and (await store.agent_get(team, again)).connected
    with pytest.raises(NotFound):
        await store.agent_get(team, silent)


async def test_prune_is_batched(store: Store, team: uuid.UUID) -> None:
    for i in range(5):
        agent = await _connect(store, team, f"a{i}", T0)
        await store.agent_disconnect(team, agent, now=T0)
    later = T0 + 2 * KEEP
    assert await store.agent_prune_offline(KEEP, limit=3, now=later) == 3
    assert await store.agent_prune_offline(KEEP, limit=3, now=later) == 2
    assert await store.agent_list(team) == []
