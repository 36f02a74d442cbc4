"""The queue overview: configured queues and those holding unfinished jobs, with counts."""

from __future__ import annotations

import uuid

from conveyor.store import JobSpec, Outcome, Report, Store
from conveyor.store.records import QueueSummary
from tests.helpers.factories import agent_request


async def test_lists_configured_and_busy_queues_with_unfinished_jobs_per_state(
    store: Store, team: uuid.UUID
) -> None:
    await store.queue_set_paused(team, "idle", True)  # configured, no jobs
    await store.job_submit_many(team, [JobSpec("demo.echo", queue="work") for _ in range(3)])
    [done, running] = await store.job_claim(team, agent_request(2, queues=("work",)))
    await store.job_report(team, [Report(done.id, done.lease_token, Outcome.SUCCEEDED)])
    await store.job_submit_many(team, [JobSpec("demo.echo", queue="finished")])
    [last] = await store.job_claim(team, agent_request(1, queues=("finished",)))
    await store.job_report(team, [Report(last.id, last.lease_token, Outcome.SUCCEEDED)])

    assert running.queue == "work"
    assert await store.queue_list(team) == [
        QueueSummary("idle", paused=True, counts={}),
        QueueSummary("work", paused=False, counts={"queued": 1, "running": 1}),
    ]  # finished jobs count nowhere; a queue with only those is not listed


async def test_shows_only_the_teams_own_queues(store: Store, team: uuid.UUID) -> None:
    other = await store.team_create("other", "Other")
    await store.job_submit_many(other, [JobSpec("demo.echo", queue="theirs")])
    await store.queue_set_paused(other, "paused-there", True)

    assert await store.queue_list(team) == []
