"""The shapes of the flow claims (queries/claim.py, flow.py), on both dialects: a claim
of a queue the cached settings say is only fair skips the lock statement, and checks
those settings itself, so a stale copy never lets a job past a limit; how many
statements each flow claim takes on PostgreSQL (each one more round trip, most of
them under the limit's lock)."""

from __future__ import annotations

import uuid

from conveyor.store import JobSpec, QueueChange, Store
from conveyor.store.queries.claim import claim_jobs
from conveyor.store.queries.flow import FlowConfig
from conveyor.store.records import RateLimit
from tests.helpers.factories import agent_request
from tests.store.test_flow import _offer
from tests.store.test_statement_count import counting

STALE = FlowConfig(queues=frozenset({"default"}), fair_only=frozenset({"default"}))
"""What the cache said while ``default`` was only fair."""


async def _claim_with(store: Store, team: uuid.UUID, config: FlowConfig, limit: int) -> int:
    claimed = await store.db.write(claim_jobs, None, team, agent_request(limit=limit), config)
    return len(claimed)


async def _fair_jobs(store: Store, team: uuid.UUID, n: int) -> None:
    specs = [JobSpec("demo.echo", {"i": i}, fair_key=f"k{i % 3}") for i in range(n)]
    await store.job_submit_many(team, specs)


async def test_a_stale_fair_only_copy_never_lets_a_job_past_a_queue_limit(
    store: Store, team: uuid.UUID
) -> None:
    await store.queue_update(team, "default", QueueChange(fair=True, concurrency_limit=2))
    await _fair_jobs(store, team, 6)
    assert await _claim_with(store, team, STALE, 10) == 2
    assert await _claim_with(store, team, STALE, 10) == 0


async def test_a_stale_fair_only_copy_never_claims_from_a_paused_queue(
    store: Store, team: uuid.UUID
) -> None:
    await store.queue_update(team, "default", QueueChange(fair=True, paused=True))
    await _fair_jobs(store, team, 3)
    assert await _claim_with(store, team, STALE, 10) == 0


async def test_a_stale_fair_only_copy_never_lets_a_job_past_an_action_limit(
    store: Store, team: uuid.UUID
) -> None:
    await store.queue_update(team, "default", QueueChange(fair=True))
    await _offer(store, team, "demo.echo")
    await store.action_set_limit(team, "demo.echo", 1)
    await _fair_jobs(store, team, 4)
    assert await _claim_with(store, team, STALE, 10) == 1


async def test_a_fair_only_claim_hands_out_the_fair_order_in_few_statements(
    store: Store, team: uuid.UUID
) -> None:
    await store.queue_update(team, "default", QueueChange(fair=True))
    await _fair_jobs(store, team, 9)
    await store.flow_config(team)  # cached: the claims below read no settings
    with counting(store) as seen:
        claimed = await store.job_claim(team, agent_request(limit=3))
    assert len(claimed) == 3
    if store.dialect == "postgresql":  # heads with the running counts, then the claim
        assert len(seen) == 2, seen
    keys = {(await store.job_get(team, job.id)).fair_key for job in claimed}
    assert keys == {"k0", "k1", "k2"}


async def test_limited_claims_on_postgresql_take_three_statements(
    store: Store, team: uuid.UUID
) -> None:
    change = QueueChange(rate_limit=RateLimit(100, 1.0), concurrency_limit=100)
    await store.queue_update(team, "default", change)
    await store.job_submit_many(team, [JobSpec("demo.echo", {"i": i}) for i in range(5)])
    await store.flow_config(team)
    with counting(store) as seen:
        claimed = await store.job_claim(team, agent_request(limit=10))
    assert len(claimed) == 5
    if store.dialect == "postgresql":  # lock, room with candidates, claim with starts
        assert len(seen) == 3, seen
