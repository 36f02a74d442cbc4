"""claim_wait and the bus on both dialects: woken by work, never by a timer here."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from conveyor.engine import Engine
from conveyor.states import JobState
from conveyor.store import JobSpec, Outcome, Report
from conveyor.store.records import ClaimedJob
from tests.helpers.factories import agent_request

WAIT_S = 60.0  # the waiters' timeout; every wake-up below must come well before it
PROMPT_S = 20.0


async def _park(engine: Engine, team: uuid.UUID) -> asyncio.Task[list[ClaimedJob]]:
    """Start a claim_wait and return once it found nothing and is waiting on the bus."""
    parked = engine.parked
    waiter = asyncio.create_task(engine.claim_wait(team, agent_request(), WAIT_S))
    assert await parked.wait(PROMPT_S), "the waiter never parked"
    return waiter


async def _result(waiter: asyncio.Task[list[ClaimedJob]]) -> list[ClaimedJob]:
    async with asyncio.timeout(PROMPT_S):
        return await waiter


async def test_claims_at_once_when_work_is_there(engine: Engine, team: uuid.UUID) -> None:
    [sub] = await engine.store.job_submit_many(team, [JobSpec("demo.echo")])
    async with asyncio.timeout(PROMPT_S):
        claimed = await engine.claim_wait(team, agent_request(), WAIT_S)
    assert [c.id for c in claimed] == [sub.id]


async def test_a_submit_wakes_a_waiter(engine: Engine, team: uuid.UUID) -> None:
    waiter = await _park(engine, team)
    assert engine.waiting == 1
    [sub] = await engine.store.job_submit_many(team, [JobSpec("demo.echo")])
    claimed = await _result(waiter)
    assert [c.id for c in claimed] == [sub.id] and claimed[0].attempt == 1
    assert engine.waiting == 0


async def test_work_it_cannot_run_wakes_it_and_it_waits_again(
    engine: Engine, team: uuid.UUID
) -> None:
    waiter = await _park(engine, team)
    parked_again = engine.parked
    await engine.store.job_submit_many(team, [JobSpec("other.action")])
    assert await parked_again.wait(PROMPT_S)  # woke, claimed nothing, went back to waiting
    assert not waiter.done()
    [sub] = await engine.store.job_submit_many(team, [JobSpec("demo.echo")])
    assert [c.id for c in await _result(waiter)] == [sub.id]


async def test_a_retry_falling_due_wakes_a_waiter(engine: Engine, team: uuid.UUID) -> None:
    """The scheduler promotes the failed job (time moved with ``now``); the bus wakes."""
    [sub] = await engine.store.job_submit_many(team, [JobSpec("demo.echo", backoff_base_s=60)])
    [first] = await engine.store.job_claim(team, agent_request())
    await engine.store.job_report(team, [Report(sub.id, first.lease_token, Outcome.FAILED)])
    assert (await engine.store.job_get(team, sub.id)).state == JobState.SCHEDULED
    waiter = await _park(engine, team)
    promoted = await engine.scheduler.run_once(now=datetime.now(UTC) + timedelta(minutes=2))
    assert promoted == 1
    [again] = await _result(waiter)
    assert again.id == sub.id and again.attempt == 2


async def test_the_scheduler_loop_wakes_a_waiter_when_a_job_is_due(
    engine: Engine, team: uuid.UUID
) -> None:
    """A delayed job whose time has passed: one scheduler pass (awaited, not slept) runs it."""
    past = datetime.now(UTC) - timedelta(hours=1)
    [sub] = await engine.store.job_submit_many(
        team, [JobSpec("demo.echo", run_at=past + timedelta(seconds=1))], now=past
    )
    assert sub.state == JobState.SCHEDULED
    waiter = await _park(engine, team)
    passed = engine.scheduler.wake()
    assert await passed.wait(PROMPT_S)
    assert [c.id for c in await _result(waiter)] == [sub.id]


async def test_times_out_empty_when_nothing_comes(engine: Engine, team: uuid.UUID) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await engine.claim_wait(team, agent_request(), 0.3) == []
    assert loop.time() - started >= 0.29
    assert engine.waiting == 0


async def test_a_cancelled_waiter_leaves_no_trace(engine: Engine, team: uuid.UUID) -> None:
    waiter = await _park(engine, team)
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)
    assert engine.waiting == 0
    [sub] = await engine.store.job_submit_many(team, [JobSpec("demo.echo")])
    assert (await engine.store.job_get(team, sub.id)).state == JobState.QUEUED
