"""The dispatcher and the bus on both dialects: an idle agent gets work it can run when
the work appears, woken by the bus, never by a timer here (the poll is an hour)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from conveyor.engine import AgentHub, Engine
from conveyor.states import JobState
from conveyor.store import JobSpec, Outcome, Report
from tests.engine.fake_agent import PROMPT_S, FakeAgent, idle_agent
from tests.helpers.factories import agent_request


async def test_an_agent_granting_credits_gets_the_work_already_there(
    engine: Engine, team: uuid.UUID
) -> None:
    [sub] = await engine.store.job_submit_many(team, [JobSpec("demo.echo")])
    hub = AgentHub(engine, poll_s=3600)
    await hub.start()
    try:
        agent = FakeAgent(hub, team, "a", credits=0)
        await hub.attach(agent.session)
        hub.grant(agent.session, 10)
        await agent.wait_for(1)
        assert agent.assigned == [sub.id]
    finally:
        await hub.stop()


async def test_a_submit_wakes_the_dispatcher(engine: Engine, team: uuid.UUID) -> None:
    """Submitted past the hub (as another caller of the store would): only the bus wakes it."""
    async with idle_agent(engine, team) as (_, agent):
        [sub] = await engine.store.job_submit_many(team, [JobSpec("demo.echo")])
        await agent.wait_for(1)
        assert agent.assigned == [sub.id]
        assert (await engine.store.job_get(team, sub.id)).attempt == 1


async def test_work_it_cannot_run_wakes_it_and_it_parks_again(
    engine: Engine, team: uuid.UUID
) -> None:
    async with idle_agent(engine, team) as (hub, agent):
        parked_again = hub.parked
        await engine.store.job_submit_many(team, [JobSpec("other.action")])
        assert await parked_again.wait(PROMPT_S)  # woke, claimed nothing, parked again
        assert agent.assigned == []
        [sub] = await engine.store.job_submit_many(team, [JobSpec("demo.echo")])
        await agent.wait_for(1)
        assert agent.assigned == [sub.id]


async def test_a_retry_falling_due_wakes_the_dispatcher(engine: Engine, team: uuid.UUID) -> None:
    """The scheduler promotes the failed job (time moved with ``now``); the bus wakes."""
    [sub] = await engine.store.job_submit_many(team, [JobSpec("demo.echo", backoff_base_s=60)])
    [first] = await engine.store.job_claim(team, agent_request())
    await engine.store.job_report(team, [Report(sub.id, first.lease_token, Outcome.FAILED)])
    assert (await engine.store.job_get(team, sub.id)).state == JobState.SCHEDULED
    async with idle_agent(engine, team) as (_, agent):
        promoted = await engine.scheduler.run_once(now=datetime.now(UTC) + timedelta(minutes=2))
        assert promoted == 1
        await agent.wait_for(1)
        assert agent.assigned == [sub.id]
        assert (await engine.store.job_get(team, sub.id)).attempt == 2


async def test_the_scheduler_loop_wakes_the_dispatcher_when_a_job_is_due(
    engine: Engine, team: uuid.UUID
) -> None:
    """A delayed job whose time has passed: one scheduler pass (awaited, not slept) runs it."""
    past = datetime.now(UTC) - timedelta(hours=1)
    [sub] = await engine.store.job_submit_many(
        team, [JobSpec("demo.echo", run_at=past + timedelta(seconds=1))], now=past
    )
    assert sub.state == JobState.SCHEDULED
    async with idle_agent(engine, team) as (_, agent):
        passed = engine.scheduler.wake()
        assert await passed.wait(PROMPT_S)
        await agent.wait_for(1)
        assert agent.assigned == [sub.id]


async def test_with_nothing_coming_the_poll_looks_again_and_finds_nothing(
    engine: Engine, team: uuid.UUID
) -> None:
    """The dispatcher's safety net: a short poll here (0.2 s, jittered) so it comes round."""
    async with idle_agent(engine, team, poll_s=0.2) as (hub, agent):
        loop = asyncio.get_running_loop()
        started, parked_again = loop.time(), hub.parked
        assert await parked_again.wait(PROMPT_S)
        assert loop.time() - started >= 0.09  # the poll's shortest jittered wait
        assert agent.assigned == [] and agent.session.hungry


async def test_an_agent_that_left_leaves_no_trace(engine: Engine, team: uuid.UUID) -> None:
    async with idle_agent(engine, team) as (hub, agent):
        hub.detach(agent.session)
        parked_again = hub.parked
        [sub] = await engine.store.job_submit_many(team, [JobSpec("demo.echo")])
        assert await parked_again.wait(PROMPT_S)  # the dispatcher woke and went idle again
        assert agent.assigned == []
        assert (await engine.store.job_get(team, sub.id)).state == JobState.QUEUED
