"""Bad input raises a typed error and writes nothing."""

from __future__ import annotations

import math
import uuid

import pytest
import sqlalchemy as sa

from conveyor.errors import InvalidInput, InvalidParams, InvalidTransition, LimitExceeded, NotFound
from conveyor.store import JobSpec, Outcome, Report, Store
from conveyor.store.schema import events, jobs
from tests.helpers.factories import agent_request


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"priority": 101}, InvalidInput),
        ({"priority": -101}, InvalidInput),
        ({"priority": True}, InvalidInput),
        ({"params": {"s": {1, 2}}}, InvalidParams),
        ({"params": {"x": math.nan}}, InvalidParams),
        ({"params": [math.inf]}, InvalidParams),
        ({"params": {"blob": "x" * (256 * 1024)}}, LimitExceeded),
        ({"max_attempts": 0}, InvalidInput),
        ({"queue": ""}, InvalidInput),
        ({"action": "a" * 201}, InvalidInput),
        ({"timeout_s": -1}, InvalidInput),
        ({"labels": {"gpu": 1}}, InvalidInput),
        ({"concurrency_key": "k", "concurrency_limit": 0}, InvalidInput),
    ],
)
def test_invalid_spec_is_refused(kwargs: dict[str, object], error: type[Exception]) -> None:
    spec: dict[str, object] = {"action": "demo.echo", "params": {}} | kwargs
    with pytest.raises(error) as info:
        JobSpec(**spec)  # type: ignore[arg-type]
    assert info.value.args[0]  # a message a person can read


async def _counts(store: Store) -> tuple[int, int]:
    engine = store.db.sync_engine()
    try:
        with engine.connect() as conn:
            n_jobs = conn.execute(sa.select(sa.func.count()).select_from(jobs)).scalar_one()
            n_events = conn.execute(sa.select(sa.func.count()).select_from(events)).scalar_one()
    finally:
        engine.dispose()
    return n_jobs, n_events


async def test_a_refused_batch_writes_nothing(store: Store, team: uuid.UUID) -> None:
    [first] = await store.job_submit_many(
        team, [JobSpec("demo.echo", {"a": 1}, idempotency_key="k")]
    )
    before = await _counts(store)
    from conveyor.errors import IdempotencyConflict

    with pytest.raises(IdempotencyConflict) as info:
        await store.job_submit_many(
            team,
            [
                JobSpec("demo.echo", {"fine": True}),
                JobSpec("demo.echo", {"a": 2}, idempotency_key="k"),
            ],
        )
    assert info.value.details["job_id"] == str(first.id)
    assert await _counts(store) == before


async def test_unknown_transitions_are_refused_and_change_nothing(
    store: Store, team: uuid.UUID
) -> None:
    [sub] = await store.job_submit_many(team, [JobSpec("demo.echo", {})])
    before = await _counts(store)
    with pytest.raises(InvalidTransition):
        await store.job_retry(team, [sub.id])  # a queued job cannot be retried
    with pytest.raises(NotFound):
        await store.job_retry(team, [uuid.uuid4()])
    assert await _counts(store) == before
    [c] = await store.job_claim(team, agent_request())
    await store.job_report(team, [Report(sub.id, c.lease_token, Outcome.SUCCEEDED)])
    before = await _counts(store)
    with pytest.raises(InvalidTransition):
        await store.job_cancel(team, [sub.id])
    # a report for a finished job is stale, not a transition
    [r] = await store.job_report(team, [Report(sub.id, c.lease_token, Outcome.FAILED)])
    assert not r.applied
    assert await _counts(store) == before


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"timeout_s": 3e11}, "timeout_s"),
        ({"max_attempts": 10**6}, "max_attempts"),
        ({"concurrency_key": "k", "concurrency_limit": 10**12}, "concurrency_limit"),
        ({"queue": "a\x00b"}, "queue"),
        ({"idempotency_key": "k\u202e"}, "idempotency_key"),
        ({"labels": {"gpu": "a\x00"}}, "labels"),
        ({"params": {"a\x00": 1}}, "params"),
        ({"params": {"a": ["x\x00"]}}, "params"),
    ],
)
def test_the_store_refuses_what_the_api_bounds(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises((InvalidInput, InvalidParams)) as info:
        JobSpec(**({"action": "demo.echo"} | kwargs))  # type: ignore[arg-type]
    assert info.value.details.get("field") == field


async def test_a_row_with_an_extreme_timeout_does_not_block_its_team(
    store: Store, team: uuid.UUID
) -> None:
    """Written around the store's checks (an old version, a hand edit), the row is still
    claimed with a deadline capped at 30 days, and the team's later work flows."""
    [bad] = await store.job_submit_many(team, [JobSpec("demo.echo", {}, priority=5)])
    engine = store.db.sync_engine()
    try:
        with engine.begin() as conn:
            conn.execute(sa.update(jobs).where(jobs.c.id == bad.id).values(timeout_s=3e11))
    finally:
        engine.dispose()
    [claimed] = await store.job_claim(team, agent_request(limit=1))
    assert claimed.id == bad.id and claimed.deadline_at is not None
    assert (claimed.deadline_at - claimed.started_at).days <= 30
    [later], [[taken]] = await store.job_submit_and_claim(
        team, [JobSpec("demo.echo", {})], [agent_request(limit=1)]
    )
    assert taken.id == later.id
