"""PostgreSQL: killing the LISTEN connection does not stop work from flowing.

The job is submitted by a second store (another replica), so the only ways to
reach the dispatcher idle on this engine are NOTIFY (through the listener) and the poll.
"""

from __future__ import annotations

import asyncio
import uuid

import sqlalchemy as sa

from conveyor.engine import Engine, EngineConfig
from conveyor.engine.listener import Listener
from conveyor.store import JobSpec, Store
from conveyor.store.transaction import Tx
from tests.engine.fake_agent import FakeAgent, idle_agent
from tests.helpers.factories import agent_request

PROMPT_S = 20.0
WAIT_S = 120.0


def _terminate(tx: Tx, pid: int) -> bool:
    return bool(tx.conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
                .scalar_one())  # fmt: skip


async def _listening(engine: Engine) -> Listener:
    assert engine.listener is not None
    async with asyncio.timeout(PROMPT_S):
        await engine.listener.connected.wait()
    assert engine.listener.backend_pid is not None
    return engine.listener


async def _assigned_ids(agent: FakeAgent) -> list[uuid.UUID]:
    await agent.wait_for(1)  # far below WAIT_S and the hour-long poll
    return agent.assigned


async def test_notify_from_another_replica_wakes_the_dispatcher(
    replicas: tuple[Engine, Store, uuid.UUID],
) -> None:
    engine, other, team = replicas
    await _listening(engine)
    async with idle_agent(engine, team, poll_s=WAIT_S) as (_, agent):
        [sub] = await other.job_submit_many(team, [JobSpec("demo.echo")])
        assert await _assigned_ids(agent) == [sub.id]


async def test_after_the_kill_the_listener_reconnects_and_delivers(
    replicas: tuple[Engine, Store, uuid.UUID],
) -> None:
    engine, other, team = replicas
    listener = await _listening(engine)
    old_pid = listener.backend_pid
    assert old_pid is not None
    reconnected = listener.reconnected
    assert await other.db.read(_terminate, None, old_pid)
    assert await reconnected.wait(PROMPT_S), "the listener did not reconnect"
    assert listener.backend_pid not in (None, old_pid)

    async with idle_agent(engine, team, poll_s=WAIT_S) as (_, agent):
        [sub] = await other.job_submit_many(team, [JobSpec("demo.echo")])
        assert await _assigned_ids(agent) == [sub.id]


async def test_work_submitted_right_after_the_kill_is_claimed(
    replicas: tuple[Engine, Store, uuid.UUID],
) -> None:
    """A dispatcher idle before the kill gets a job submitted while the listener is down.

    Its NOTIFY may be lost; the reconnecting listener wakes every waiter (anything
    may have happened meanwhile), and the dispatcher claims.
    """
    engine, other, team = replicas
    listener = await _listening(engine)
    old_pid = listener.backend_pid
    assert old_pid is not None
    async with idle_agent(engine, team, poll_s=WAIT_S) as (_, agent):
        assert await other.db.read(_terminate, None, old_pid)
        [sub] = await other.job_submit_many(team, [JobSpec("demo.echo")])
        assert await _assigned_ids(agent) == [sub.id]


async def test_without_listen_the_poll_still_delivers(pg_url: str) -> None:
    """LISTEN off: the engine's jittered outbox poll is the only path between replicas,
    so it is short here (0.2 s) to keep the test quick; the default is 2 s. (The
    dispatcher's own poll stays long: the outbox poll is what wakes it.)"""
    engine = await Engine.open(pg_url, EngineConfig(poll_interval_s=0.2, listen=False))
    other = await Store.open(pg_url)
    await engine.start()
    try:
        assert engine.listener is None
        team = await other.team_create("acme", "Acme")
        async with idle_agent(engine, team, poll_s=WAIT_S) as (_, agent):
            [sub] = await other.job_submit_many(team, [JobSpec("demo.echo")])
            assert await _assigned_ids(agent) == [sub.id]
    finally:
        await engine.close()
        await other.close()


async def test_a_cancel_recorded_by_another_replica_signals_control(
    replicas: tuple[Engine, Store, uuid.UUID],
) -> None:
    """The replica holding an agent learns of a cancel through NOTIFY, and reads it back."""
    engine, other, team = replicas
    await _listening(engine)
    agent = uuid.uuid4()
    [sub] = await other.job_submit_many(team, [JobSpec("demo.echo")])
    await other.job_claim(team, agent_request(agent_id=agent))
    start = await engine.store.event_last_seq()
    control, work = engine.bus.control_signal(), engine.bus.work_signal()
    await other.job_cancel(team, [sub.id])
    assert await control.wait(PROMPT_S), "no control signal"
    [event] = await engine.store.event_control_after(start)
    assert (event.object_id, event.data) == (sub.id, {"agent_id": str(agent), "cancel": True})
    assert not await work.wait(0)  # a cancel makes no work claimable
    # The team's event stream shows the cancel request, never the control event.
    kinds = {e.kind for e in await engine.store.events_after(team, start)}
    assert kinds == {"job"}
