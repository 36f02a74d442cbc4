"""Conformance: a submit that claims its new jobs for waiting agents in its transaction.

The claim is the ordinary one: claim order, concurrency limits and labels still
decide; it only never asks for more than the jobs this submit created.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from conveyor.states import AttemptOutcome, JobState
from conveyor.store import JobSpec, Lease, Outcome, Report, Store
from tests.helpers.factories import agent_request


async def test_new_jobs_go_to_the_waiting_agents_in_turn(store: Store, team: uuid.UUID) -> None:
    first, second = agent_request(limit=2), agent_request(limit=5)
    specs = [JobSpec("demo.echo", {"n": n}) for n in range(3)]
    submitted, (a, b) = await store.job_submit_and_claim(team, specs, [first, second])

    assert [len(a), len(b)] == [2, 1]  # the second asked for 5: only one new job was left
    assert [j.id for j in a + b] == [s.id for s in submitted]  # in claim order
    for claimed, agent in ((a[0], first), (a[1], first), (b[0], second)):
        job = await store.job_get(team, claimed.id)
        assert job.state == JobState.RUNNING and job.agent_id == agent.agent_id
        assert job.attempt == claimed.attempt == 1 and job.started_at is not None
        [attempt] = await store.attempt_list(team, claimed.id)
        assert attempt.outcome == AttemptOutcome.RUNNING
        assert attempt.lease_token == claimed.lease_token
    events = await store.events_after(team, 0, limit=100, object_id=a[0].id)
    assert [e.data["state"] for e in events] == [JobState.QUEUED, JobState.RUNNING]


async def test_an_agent_that_cannot_run_them_leaves_them_queued(
    store: Store, team: uuid.UUID
) -> None:
    other = agent_request(actions=("demo.other",))
    labelled = agent_request()
    specs = [
        JobSpec("demo.echo", {}, labels={"gpu": "yes"}),
        JobSpec("demo.echo", {}, queue="reports"),
    ]
    submitted, claims = await store.job_submit_and_claim(team, specs, [other, labelled])
    assert claims == [[], []]
    for sub in submitted:
        assert (await store.job_get(team, sub.id)).state == JobState.QUEUED
    # Still there for the dispatcher's claims.
    [claimed] = await store.job_claim(team, agent_request(labels={"gpu": "yes"}))
    assert claimed.id == submitted[0].id


async def test_claim_order_still_rules(store: Store, team: uuid.UUID) -> None:
    """An older, more urgent job is claimed before the new one, which stays queued."""
    [urgent] = await store.job_submit_many(team, [JobSpec("demo.echo", {}, priority=5)])
    [new], [[claimed]] = await store.job_submit_and_claim(
        team, [JobSpec("demo.echo", {})], [agent_request(limit=1)]
    )
    assert claimed.id == urgent.id
    assert (await store.job_get(team, new.id)).state == JobState.QUEUED


async def test_concurrency_limits_hold(store: Store, team: uuid.UUID) -> None:
    specs = [JobSpec("demo.echo", {"n": n}, concurrency_key="tenant-1") for n in range(3)]
    submitted, [claimed] = await store.job_submit_and_claim(team, specs, [agent_request(limit=10)])
    assert [j.id for j in claimed] == [submitted[0].id]
    states = [(await store.job_get(team, s.id)).state for s in submitted]
    assert states == [JobState.RUNNING, JobState.QUEUED, JobState.QUEUED]


async def test_a_duplicate_is_not_claimed_again(store: Store, team: uuid.UUID) -> None:
    spec = JobSpec("demo.echo", {"n": 1}, idempotency_key="once")
    [sub], [[claimed]] = await store.job_submit_and_claim(team, [spec], [agent_request()])
    [again], [nothing] = await store.job_submit_and_claim(team, [spec], [agent_request()])
    assert again.id == sub.id == claimed.id and not again.created and nothing == []
    job = await store.job_get(team, sub.id)
    assert job.attempt == 1 and len(await store.attempt_list(team, sub.id)) == 1


async def test_scheduled_jobs_are_not_claimed(store: Store, team: uuid.UUID) -> None:
    later = datetime.now(UTC) + timedelta(hours=1)
    [sub], [claims] = await store.job_submit_and_claim(
        team, [JobSpec("demo.echo", {}, run_at=later)], [agent_request()]
    )
    assert claims == [] and sub.state == JobState.SCHEDULED


async def test_a_job_for_an_idle_agent_starts_with_all_a_claim_writes(
    store: Store, team: uuid.UUID
) -> None:
    """On PostgreSQL this is the insert that hands the job over (submit_jobs with an
    agent): the job, its attempt, its events and its lease must be those of a claim."""
    agent = agent_request(limit=2)
    spec = JobSpec("demo.echo", {"n": 1}, timeout_s=60, lease_s=30)
    [sub], [[claimed]] = await store.job_submit_and_claim(team, [spec], [agent])
    assert claimed.id == sub.id and claimed.params == {"n": 1} and claimed.attempt == 1
    assert claimed.action == "demo.echo" and claimed.queue == "default"
    job = await store.job_get(team, sub.id)
    assert job.state == JobState.RUNNING and job.agent_id == agent.agent_id
    assert job.attempt == 1 and job.started_at == claimed.started_at
    assert job.created_at <= job.started_at
    assert claimed.lease_expires_at == job.started_at + timedelta(seconds=30)
    assert claimed.deadline_at == job.started_at + timedelta(seconds=60)
    [attempt] = await store.attempt_list(team, sub.id)
    assert attempt.outcome == AttemptOutcome.RUNNING and attempt.lease_token == claimed.lease_token
    events = await store.events_after(team, 0, limit=100, object_id=sub.id)
    assert [e.data["state"] for e in events] == [JobState.QUEUED, JobState.RUNNING]
    assert events[1].data["attempt"] == 1
    assert events[1].data["agent_id"] == str(agent.agent_id)

    # An ordinary lease from here on: the token fences heartbeats and the result.
    beat = await store.lease_extend(team, [Lease(sub.id, claimed.lease_token)])
    assert sub.id in beat.extended and beat.lost == []
    [done] = await store.job_report(
        team, [Report(sub.id, claimed.lease_token, Outcome.SUCCEEDED, result=7)]
    )
    assert done.applied and (await store.job_get(team, sub.id)).state == JobState.SUCCEEDED


async def test_a_paused_queue_keeps_its_new_jobs(store: Store, team: uuid.UUID) -> None:
    await store.queue_set_paused(team, "default", True)
    [sub], [claims] = await store.job_submit_and_claim(
        team, [JobSpec("demo.echo", {})], [agent_request()]
    )
    assert claims == [] and (await store.job_get(team, sub.id)).state == JobState.QUEUED
    await store.queue_set_paused(team, "default", False)
    [claimed] = await store.job_claim(team, agent_request())
    assert claimed.id == sub.id


async def test_a_less_urgent_older_job_waits_behind_the_new_one(
    store: Store, team: uuid.UUID
) -> None:
    [older] = await store.job_submit_many(team, [JobSpec("demo.echo", {}, priority=-5)])
    [new], [[claimed]] = await store.job_submit_and_claim(
        team, [JobSpec("demo.echo", {}, priority=3)], [agent_request(limit=1)]
    )
    assert claimed.id == new.id
    assert (await store.job_get(team, older.id)).state == JobState.QUEUED


async def test_only_the_jobs_the_agent_may_run_are_handed_to_it(
    store: Store, team: uuid.UUID
) -> None:
    """A batch with one job the agent cannot take is claimed the ordinary way: the
    agent still gets the others."""
    specs = [JobSpec("demo.echo", {}), JobSpec("demo.echo", {}, labels={"gpu": "yes"})]
    submitted, [claimed] = await store.job_submit_and_claim(team, specs, [agent_request()])
    assert [c.id for c in claimed] == [submitted[0].id]
    assert (await store.job_get(team, submitted[1].id)).state == JobState.QUEUED


# Each case: the new job, the agent, and what else is in the team first. On PostgreSQL
# a job that claim.py judges the agent may run goes through the insert that claims it
# (submit_jobs with an agent), the rest through the ordinary claim; either way the
# answer must be the one the ordinary claim gives for the same state.
_GPU = {"gpu": "yes"}
_CASES = {
    "runs here": (JobSpec("demo.echo"), agent_request(), []),
    "labels it carries": (
        JobSpec("demo.echo", labels=_GPU),
        agent_request(labels={"gpu": "yes", "zone": "a"}),
        [],
    ),
    "a label it lacks": (JobSpec("demo.echo", labels=_GPU), agent_request(), []),
    "a label's other value": (
        JobSpec("demo.echo", labels=_GPU),
        agent_request(labels={"gpu": "no"}),
        [],
    ),
    "an action it does not offer": (JobSpec("demo.other"), agent_request(), []),
    "the schema version it offers": (
        JobSpec("demo.echo", schema_hash="v2"),
        agent_request(versions={"demo.echo": ["v1", "v2"]}),
        [],
    ),
    "a schema version it lacks": (
        JobSpec("demo.echo", schema_hash="v3"),
        agent_request(versions={"demo.echo": ["v1", "v2"]}),
        [],
    ),
    "a queue it does not listen on": (JobSpec("demo.echo", queue="reports"), agent_request(), []),
    "one of its queues": (
        JobSpec("demo.echo", queue="reports"),
        agent_request(queues=("default", "reports")),
        [],
    ),
    "no room": (JobSpec("demo.echo"), agent_request(limit=0), []),
    "an older job first": (JobSpec("demo.echo"), agent_request(limit=1), [JobSpec("demo.echo")]),
    "an older job it cannot run": (
        JobSpec("demo.echo"),
        agent_request(limit=1),
        [JobSpec("demo.echo", labels=_GPU)],
    ),
    "an older, less urgent job": (
        JobSpec("demo.echo", priority=1),
        agent_request(limit=1),
        [JobSpec("demo.echo")],
    ),
}


@pytest.mark.parametrize("case", list(_CASES))
async def test_the_shortcut_claims_what_the_ordinary_claim_would(store: Store, case: str) -> None:
    spec, agent, before = _CASES[case]
    claimed_by = {}
    for way in ("submit_and_claim", "ordinary"):
        team = await store.team_create(f"t-{way}", way)
        if before:
            await store.job_submit_many(team, before)
        if way == "submit_and_claim":
            [new], [claimed] = await store.job_submit_and_claim(team, [spec], [agent])
        else:
            [new] = await store.job_submit_many(team, [spec])
            claimed = await store.job_claim(team, replace(agent, limit=min(agent.limit, 1)))
        claimed_by[way] = [c.id == new.id for c in claimed]
    assert claimed_by["submit_and_claim"] == claimed_by["ordinary"], claimed_by
