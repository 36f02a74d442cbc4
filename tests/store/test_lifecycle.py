"""Conformance: submit → claim → complete and the job lifecycle, on both dialects."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from conveyor.errors import InvalidTransition, NotFound
from conveyor.states import AttemptOutcome, JobState
from conveyor.store import JobSpec, Lease, Outcome, Report, Store
from tests.helpers.factories import agent_request

T0 = datetime(2030, 1, 1, tzinfo=UTC)


async def test_submit_claim_complete(store: Store, team: uuid.UUID) -> None:
    [sub] = await store.job_submit_many(team, [JobSpec("demo.echo", {"n": 1})])
    assert sub.created and sub.state == JobState.QUEUED
    job = await store.job_get(team, sub.id)
    assert (job.state, job.attempt, job.max_attempts, job.priority, job.queue) == (
        JobState.QUEUED, 0, 3, 0, "default",
    )  # fmt: skip
    assert job.params == {"n": 1}

    agent = uuid.uuid4()
    [claimed] = await store.job_claim(team, agent_request(agent_id=agent))
    assert claimed.id == sub.id and claimed.attempt == 1 and claimed.params == {"n": 1}
    running = await store.job_get(team, sub.id)
    assert running.state == JobState.RUNNING and running.agent_id == agent
    assert running.lease_expires_at is not None and running.started_at is not None
    assert await store.job_claim(team, agent_request()) == []

    [res] = await store.job_report(
        team, [Report(sub.id, claimed.lease_token, Outcome.SUCCEEDED, result={"ok": True})]
    )
    assert res.applied and res.state == JobState.SUCCEEDED
    done = await store.job_get(team, sub.id)
    assert done.state == JobState.SUCCEEDED and done.result == {"ok": True}
    assert done.finished_at is not None
    [attempt] = await store.attempt_list(team, sub.id)
    assert attempt.outcome == AttemptOutcome.SUCCEEDED and attempt.agent_id == agent
    assert attempt.lease_token == claimed.lease_token and attempt.finished_at is not None


async def test_claim_order_priority_then_run_at_then_submission(
    store: Store, team: uuid.UUID
) -> None:
    subs = await store.job_submit_many(
        team,
        [
            JobSpec("demo.echo", {"i": 0}, priority=0),
            JobSpec("demo.echo", {"i": 1}, priority=5),
            JobSpec("demo.echo", {"i": 2}, priority=0),
            JobSpec("demo.echo", {"i": 3}, priority=-5),
            JobSpec("demo.echo", {"i": 4}, priority=5),
        ],
        now=T0,
    )
    claimed = await store.job_claim(team, agent_request(limit=10), now=T0)
    assert [c.params["i"] for c in claimed] == [1, 4, 0, 2, 3]
    assert {c.id for c in claimed} == {s.id for s in subs}


async def test_claim_order_holds_across_jobs_with_and_without_a_concurrency_key(
    store: Store, team: uuid.UUID
) -> None:
    """On PostgreSQL a keyless job is claimed by the statement that finds it and a keyed
    one after the key check: the claim still comes back in claim order, within limits."""
    await store.job_submit_many(
        team,
        [
            JobSpec("demo.echo", {"i": 0}, priority=1),
            JobSpec("demo.echo", {"i": 1}, priority=9, concurrency_key="db", concurrency_limit=1),
            JobSpec("demo.echo", {"i": 2}, priority=5),
            JobSpec("demo.echo", {"i": 3}, priority=7, concurrency_key="db", concurrency_limit=1),
            JobSpec("demo.echo", {"i": 4}, priority=3, concurrency_key="s3", concurrency_limit=2),
        ],
        now=T0,
    )
    claimed = await store.job_claim(team, agent_request(limit=10), now=T0)
    # "db" has room for one (the first in claim order); job 3 waits for it.
    assert [c.params["i"] for c in claimed] == [1, 2, 4, 0]
    assert len({c.lease_token for c in claimed}) == 4
    for job in claimed:
        [attempt] = await store.attempt_list(team, job.id)
        assert attempt.lease_token == job.lease_token and attempt.started_at == job.started_at
    assert await store.job_claim(team, agent_request(limit=10), now=T0) == []


async def test_claim_respects_limit_queue_action_and_labels(store: Store, team: uuid.UUID) -> None:
    await store.job_submit_many(
        team,
        [
            JobSpec("demo.echo", {}, queue="other"),
            JobSpec("demo.other", {}),
            JobSpec("demo.echo", {}, labels={"gpu": "yes"}),
            JobSpec("demo.echo", {}, labels={"os": "linux"}),
            JobSpec("demo.echo", {}),
            JobSpec("demo.echo", {}),
        ],
    )
    first = await store.job_claim(team, agent_request(limit=1, labels={"os": "linux"}))
    assert len(first) == 1
    rest = await store.job_claim(team, agent_request(limit=10, labels={"os": "linux"}))
    assert len(rest) == 2  # the gpu job, the other queue and the other action stay
    gpu = await store.job_claim(team, agent_request(labels={"gpu": "yes", "os": "mac"}))
    assert len(gpu) == 1
    other = await store.job_claim(team, agent_request(queues=("other",)))
    assert len(other) == 1
    assert (await store.job_count_by_state(team))["queued"] == 1


async def test_schema_versions_route_to_agents_offering_them(store: Store, team: uuid.UUID) -> None:
    await store.job_submit_many(team, [JobSpec("demo.echo", {}, schema_hash="v2")])
    old = agent_request(versions={"demo.echo": ["v1"]})
    assert await store.job_claim(team, old) == []
    new = agent_request(versions={"demo.echo": ["v1", "v2"]})
    assert len(await store.job_claim(team, new)) == 1


async def test_other_teams_see_nothing(store: Store, team: uuid.UUID) -> None:
    other = await store.team_create("other", "Other")
    [sub] = await store.job_submit_many(team, [JobSpec("demo.echo", {})])
    assert await store.job_claim(other, agent_request()) == []
    with pytest.raises(NotFound):
        await store.job_get(other, sub.id)
    with pytest.raises(NotFound):
        await store.job_cancel(other, [sub.id])
    [claimed] = await store.job_claim(team, agent_request())
    [res] = await store.job_report(other, [Report(sub.id, claimed.lease_token, Outcome.SUCCEEDED)])
    assert not res.applied
    hb = await store.lease_extend(other, [Lease(sub.id, claimed.lease_token)])
    assert hb.lost == [sub.id]


async def test_delayed_job_waits_until_promoted(store: Store, team: uuid.UUID) -> None:
    [sub] = await store.job_submit_many(
        team, [JobSpec("demo.echo", {}, run_at=T0 + timedelta(minutes=5))], now=T0
    )
    assert sub.state == JobState.SCHEDULED
    assert await store.job_claim(team, agent_request(), now=T0) == []
    assert await store.job_promote_due(now=T0 + timedelta(minutes=4)) == []
    assert await store.job_promote_due(now=T0 + timedelta(minutes=5)) == [sub.id]
    assert len(await store.job_claim(team, agent_request(), now=T0 + timedelta(minutes=5))) == 1


async def test_failure_retries_with_backoff_then_dead(store: Store, team: uuid.UUID) -> None:
    [sub] = await store.job_submit_many(
        team,
        [JobSpec("demo.echo", {}, max_attempts=3, backoff_base_s=2, backoff_max_s=600)],
        now=T0,
    )
    now = T0
    for attempt in (1, 2, 3):
        [c] = await store.job_claim(team, agent_request(), now=now)
        assert c.attempt == attempt
        [r] = await store.job_report(
            team,
            [Report(sub.id, c.lease_token, Outcome.FAILED, error={"message": f"boom {attempt}"})],
            now=now,
        )
        job = await store.job_get(team, sub.id)
        if attempt < 3:
            assert r.state == JobState.SCHEDULED
            cap = timedelta(seconds=2 * 2 ** (attempt - 1))
            assert now <= job.run_at <= now + cap  # full jitter within the cap
            assert job.finished_at is None
            now = now + cap
            assert await store.job_promote_due(now=now) == [sub.id]
        else:
            assert r.state == JobState.DEAD and job.finished_at is not None
    attempts = await store.attempt_list(team, sub.id)
    assert [a.outcome for a in attempts] == [AttemptOutcome.FAILED] * 3
    assert [a.error["message"] for a in attempts] == ["boom 1", "boom 2", "boom 3"]


async def test_non_retryable_failure_is_dead_at_once(store: Store, team: uuid.UUID) -> None:
    [sub] = await store.job_submit_many(team, [JobSpec("demo.echo", {})])
    [c] = await store.job_claim(team, agent_request())
    [r] = await store.job_report(
        team,
        [Report(sub.id, c.lease_token, Outcome.FAILED, error={"message": "bad"}, retryable=False)],
    )
    assert r.state == JobState.DEAD


async def test_manual_retry_of_dead_job_gives_fresh_attempts(store: Store, team: uuid.UUID) -> None:
    [sub] = await store.job_submit_many(team, [JobSpec("demo.echo", {}, max_attempts=1)])
    [c] = await store.job_claim(team, agent_request())
    await store.job_report(team, [Report(sub.id, c.lease_token, Outcome.FAILED)])
    assert (await store.job_get(team, sub.id)).state == JobState.DEAD
    [r] = await store.job_retry(team, [sub.id])
    assert r.state == JobState.QUEUED
    [c2] = await store.job_claim(team, agent_request())
    assert c2.attempt == 2  # the counter keeps counting
    [r2] = await store.job_report(team, [Report(sub.id, c2.lease_token, Outcome.FAILED)])
    assert r2.state == JobState.DEAD  # one fresh attempt, used
    assert len(await store.attempt_list(team, sub.id)) == 2
    [queued] = await store.job_submit_many(team, [JobSpec("demo.echo", {})])
    with pytest.raises(InvalidTransition):
        await store.job_retry(team, [queued.id])


async def test_release_costs_no_attempt(store: Store, team: uuid.UUID) -> None:
    [sub] = await store.job_submit_many(team, [JobSpec("demo.echo", {}, max_attempts=1)])
    [c] = await store.job_claim(team, agent_request())
    [r] = await store.job_report(team, [Report(sub.id, c.lease_token, Outcome.RELEASED)])
    assert r.state == JobState.QUEUED
    [c2] = await store.job_claim(team, agent_request())
    [r2] = await store.job_report(team, [Report(sub.id, c2.lease_token, Outcome.FAILED)])
    assert r2.state == JobState.DEAD
    outcomes = [a.outcome for a in await store.attempt_list(team, sub.id)]
    assert outcomes == [AttemptOutcome.RELEASED, AttemptOutcome.FAILED]


async def test_cancel_queued_is_immediate(store: Store, team: uuid.UUID) -> None:
    [sub] = await store.job_submit_many(team, [JobSpec("demo.echo", {})])
    [r] = await store.job_cancel(team, [sub.id])
    assert r.state == JobState.CANCELLED and not r.cancel_requested
    assert await store.job_claim(team, agent_request()) == []
    [again] = await store.job_cancel(team, [sub.id])  # idempotent
    assert again.state == JobState.CANCELLED


async def test_cancel_running_sets_flag_heartbeat_tells_agent(
    store: Store, team: uuid.UUID
) -> None:
    [sub] = await store.job_submit_many(team, [JobSpec("demo.echo", {})])
    [c] = await store.job_claim(team, agent_request())
    [r] = await store.job_cancel(team, [sub.id])
    assert r.state == JobState.RUNNING and r.cancel_requested
    hb = await store.lease_extend(team, [Lease(sub.id, c.lease_token)])
    assert hb.cancel_requested == [sub.id] and sub.id in hb.extended
    # Whatever the agent reports, a pending cancel wins.
    [res] = await store.job_report(team, [Report(sub.id, c.lease_token, Outcome.FAILED)])
    assert res.state == JobState.CANCELLED
    [attempt] = await store.attempt_list(team, sub.id)
    assert attempt.outcome == AttemptOutcome.CANCELLED


async def test_cancel_finished_job_is_refused(store: Store, team: uuid.UUID) -> None:
    [sub] = await store.job_submit_many(team, [JobSpec("demo.echo", {})])
    [c] = await store.job_claim(team, agent_request())
    await store.job_report(team, [Report(sub.id, c.lease_token, Outcome.SUCCEEDED)])
    with pytest.raises(InvalidTransition):
        await store.job_cancel(team, [sub.id])
    with pytest.raises(NotFound):
        await store.job_cancel(team, [uuid.uuid4()])


async def test_paused_queue_is_not_claimed(store: Store, team: uuid.UUID) -> None:
    await store.job_submit_many(team, [JobSpec("demo.echo", {})])
    await store.queue_set_paused(team, "default", True)
    assert await store.job_claim(team, agent_request()) == []
    await store.queue_set_paused(team, "default", False)
    assert len(await store.job_claim(team, agent_request())) == 1
