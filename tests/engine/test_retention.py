"""The retention service in the engine, on both dialects: prunes, and hands over blobs."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from conveyor.engine import Engine, EngineConfig
from conveyor.states import JobState
from conveyor.store import JobSpec, Outcome, Report, Store
from conveyor.store.queries.retention import KeepFinished
from conveyor.store.schema import events
from conveyor.store.transaction import Tx
from tests.engine.conftest import QUIET
from tests.helpers.factories import agent_request

PROMPT_S = 20.0
DAY = timedelta(days=1)
SHA = "0" * 64


async def _succeed_with_artifact(
    store: Store, team: uuid.UUID, at: datetime, key: str
) -> uuid.UUID:
    [sub] = await store.job_submit_many(team, [JobSpec("demo.echo", {"key": key})], now=at)
    [claimed] = await store.job_claim(team, agent_request(limit=1), now=at)
    await store.artifact_record(
        team, sub.id, claimed.lease_token, name="out.bin", size=1, sha256=SHA,
        content_type="application/octet-stream", storage_key=key,
    )  # fmt: skip
    await store.job_report(team, [Report(sub.id, claimed.lease_token, Outcome.SUCCEEDED)], now=at)
    return sub.id


def _event_count(tx: Tx) -> int:
    return int(tx.conn.execute(sa.select(sa.func.count()).select_from(events)).scalar_one())


async def test_the_loop_prunes_old_jobs_and_events_and_hands_over_blobs(
    store: Store, team: uuid.UUID
) -> None:
    deleted: list[str] = []

    async def delete_blobs(keys: list[str]) -> None:
        deleted.extend(keys)

    engine = Engine(store, QUIET, on_artifacts_deleted=delete_blobs)
    past = datetime.now(UTC) - 10 * DAY
    old = [await _succeed_with_artifact(store, team, past, f"blob-{i}") for i in range(3)]
    fresh = await _succeed_with_artifact(store, team, datetime.now(UTC), "blob-fresh")
    events_before = await store.db.read(_event_count, None)
    await engine.start()
    try:
        assert await engine.retention.wake().wait(PROMPT_S)
    finally:
        await engine.stop()
    assert sorted(deleted) == ["blob-0", "blob-1", "blob-2"]
    assert [j.id for j in await store.job_get_many(team, [*old, fresh])] == [fresh]
    # The old jobs' events (10 days old) went; the fresh job's stayed.
    assert 0 < await store.db.read(_event_count, None) < events_before


async def test_run_once_with_now_batches_and_takes_a_sync_callback(
    store: Store, team: uuid.UUID
) -> None:
    batches: list[list[str]] = []
    config = EngineConfig(
        keep_finished=KeepFinished(succeeded=DAY), keep_events=None, retention_batch=2
    )
    engine = Engine(store, config, on_artifacts_deleted=batches.append)
    t0 = datetime(2030, 1, 1, tzinfo=UTC)
    ids = [await _succeed_with_artifact(store, team, t0, f"b{i}") for i in range(3)]
    [queued] = await store.job_submit_many(team, [JobSpec("other.action")], now=t0)
    events_before = await store.db.read(_event_count, None)

    # Nothing to prune yet; the stats fold t0's minute of wait and run times into its hour.
    assert await engine.retention.run_once(now=t0 + DAY / 2) == 2
    # Two jobs, and the stats' rollups of t0: its minute's counts, its hour's two times.
    assert await engine.retention.run_once(now=t0 + 2 * DAY) == 2 + 3
    assert await engine.retention.run_once(now=t0 + 2 * DAY) == 1
    assert await engine.retention.run_once(now=t0 + 2 * DAY) == 0
    assert sorted(k for b in batches for k in b) == ["b0", "b1", "b2"]
    assert [len(b) for b in batches] == [2, 1]
    assert await store.job_get_many(team, ids) == []
    assert (await store.job_get(team, queued.id)).state == JobState.QUEUED
    assert await store.db.read(_event_count, None) == events_before  # keep_events=None


async def test_a_failing_blob_callback_does_not_stop_the_loop(
    store: Store, team: uuid.UUID
) -> None:
    def broken(keys: list[str]) -> None:
        raise OSError("disk gone")

    engine = Engine(store, QUIET, on_artifacts_deleted=broken)
    t0 = datetime(2030, 1, 1, tzinfo=UTC)
    job = await _succeed_with_artifact(store, team, t0, "blob")
    await store.job_submit_many(team, [JobSpec("other.action")], now=t0)
    assert await engine.retention.run_once(now=t0 + 8 * DAY) >= 1
    assert await store.job_get_many(team, [job]) == []


async def test_the_loop_prunes_long_offline_agents(store: Store, team: uuid.UUID) -> None:
    engine = Engine(store, dataclasses.replace(QUIET, keep_offline_agents=timedelta(hours=1)))
    past = datetime.now(UTC) - 2 * timedelta(hours=1)
    gone = await store.agent_connect(
        team, name="gone", labels={}, slots=1, version="1", queues=["default"], actions=[],
        key_id=None, user_id=None, now=past,
    )  # fmt: skip
    await store.agent_disconnect(team, gone, now=past)
    await engine.start()
    try:
        assert await engine.retention.wake().wait(PROMPT_S)
    finally:
        await engine.stop()
    assert await store.agent_list(team) == []
