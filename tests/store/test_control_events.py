"""Cancels of running jobs and drains become ``control`` events for the replica holding
the agent; the teams' event streams never show them."""

from __future__ import annotations

import uuid

from conveyor.store import JobSpec, Store
from tests.helpers.factories import agent_request


async def test_cancel_and_drain_write_control_events(store: Store, team: uuid.UUID) -> None:
    agent = await store.agent_connect(
        team, name="a", labels={}, slots=1, version="1", queues=["default"], actions=[],
        key_id=None, user_id=None,
    )  # fmt: skip
    running, waiting = await store.job_submit_many(team, [JobSpec("demo.echo")] * 2)
    await store.job_claim(team, agent_request(1, agent_id=agent))
    start = await store.event_last_seq()
    await store.job_cancel(team, [running.id, waiting.id])
    await store.agent_set_draining(team, agent, True)
    await store.agent_set_draining(team, agent, False)  # undraining needs no push
    control = await store.event_control_after(start)
    assert [(e.kind, e.object_id, e.data) for e in control] == [
        ("control", running.id, {"agent_id": str(agent), "cancel": True}),
        ("control", agent, {"agent_id": str(agent), "drain": True}),
    ]
    assert await store.event_control_after(control[-1].seq) == []
    assert await store.event_control_after(start, skip=[control[0].seq]) == control[1:]
    kinds = [e.kind for e in await store.events_after(team, start)]
    assert kinds == ["job", "job", "agent", "agent"]
