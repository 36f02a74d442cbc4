"""Idempotency keys are held until a window after their job finishes (24 h by default).

A submit retried after its job finished (its first answer lost) must find that job,
not make a second one; once the window has passed the key is free again. Time is
moved with ``now``: the job finishes at T0 and the retries come later.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from conveyor.errors import IdempotencyConflict
from conveyor.states import JobState
from conveyor.store import JobSpec, Outcome, Report, Store
from conveyor.store.queries.retention import KeepFinished
from tests.helpers.factories import agent_request

T0 = datetime(2030, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
KEY = "export-42"


def keyed(params: dict[str, int] | None = None, key: str = KEY) -> JobSpec:
    return JobSpec("demo.echo", params if params is not None else {"n": 1}, idempotency_key=key)


async def _run_to_success(store: Store, team: uuid.UUID, spec: JobSpec) -> uuid.UUID:
    """Submit ``spec`` and finish it at T0."""
    [sub] = await store.job_submit_many(team, [spec], now=T0)
    [claimed] = await store.job_claim(team, agent_request(limit=1), now=T0)
    report = Report(sub.id, claimed.lease_token, Outcome.SUCCEEDED, result={"ok": True})
    [done] = await store.job_report(team, [report], now=T0)
    assert done.state == JobState.SUCCEEDED
    return sub.id


async def _job_count(store: Store, team: uuid.UUID) -> int:
    return len((await store.job_list(team)).items)


async def test_a_retry_after_the_job_succeeded_finds_that_job(
    store: Store, team: uuid.UUID
) -> None:
    first = await _run_to_success(store, team, keyed())

    [again] = await store.job_submit_many(team, [keyed()], now=T0 + 23 * HOUR)

    assert (again.id, again.created, again.state) == (first, False, JobState.SUCCEEDED)
    assert await _job_count(store, team) == 1


async def test_other_params_within_the_window_conflict(store: Store, team: uuid.UUID) -> None:
    await _run_to_success(store, team, keyed())
    with pytest.raises(IdempotencyConflict):
        await store.job_submit_many(team, [keyed({"n": 2})], now=T0 + HOUR)


async def test_after_the_window_the_key_makes_a_new_job(store: Store, team: uuid.UUID) -> None:
    first = await _run_to_success(store, team, keyed())

    [later] = await store.job_submit_many(team, [keyed({"n": 2})], now=T0 + 24 * HOUR)

    assert later.created and later.id != first and later.state == JobState.QUEUED
    assert (await store.job_get(team, later.id)).idempotency_key == KEY
    assert (await store.job_get(team, first)).idempotency_key is None  # forgotten
    [same] = await store.job_submit_many(team, [keyed({"n": 2})], now=T0 + 25 * HOUR)
    assert same.id == later.id and not same.created


async def test_a_batch_mixes_new_jobs_held_keys_and_expired_keys(
    store: Store, team: uuid.UUID
) -> None:
    recent = await _run_to_success(store, team, keyed(key="recent"))
    old = await _run_to_success(store, team, keyed(key="old"))
    # Within the window both keys return their job; the unkeyed job is new.
    [a, b, c] = await store.job_submit_many(
        team, [keyed(key="recent"), JobSpec("demo.echo", {}), keyed(key="old")], now=T0 + HOUR
    )
    assert (a.id, a.created) == (recent, False)
    assert b.created
    assert (c.id, c.created) == (old, False)

    # With a window of 30 min, an hour after they finished both keys are free again.
    store.idempotency_window = timedelta(minutes=30)
    [d, e] = await store.job_submit_many(
        team, [keyed(key="old"), keyed(key="fresh")], now=T0 + HOUR
    )
    assert d.created and d.id != old and e.created
    [f] = await store.job_submit_many(team, [keyed(key="recent")], now=T0 + HOUR)
    assert f.created and f.id != recent
    assert await _job_count(store, team) == 6


async def test_a_zero_window_frees_the_key_when_the_job_finishes(
    store: Store, team: uuid.UUID
) -> None:
    store.idempotency_window = timedelta(0)
    first = await _run_to_success(store, team, keyed())
    [unfinished] = await store.job_submit_many(team, [keyed()], now=T0)
    assert unfinished.created and unfinished.id != first
    [same] = await store.job_submit_many(team, [keyed()], now=T0)
    assert same.id == unfinished.id and not same.created  # held while unfinished


async def test_retention_that_deleted_the_job_frees_its_key(store: Store, team: uuid.UUID) -> None:
    """Retention keeps finished jobs for days, past the window; one set shorter than
    the window deletes the job, and with it the key: a retry then makes a new job."""
    first = await _run_to_success(store, team, keyed())
    await store.job_submit_many(team, [JobSpec("demo.echo", {})], now=T0)  # SQLite keeps the last
    pruned = await store.job_prune_finished(KeepFinished(succeeded=HOUR), now=T0 + 2 * HOUR)
    assert pruned.jobs == 1

    [again] = await store.job_submit_many(team, [keyed()], now=T0 + 3 * HOUR)

    assert again.created and again.id != first
