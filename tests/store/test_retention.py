"""Retention on both dialects: old finished jobs go with every row that points at them.

Time is moved with ``now``: jobs finish at T0 and the prune runs days later.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from conveyor.errors import InvalidInput
from conveyor.states import JobState
from conveyor.store import JobSpec, Outcome, Report, Store
from conveyor.store.queries.retention import KeepFinished
from conveyor.store.records import LogChunkIn
from conveyor.store.schema import artifacts, events, job_attempts, job_dependencies, job_logs, jobs
from conveyor.store.transaction import Tx
from tests.helpers.factories import agent_request

T0 = datetime(2030, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)
SHA = "0" * 64


async def _finish(
    store: Store,
    team: uuid.UUID,
    spec: JobSpec,
    outcome: Outcome,
    at: datetime,
    *,
    artifact_key: str | None = None,
) -> uuid.UUID:
    """Submit, claim and report one job at ``at``, with a log chunk and maybe an artifact."""
    [sub] = await store.job_submit_many(team, [spec], now=at)
    [claimed] = await store.job_claim(team, agent_request(limit=1), now=at)
    assert claimed.id == sub.id
    await store.log_append(
        team, [LogChunkIn(sub.id, claimed.lease_token, 1, 0, [{"stream": "stdout", "text": "hi"}])]
    )
    if artifact_key is not None:
        await store.artifact_record(
            team, sub.id, claimed.lease_token, name="out.txt", size=2, sha256=SHA,
            content_type="text/plain", storage_key=artifact_key,
        )  # fmt: skip
    [res] = await store.job_report(team, [Report(sub.id, claimed.lease_token, outcome)], now=at)
    assert res.applied
    return sub.id


def _add_edges(tx: Tx, edges: list[tuple[uuid.UUID, uuid.UUID]]) -> None:
    tx.conn.execute(
        job_dependencies.insert(), [{"job_id": a, "depends_on_id": b} for a, b in edges]
    )


def _row_counts(tx: Tx, job_id: uuid.UUID) -> dict[str, int]:
    def count(table: sa.Table, *where: sa.ColumnElement[bool]) -> int:
        return int(tx.conn.execute(sa.select(sa.func.count()).select_from(table).where(*where))
                   .scalar_one())  # fmt: skip

    return {
        "jobs": count(jobs, jobs.c.id == job_id),
        "attempts": count(job_attempts, job_attempts.c.job_id == job_id),
        "logs": count(job_logs, job_logs.c.job_id == job_id),
        "artifacts": count(artifacts, artifacts.c.job_id == job_id),
        "edges": count(
            job_dependencies,
            sa.or_(job_dependencies.c.job_id == job_id, job_dependencies.c.depends_on_id == job_id),
        ),
    }


async def _counts(store: Store, job_id: uuid.UUID) -> dict[str, int]:
    return await store.db.read(_row_counts, None, job_id)


def _event_seqs(tx: Tx) -> list[int]:
    return [s for (s,) in tx.conn.execute(sa.select(events.c.seq).order_by(events.c.seq))]


async def test_old_finished_jobs_and_their_rows_go(store: Store, team: uuid.UUID) -> None:
    succeeded = await _finish(
        store, team, JobSpec("demo.echo", {"j": "s"}), Outcome.SUCCEEDED, T0, artifact_key="blob-s"
    )
    dead = await _finish(
        store, team, JobSpec("demo.echo", {"j": "d"}, max_attempts=1), Outcome.FAILED, T0,
        artifact_key="blob-d",
    )  # fmt: skip
    [cancelled, waiting] = [
        s.id
        for s in await store.job_submit_many(
            team, [JobSpec("other.action", {"j": "c"}), JobSpec("other.action", {"j": "q"})], now=T0
        )
    ]
    await store.job_cancel(team, [cancelled], now=T0)
    [running] = [s.id for s in await store.job_submit_many(team, [JobSpec("demo.echo")], now=T0)]
    await store.job_claim(team, agent_request(limit=1), now=T0)
    recent = await _finish(store, team, JobSpec("demo.echo"), Outcome.SUCCEEDED, T0 + 7 * DAY)
    [last] = [s.id for s in await store.job_submit_many(team, [JobSpec("other.action")])]
    # A job still waiting on the old one, and an edge from the old one to a kept one.
    await store.db.write(_add_edges, None, [(waiting, succeeded), (succeeded, recent)])
    assert (await _counts(store, succeeded)) == {
        "jobs": 1, "attempts": 1, "logs": 1, "artifacts": 1, "edges": 2,
    }  # fmt: skip

    # A week and a day on: succeeded and cancelled jobs are past 7 days, dead is not.
    pruned = await store.job_prune_finished(KeepFinished(), now=T0 + 8 * DAY)
    assert pruned.jobs == 2 and pruned.storage_keys == ["blob-s"]
    for gone in (succeeded, cancelled):
        assert await _counts(store, gone) == dict.fromkeys(
            ("jobs", "attempts", "logs", "artifacts", "edges"), 0
        )
    kept = await store.job_get_many(team, [dead, waiting, running, recent, last])
    assert {j.id: j.state for j in kept} == {
        dead: JobState.DEAD, waiting: JobState.QUEUED, running: JobState.RUNNING,
        recent: JobState.SUCCEEDED, last: JobState.QUEUED,
    }  # fmt: skip
    assert (await _counts(store, dead))["artifacts"] == 1
    assert (await _counts(store, recent))["edges"] == 0

    assert (await store.job_prune_finished(KeepFinished(), now=T0 + 8 * DAY)).jobs == 0
    # A month on: the dead job and the once-recent one go too; unfinished jobs stay.
    pruned = await store.job_prune_finished(KeepFinished(), now=T0 + 31 * DAY)
    assert pruned.jobs == 2 and pruned.storage_keys == ["blob-d"]
    remaining = await store.job_get_many(team, [dead, waiting, running, recent, last])
    assert {j.id for j in remaining} == {waiting, running, last}


async def test_batch_limit_is_respected(store: Store, team: uuid.UUID) -> None:
    subs = await store.job_submit_many(
        team, [JobSpec("other.action", {"i": i}) for i in range(5)], now=T0
    )
    await store.job_cancel(team, [s.id for s in subs], now=T0)
    await store.job_submit_many(team, [JobSpec("other.action")])  # the newest job, unfinished
    later = T0 + 30 * DAY
    sizes = [(await store.job_prune_finished(KeepFinished(), limit=2, now=later)).jobs
             for _ in range(4)]  # fmt: skip
    assert sizes == [2, 2, 1, 0]
    assert await store.job_get_many(team, [s.id for s in subs]) == []


async def test_none_keeps_a_state_forever(store: Store, team: uuid.UUID) -> None:
    ok = await _finish(store, team, JobSpec("demo.echo"), Outcome.SUCCEEDED, T0)
    [cancelled] = await store.job_submit_many(team, [JobSpec("other.action")], now=T0)
    await store.job_cancel(team, [cancelled.id], now=T0)
    await store.job_submit_many(team, [JobSpec("other.action")])
    far = T0 + 3650 * DAY
    keep = KeepFinished(succeeded=None, cancelled=DAY, dead=None)
    assert (await store.job_prune_finished(keep, now=far)).jobs == 1
    [kept] = await store.job_get_many(team, [ok, cancelled.id])
    assert kept.id == ok
    nothing = KeepFinished(succeeded=None, cancelled=None, dead=None)
    assert (await store.job_prune_finished(nothing, now=far)).jobs == 0


async def test_a_retried_job_is_not_pruned(store: Store, team: uuid.UUID) -> None:
    dead = await _finish(store, team, JobSpec("demo.echo", max_attempts=1), Outcome.FAILED, T0)
    await store.job_retry(team, [dead], now=T0 + 40 * DAY)
    await store.job_submit_many(team, [JobSpec("other.action")])
    assert (await store.job_prune_finished(KeepFinished(), now=T0 + 80 * DAY)).jobs == 0
    [job] = await store.job_get_many(team, [dead])
    assert job.state == JobState.QUEUED and len(await store.attempt_list(team, dead)) == 1


async def test_replicas_pruning_at_once_split_the_work(db_url: str, team: uuid.UUID) -> None:
    """Two stores on one database (two replicas) prune concurrently: each job once."""
    first = await Store.open(db_url)
    second = await Store.open(db_url)
    try:
        keys: list[str] = []
        for i in range(40):
            keys.append(f"blob-{i}")
            await _finish(first, team, JobSpec("demo.echo", {"i": i}), Outcome.SUCCEEDED, T0,
                          artifact_key=keys[-1])  # fmt: skip
        await first.job_submit_many(team, [JobSpec("other.action")])
        later = T0 + 8 * DAY

        async def drain(store: Store) -> tuple[int, list[str]]:
            total, seen = 0, []
            while (
                pruned := await store.job_prune_finished(KeepFinished(), limit=7, now=later)
            ).jobs:
                total += pruned.jobs
                seen += pruned.storage_keys
            return total, seen

        (n1, k1), (n2, k2) = await asyncio.gather(drain(first), drain(second))
        assert n1 + n2 == 40
        assert sorted(k1 + k2) == sorted(keys) and not set(k1) & set(k2)
    finally:
        await first.close()
        await second.close()


async def test_old_events_go_oldest_first_and_seqs_keep_growing(
    store: Store, team: uuid.UUID
) -> None:
    await store.job_submit_many(team, [JobSpec("other.action") for _ in range(5)], now=T0)
    await store.job_submit_many(team, [JobSpec("other.action") for _ in range(2)], now=T0 + DAY)
    seqs = await store.db.read(_event_seqs, None)
    assert len(seqs) == 7

    at = T0 + DAY + timedelta(hours=1)  # the first five are older than a day
    assert await store.event_prune(DAY, limit=3, now=at) == 3
    assert await store.event_prune(DAY, limit=3, now=at) == 2
    assert await store.event_prune(DAY, limit=3, now=at) == 0
    assert await store.db.read(_event_seqs, None) == seqs[5:]

    # Everything old, even the newest: that one stays, so seqs never go back.
    await store.event_prune(timedelta(0), now=T0 + 10 * DAY)
    assert await store.db.read(_event_seqs, None) in ([], [seqs[-1]])
    await store.job_submit_many(team, [JobSpec("other.action")])
    after = await store.db.read(_event_seqs, None)
    assert after[-1] > seqs[-1]
    assert await store.event_last_seq() == after[-1]


async def test_bad_arguments_raise_and_delete_nothing(store: Store, team: uuid.UUID) -> None:
    with pytest.raises(InvalidInput):
        KeepFinished(succeeded=-DAY)
    with pytest.raises(InvalidInput):
        await store.job_prune_finished(KeepFinished(), limit=0)
    with pytest.raises(InvalidInput):
        await store.event_prune(DAY, limit=0)
