"""Conformance: lease tokens fence every agent write; expired leases and timeouts are reaped.

Time is moved by passing ``now``; nothing sleeps.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from conveyor.states import AttemptOutcome, JobState
from conveyor.store import JobSpec, Lease, Outcome, Report, Store
from tests.helpers.factories import agent_request

T0 = datetime(2030, 1, 1, tzinfo=UTC)


async def _claim_one(store: Store, team: uuid.UUID, now: datetime) -> tuple[uuid.UUID, uuid.UUID]:
    [claimed] = await store.job_claim(team, agent_request(), now=now)
    return claimed.id, claimed.lease_token


async def test_expired_lease_is_retried_and_stale_holder_is_fenced(
    store: Store, team: uuid.UUID
) -> None:
    [sub] = await store.job_submit_many(team, [JobSpec("demo.echo", {}, lease_s=30)], now=T0)
    _, stale = await _claim_one(store, team, T0)

    assert await store.job_reap_expired(now=T0 + timedelta(seconds=29)) == []
    reaped = await store.job_reap_expired(now=T0 + timedelta(seconds=30))
    assert reaped == [(sub.id, JobState.SCHEDULED)]
    job = await store.job_get(team, sub.id)
    assert job.error["code"] == "lease_expired" and job.lease_expires_at is None

    later = T0 + timedelta(minutes=11)  # past any backoff (cap 10 min)
    assert await store.job_promote_due(now=later) == [sub.id]
    _, fresh = await _claim_one(store, team, later)

    # The stale agent wakes up: its heartbeat and its result change nothing.
    hb = await store.lease_extend(team, [Lease(sub.id, stale)], now=later)
    assert hb.lost == [sub.id] and hb.extended == {}
    [r] = await store.job_report(
        team, [Report(sub.id, stale, Outcome.SUCCEEDED, result="stale")], now=later
    )
    assert not r.applied
    job = await store.job_get(team, sub.id)
    assert job.state == JobState.RUNNING and job.attempt == 2 and job.result is None

    [r] = await store.job_report(
        team, [Report(sub.id, fresh, Outcome.SUCCEEDED, result="fresh")], now=later
    )
    assert r.applied and r.state == JobState.SUCCEEDED
    attempts = await store.attempt_list(team, sub.id)
    assert [a.outcome for a in attempts] == [AttemptOutcome.LEASE_EXPIRED, AttemptOutcome.SUCCEEDED]
    assert (await store.job_get(team, sub.id)).result == "fresh"


async def test_stale_and_fresh_results_raced(store: Store, team: uuid.UUID) -> None:
    """Many stale and one fresh report sent at once: only the current token wins."""
    [sub] = await store.job_submit_many(team, [JobSpec("demo.echo", {}, lease_s=10)], now=T0)
    now = T0
    stale_tokens = []
    for _ in range(3):  # three attempts lose their lease in turn
        _, token = await _claim_one(store, team, now)
        stale_tokens.append(token)
        now += timedelta(seconds=10)
        await store.job_reap_expired(now=now)
        now += timedelta(minutes=11)
        await store.job_retry(team, [sub.id]) if (
            await store.job_get(team, sub.id)
        ).state == JobState.DEAD else None
        await store.job_promote_due(now=now)
    _, fresh = await _claim_one(store, team, now)

    reports = [
        store.job_report(team, [Report(sub.id, t, Outcome.FAILED, error={"m": "stale"})], now=now)
        for t in stale_tokens
    ] + [store.job_report(team, [Report(sub.id, fresh, Outcome.SUCCEEDED, result=1)], now=now)]
    results = await asyncio.gather(*reports)
    applied = [r for [r] in results if r.applied]
    assert len(applied) == 1 and applied[0].state == JobState.SUCCEEDED
    job = await store.job_get(team, sub.id)
    assert job.state == JobState.SUCCEEDED and job.result == 1


async def test_batch_report_fails_only_the_stale_item(store: Store, team: uuid.UUID) -> None:
    subs = await store.job_submit_many(
        team, [JobSpec("demo.echo", {"i": i}) for i in range(3)], now=T0
    )
    claimed = await store.job_claim(team, agent_request(limit=3), now=T0)
    reports = [Report(c.id, c.lease_token, Outcome.SUCCEEDED) for c in claimed]
    reports[1] = Report(claimed[1].id, uuid.uuid4(), Outcome.SUCCEEDED)  # a wrong token
    results = await store.job_report(team, reports, now=T0)
    assert [r.applied for r in results] == [True, False, True]
    states = {j.id: j.state for j in await store.job_get_many(team, [s.id for s in subs])}
    assert states[claimed[1].id] == JobState.RUNNING
    assert sorted(states.values()) == sorted(
        [JobState.SUCCEEDED, JobState.SUCCEEDED, JobState.RUNNING]
    )


async def test_heartbeat_keeps_a_lease_alive(store: Store, team: uuid.UUID) -> None:
    [sub] = await store.job_submit_many(team, [JobSpec("demo.echo", {}, lease_s=30)], now=T0)
    _, token = await _claim_one(store, team, T0)
    for minute in range(1, 6):
        now = T0 + timedelta(seconds=20 * minute)
        hb = await store.lease_extend(
            team, [Lease(sub.id, token, progress={"pct": minute})], now=now
        )
        assert hb.extended[sub.id] == now + timedelta(seconds=30)
        assert await store.job_reap_expired(now=now + timedelta(seconds=29)) == []
    job = await store.job_get(team, sub.id)
    assert job.state == JobState.RUNNING and job.progress == {"pct": 5}


async def test_run_timeout_is_enforced_while_heartbeating(store: Store, team: uuid.UUID) -> None:
    [sub] = await store.job_submit_many(
        team, [JobSpec("demo.echo", {}, timeout_s=60, lease_s=30, max_attempts=1)], now=T0
    )
    _, token = await _claim_one(store, team, T0)
    await store.lease_extend(team, [Lease(sub.id, token)], now=T0 + timedelta(seconds=50))
    assert await store.job_reap_expired(now=T0 + timedelta(seconds=59)) == []
    assert await store.job_reap_expired(now=T0 + timedelta(seconds=60)) == [(sub.id, JobState.DEAD)]
    [attempt] = await store.attempt_list(team, sub.id)
    assert attempt.outcome == AttemptOutcome.TIMED_OUT
    assert (await store.job_get(team, sub.id)).error["code"] == "timeout"


async def test_dead_after_max_attempts_with_every_attempt_recorded(
    store: Store, team: uuid.UUID
) -> None:
    [sub] = await store.job_submit_many(
        team, [JobSpec("demo.echo", {}, max_attempts=3, lease_s=5)], now=T0
    )
    now = T0
    for _ in range(3):
        await _claim_one(store, team, now)
        now += timedelta(seconds=5)
        [(_, state)] = await store.job_reap_expired(now=now)
        now += timedelta(minutes=11)
        await store.job_promote_due(now=now)
    assert state == JobState.DEAD
    job = await store.job_get(team, sub.id)
    assert job.state == JobState.DEAD and job.attempt == 3 and job.finished_at is not None
    attempts = await store.attempt_list(team, sub.id)
    assert [a.attempt for a in attempts] == [1, 2, 3]
    assert all(a.outcome == AttemptOutcome.LEASE_EXPIRED and a.finished_at for a in attempts)


async def test_lease_expiring_with_cancel_pending_ends_cancelled(
    store: Store, team: uuid.UUID
) -> None:
    [sub] = await store.job_submit_many(team, [JobSpec("demo.echo", {}, lease_s=30)], now=T0)
    await _claim_one(store, team, T0)
    await store.job_cancel(team, [sub.id], now=T0 + timedelta(seconds=1))
    reaped = await store.job_reap_expired(now=T0 + timedelta(seconds=31))
    assert reaped == [(sub.id, JobState.CANCELLED)]
    [attempt] = await store.attempt_list(team, sub.id)
    assert attempt.outcome == AttemptOutcome.CANCELLED
