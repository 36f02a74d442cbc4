"""The reaper's grace: after this replica starts or its store comes back, leases that
ran out meanwhile are not reaped until agents have had a lease's time to heartbeat."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest

from conveyor.engine.reaper import Reaper
from conveyor.errors import StoreUnavailable
from conveyor.store import JobSpec, Store
from tests.helpers.factories import agent_request

PROMPT_S = 20.0
GRACE_S = 30.0


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _expired_job(store: Store, team: uuid.UUID) -> uuid.UUID:
    """A running job whose lease ran out an hour ago (as during a long outage)."""
    past = datetime.now(UTC) - timedelta(hours=1)
    [sub] = await store.job_submit_many(team, [JobSpec("demo.echo", {}, lease_s=30)], now=past)
    [claimed] = await store.job_claim(team, agent_request(), now=past)
    assert claimed.id == sub.id
    return sub.id


@asynccontextmanager
async def _running(store: Store, clock: Clock) -> AsyncIterator[Reaper]:
    reaper = Reaper(store, interval_s=3600, grace_s=GRACE_S, clock=clock)
    reaper.start()
    try:
        yield reaper
    finally:
        await reaper.stop()


async def _reaped_after_a_pass(reaper: Reaper, store: Store, team: uuid.UUID,
                               job_id: uuid.UUID) -> bool:  # fmt: skip
    await reaper.wake().wait(PROMPT_S)
    return (await store.job_get(team, job_id)).state != "running"


async def test_no_lease_is_reaped_within_the_grace_after_the_replica_starts(
    store: Store, team: uuid.UUID
) -> None:
    job_id = await _expired_job(store, team)
    clock = Clock()
    async with _running(store, clock) as reaper:
        assert not await _reaped_after_a_pass(reaper, store, team, job_id)
        clock.now += GRACE_S
        assert await _reaped_after_a_pass(reaper, store, team, job_id)


async def test_a_store_that_fails_starts_the_grace_over(
    store: Store, team: uuid.UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = await _expired_job(store, team)
    clock = Clock()
    async with _running(store, clock) as reaper:
        clock.now += GRACE_S - 1
        reachable = store.event_last_seq

        async def unreachable() -> int:
            raise StoreUnavailable("the database restarts")  # as the store raises it

        monkeypatch.setattr(store, "event_last_seq", unreachable)
        await reaper.wake().wait(PROMPT_S)  # the store is down: the grace starts over
        monkeypatch.setattr(store, "event_last_seq", reachable)
        clock.now += 1  # the first grace would be over now
        assert not await _reaped_after_a_pass(reaper, store, team, job_id)
        clock.now += GRACE_S
        assert await _reaped_after_a_pass(reaper, store, team, job_id)


async def test_an_error_that_is_not_an_outage_leaves_the_grace_as_it_is(
    store: Store, team: uuid.UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Errors recurring within a lease (a bug, a pool timeout under load) must not keep every
    replica in its grace for good: only an unreachable store starts it over."""
    job_id = await _expired_job(store, team)
    clock = Clock()
    async with _running(store, clock) as reaper:
        clock.now += GRACE_S - 1
        reachable = store.event_last_seq

        async def failing() -> int:
            raise RuntimeError("not an outage")

        monkeypatch.setattr(store, "event_last_seq", failing)
        await reaper.wake().wait(PROMPT_S)
        monkeypatch.setattr(store, "event_last_seq", reachable)
        clock.now += 1  # the grace is over: it was not started again
        assert await _reaped_after_a_pass(reaper, store, team, job_id)


async def test_an_explicit_pass_reaps_whatever_the_grace(store: Store, team: uuid.UUID) -> None:
    job_id = await _expired_job(store, team)
    async with _running(store, Clock()) as reaper:
        assert reaper.in_grace()
        assert await reaper.run_once() == 1
        assert (await store.job_get(team, job_id)).state != "running"
