"""A submit hands its new jobs to agents waiting on this replica, in its own transaction.

The hub here has no dispatch loop running, so a job can only reach an agent
through the submit itself; each :class:`FakeAgent` collects what the agent would
receive over its WebSocket.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from conveyor.engine import AgentHub, Engine
from conveyor.states import JobState
from conveyor.store import JobSpec
from tests.engine.fake_agent import FakeAgent


@pytest.fixture
async def hub(engine: Engine) -> AsyncIterator[AgentHub]:
    yield AgentHub(engine, poll_s=3600)  # never started: no dispatcher


def echo(n: int = 0) -> JobSpec:
    return JobSpec("demo.echo", {"n": n})


async def test_a_waiting_agent_has_the_job_when_submit_returns(
    engine: Engine, hub: AgentHub, team: uuid.UUID
) -> None:
    agent = FakeAgent(hub, team, "a", credits=2)
    await hub.attach(agent.session)
    work = engine.bus.work_signal()

    [sub] = await hub.submit(team, [echo()])

    assert agent.assigned == [sub.id] and agent.session.credits == 1
    job = await engine.store.job_get(team, sub.id)
    assert job.state == JobState.RUNNING and job.agent_id == agent.session.agent_id
    assert not work.fired  # every new job was taken: nobody else need look


async def test_waiting_agents_take_turns_and_the_rest_stays_queued(
    engine: Engine, hub: AgentHub, team: uuid.UUID
) -> None:
    a, b = FakeAgent(hub, team, "a", credits=1), FakeAgent(hub, team, "b", credits=1)
    for agent in (a, b):
        await hub.attach(agent.session)
    first = await hub.submit(team, [echo(1)])
    assert len(a.assigned) + len(b.assigned) == 1
    took_first = a if a.assigned else b

    work = engine.bus.work_signal()
    more = await hub.submit(team, [echo(2), echo(3)])
    other = b if took_first is a else a
    assert other.assigned == [more[0].id]  # its turn; the first has no credits left
    assert took_first.assigned == [first[0].id]
    assert (await engine.store.job_get(team, more[1].id)).state == JobState.QUEUED
    assert work.fired  # a job is left for the dispatcher


async def test_draining_agents_and_other_teams_get_nothing(
    engine: Engine, hub: AgentHub, team: uuid.UUID
) -> None:
    draining = FakeAgent(hub, team, "draining", credits=5)
    draining.session.draining = True
    stranger = FakeAgent(
        hub, await engine.store.team_create("others", "Others"), "stranger", credits=5
    )
    for agent in (draining, stranger):
        await hub.attach(agent.session)
    [sub] = await hub.submit(team, [echo()])
    assert draining.assigned == stranger.assigned == []
    assert (await engine.store.job_get(team, sub.id)).state == JobState.QUEUED


async def test_jobs_for_an_agent_gone_meanwhile_go_back_to_the_queue(
    engine: Engine, hub: AgentHub, team: uuid.UUID
) -> None:
    agent = FakeAgent(hub, team, "a", credits=1)
    await hub.attach(agent.session)
    agent.gone = True
    [sub] = await hub.submit(team, [echo()])  # the submit itself stands
    job = await engine.store.job_get(team, sub.id)
    assert job.state == JobState.QUEUED  # released: another agent can claim it


async def test_the_dispatcher_comes_back_for_an_agent_it_skipped_during_a_submit(
    engine: Engine, team: uuid.UUID
) -> None:
    """The dispatcher skips an agent while a submit claims for it; the submit asks only
    for its own jobs, so an older one it left (lower priority) must not wait for a poll."""
    hub = AgentHub(engine, poll_s=3600)
    await hub.start()
    try:
        [older] = await engine.store.job_submit_many(team, [JobSpec("demo.echo", {}, priority=-1)])
        agent = FakeAgent(hub, team, "a", credits=2)
        await hub.attach(agent.session)
        submitting = asyncio.create_task(hub.submit(team, [echo()]))
        await asyncio.sleep(0)  # the submit is now claiming for the agent
        assert agent.session.claiming
        hub.grant(agent.session, 0)  # wakes the dispatcher, which must pass the agent over
        [new] = await submitting
        await agent.wait_for(2)
        assert agent.assigned == [new.id, older.id]
    finally:
        await hub.stop()
