"""Concurrency: claims are exclusive, concurrency limits hold, idempotency keys dedupe.

On real databases, under real contention. On PostgreSQL the claimers and
submitters are separate processes, each with its own store; on SQLite they are
tasks sharing the store's group-commit writer, joined by a second process that
opens the same file (BEGIN IMMEDIATE and a busy timeout across processes).

Nothing sleeps: processes and tasks wait on barriers, events and conditions, and
a worker stops when a claim comes back empty and nothing is left to claim.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import multiprocessing as mp
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from conveyor.errors import IdempotencyConflict
from conveyor.states import JobState
from conveyor.store import JobSpec, Outcome, Report, Store
from conveyor.store.database import Database
from conveyor.store.schema import job_attempts, jobs
from tests.helpers.factories import agent_request
from tests.helpers.workers import (
    WAIT_S,
    LocalFeed,
    ProcessFeed,
    Tracker,
    drain,
    drain_keyed,
    drain_process,
    keyed_process,
    submit_one,
    submit_process,
)

LONG_LEASE_S = 3600.0  # no lease expires during a test (and no reaper runs)


class Workers:
    """Worker processes of one test, started with ``spawn``; all stopped at teardown."""

    def __init__(self, tmp_path: Path) -> None:
        self.ctx = mp.get_context("spawn")
        self._dir = tmp_path
        self._procs: list[tuple[Any, Path]] = []

    def start(self, target: Callable[..., None], *args: Any) -> None:
        """Start ``target(*args, result_path)``."""
        path = self._dir / f"worker-{len(self._procs)}.json"
        proc = self.ctx.Process(target=target, args=(*args, str(path)), daemon=True)
        proc.start()
        self._procs.append((proc, path))

    async def results(self) -> list[Any]:
        """Wait for every worker to exit; their results, or fail with their errors."""
        await asyncio.to_thread(self._join, WAIT_S)
        values, errors = [], []
        for proc, path in self._procs:
            if proc.exitcode is None:
                errors.append(f"worker {proc.pid} still running after {WAIT_S}s")
                continue
            outcome = json.loads(path.read_text()) if path.exists() else None
            if outcome is None or not outcome["ok"] or proc.exitcode != 0:
                detail = outcome["error"] if outcome else "no result"
                errors.append(f"worker {proc.pid} exited with {proc.exitcode}: {detail}")
            else:
                values.append(outcome["value"])
        assert not errors, "\n".join(errors)
        return values

    async def meanwhile(self, wait: Callable[[], Any], abort: Callable[[], None]) -> Any:
        """Run the blocking ``wait`` (a barrier, an event) off the event loop.

        If a worker fails meanwhile, ``abort`` unblocks the wait and the test fails
        with the workers' errors at once instead of waiting out a timeout. (A
        worker that finished its work and exited cleanly is no failure.)
        """
        loop = asyncio.get_running_loop()
        exited: asyncio.Queue[Any] = asyncio.Queue()

        def on_exit(proc: Any) -> None:
            loop.remove_reader(proc.sentinel)
            exited.put_nowait(proc)

        running = [proc for proc, _ in self._procs if proc.exitcode is None]
        for proc in running:
            loop.add_reader(proc.sentinel, on_exit, proc)
        try:
            waiting = asyncio.ensure_future(asyncio.to_thread(wait))
            while True:
                getting = asyncio.ensure_future(exited.get())
                await asyncio.wait({waiting, getting}, return_when=asyncio.FIRST_COMPLETED)
                if waiting.done():
                    getting.cancel()
                    return waiting.result()
                proc = getting.result()
                await asyncio.to_thread(proc.join, WAIT_S)
                if proc.exitcode != 0:
                    abort()
                    await asyncio.wait({waiting})
                    waiting.exception()  # broken by abort(): expected, not the story
                    await self.results()
                    raise AssertionError(f"worker {proc.pid} exited with {proc.exitcode}")
        finally:
            for proc in running:
                loop.remove_reader(proc.sentinel)

    def _join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for proc, _ in self._procs:
            proc.join(max(0.0, deadline - time.monotonic()))

    def stop(self) -> None:
        for proc, _ in self._procs:
            if proc.is_alive():
                proc.terminate()
        for proc, _ in self._procs:
            proc.join(10)
            if proc.is_alive():
                proc.kill()
                proc.join()
            proc.close()
        self._procs.clear()


@pytest.fixture
def workers(db_url: str, tmp_path: Path) -> Iterator[Workers]:
    """Depends on ``db_url`` so the processes are gone before the database is dropped."""
    w = Workers(tmp_path)
    try:
        yield w
    finally:
        w.stop()


@pytest.fixture
def sql(db_url: str) -> Iterator[sa.Engine]:
    """A plain SQLAlchemy engine on the test database, for counting rows directly."""
    engine = Database.sync_engine_for(db_url)
    try:
        yield engine
    finally:
        engine.dispose()


def _scalar(engine: sa.Engine, query: sa.Select[Any]) -> Any:
    with engine.connect() as conn:
        return conn.execute(query).scalar_one()


# 1. Every job is claimed and completed exactly once.

N_JOBS = 20_000
SUBMIT_BATCH = 1_000
CLAIMERS = 8
CLAIM_LIMIT = 50


def _specs(start: int, n: int) -> list[JobSpec]:
    return [JobSpec("demo.echo", {"i": i}, lease_s=LONG_LEASE_S) for i in range(start, start + n)]


def _assert_each_job_ran_once(
    engine: sa.Engine, team: uuid.UUID, submitted: list[uuid.UUID], completed: list[str]
) -> None:
    assert len(submitted) == N_JOBS and len(set(submitted)) == N_JOBS
    # What the claimers saw: every submitted job completed, and by one claimer only.
    dupes = [i for i, n in Counter(completed).items() if n > 1]
    assert not dupes, f"{len(dupes)} jobs completed by more than one claim, e.g. {dupes[:3]}"
    assert {uuid.UUID(i) for i in completed} == set(submitted)

    # What the database recorded.
    count = sa.select(sa.func.count())
    mine = job_attempts.c.team_id == team
    assert _scalar(engine, count.select_from(jobs).where(jobs.c.team_id == team)) == N_JOBS
    with engine.connect() as conn:
        states = dict(
            conn.execute(
                sa.select(jobs.c.state, sa.func.count())
                .where(jobs.c.team_id == team)
                .group_by(jobs.c.state)
            ).all()
        )
        per_job = dict(
            conn.execute(
                sa.select(jobs.c.attempt, sa.func.count())
                .where(jobs.c.team_id == team)
                .group_by(jobs.c.attempt)
            ).all()
        )
    assert states == {JobState.SUCCEEDED.value: N_JOBS}
    assert per_job == {1: N_JOBS}
    assert _scalar(engine, count.select_from(job_attempts).where(mine)) == N_JOBS
    distinct_jobs = sa.select(sa.func.count(sa.distinct(job_attempts.c.job_id))).where(mine)
    assert _scalar(engine, distinct_jobs) == N_JOBS
    good = count.select_from(job_attempts).where(
        mine,
        job_attempts.c.attempt == 1,
        job_attempts.c.outcome == "succeeded",
        job_attempts.c.finished_at.is_not(None),
    )
    assert _scalar(engine, good) == N_JOBS
    unattempted = count.select_from(jobs).where(
        jobs.c.team_id == team,
        ~sa.exists().where(job_attempts.c.job_id == jobs.c.id),
    )
    assert _scalar(engine, unattempted) == 0


@pytest.mark.slow
async def test_every_job_is_claimed_and_completed_exactly_once(
    db_url: str, store: Store, team: uuid.UUID, workers: Workers, sql: sa.Engine
) -> None:
    feed = ProcessFeed(workers.ctx)
    submitted: list[uuid.UUID] = []

    async def submit(start: int, stop: int, also: LocalFeed | None = None) -> None:
        for at in range(start, stop, SUBMIT_BATCH):
            n = min(SUBMIT_BATCH, stop - at)
            subs = await store.job_submit_many(team, _specs(at, n))
            submitted.extend(s.id for s in subs)
            last = at + n == N_JOBS
            feed.publish(finished=last)
            if also is not None:
                await also.publish(finished=last)

    if store.dialect == "postgresql":
        # 8 claimer processes, each with its own store; submission overlaps the draining.
        ready = workers.ctx.Barrier(CLAIMERS + 1)
        for _ in range(CLAIMERS):
            workers.start(drain_process, db_url, team, feed, ready, None, CLAIM_LIMIT)
        await workers.meanwhile(lambda: ready.wait(WAIT_S), ready.abort)
        await submit(0, N_JOBS)
        completed = [i for ids in await workers.results() for i in ids]
    else:
        # 8 tasks through this store's writer, and one more process on the same file.
        local = LocalFeed()
        first_claim = workers.ctx.Event()
        workers.start(drain_process, db_url, team, feed, None, first_claim, CLAIM_LIMIT)
        await submit(0, SUBMIT_BATCH, local)
        # The other process takes the first batch's first claim, so it surely takes part.
        assert await workers.meanwhile(lambda: first_claim.wait(WAIT_S), first_claim.set)
        async with asyncio.timeout(WAIT_S):
            *mine, _ = await asyncio.gather(
                *(drain(store, team, local, claim_limit=CLAIM_LIMIT) for _ in range(CLAIMERS)),
                submit(SUBMIT_BATCH, N_JOBS, local),
            )
        [other] = await workers.results()
        assert other, "the second process completed no job"
        completed = [i for ids in mine for i in ids] + other

    _assert_each_job_ran_once(sql, team, submitted, completed)


# 2. Jobs sharing a concurrency key never run more at once than its limit.

N_KEYED = 200
KEYED_CLAIMERS = 4
KEYED_CLAIM_LIMIT = 5  # more than the key admits: a claim must still take only what fits


def _max_overlap(intervals: list[tuple[datetime, datetime]]) -> int:
    """The most intervals open at one instant; one ending as another starts is no overlap."""
    edges = sorted([(f, -1) for _, f in intervals] + [(s, 1) for s, _ in intervals])
    open_now = peak = 0
    for _, step in edges:
        open_now += step
        peak = max(peak, open_now)
    return peak


@pytest.mark.slow
@pytest.mark.parametrize("key_limit", [1, 3])
async def test_concurrency_limit_holds_across_claimers(
    db_url: str, store: Store, team: uuid.UUID, workers: Workers, sql: sa.Engine, key_limit: int
) -> None:
    specs = [
        JobSpec(
            "demo.echo",
            {"i": i},
            concurrency_key="deploy:prod",
            concurrency_limit=key_limit,
            lease_s=LONG_LEASE_S,
        )
        for i in range(N_KEYED)
    ]
    submitted = {s.id for s in await store.job_submit_many(team, specs)}

    if store.dialect == "postgresql":
        tracker = Tracker(workers.ctx)
        ready = workers.ctx.Barrier(KEYED_CLAIMERS + 1)
        for _ in range(KEYED_CLAIMERS):
            workers.start(keyed_process, db_url, team, tracker, ready, key_limit, KEYED_CLAIM_LIMIT)
        await workers.meanwhile(lambda: ready.wait(WAIT_S), ready.abort)
        runs = await workers.results()
    else:
        tracker = Tracker()
        async with asyncio.timeout(WAIT_S):
            runs = await asyncio.gather(
                *(
                    drain_keyed(
                        store, team, tracker, key_limit=key_limit, claim_limit=KEYED_CLAIM_LIMIT
                    )
                    for _ in range(KEYED_CLAIMERS)
                )
            )

    # During the run: no claim returned a job while the key's limit was already held.
    violations = [v for run in runs for v in run["violations"]]
    assert not violations, violations
    assert tracker.peak == key_limit  # the limit was reached: the check was not vacuous
    # The claimers' logs merged in one global order replay within the limit.
    history = sorted(tuple(entry) for run in runs for entry in run["log"])
    assert len({ticket for ticket, _, _ in history}) == len(history) == 2 * N_KEYED
    held: set[str] = set()
    claimed: set[str] = set()
    for ticket, kind, job_id in history:
        if kind == "claim":
            assert job_id not in claimed, f"job {job_id} claimed twice (ticket {ticket})"
            claimed.add(job_id)
            held.add(job_id)
            assert len(held) <= key_limit, f"ticket {ticket}: {len(held)} jobs of the key held"
        else:
            held.remove(job_id)
    assert {uuid.UUID(i) for i in claimed} == submitted and not held

    # After the run: the attempts' own intervals never overlap beyond the limit.
    with sql.connect() as conn:
        attempts = conn.execute(
            sa.select(
                job_attempts.c.job_id,
                job_attempts.c.attempt,
                job_attempts.c.outcome,
                job_attempts.c.started_at,
                job_attempts.c.finished_at,
            )
            .where(job_attempts.c.team_id == team)
            .order_by(job_attempts.c.started_at, job_attempts.c.finished_at)
        ).all()
    assert len(attempts) == N_KEYED and {a.job_id for a in attempts} == submitted
    assert {(a.attempt, a.outcome) for a in attempts} == {(1, "succeeded")}
    assert all(a.finished_at is not None and a.started_at <= a.finished_at for a in attempts)
    if key_limit == 1:
        for prev, cur in itertools.pairwise(attempts):
            assert cur.started_at >= prev.finished_at, (
                f"attempt of {cur.job_id} started at {cur.started_at}, before the attempt "
                f"of {prev.job_id} finished at {prev.finished_at}"
            )
    assert _max_overlap([(a.started_at, a.finished_at) for a in attempts]) == key_limit


# 3. Concurrent submits with one idempotency key create one job.

RACERS = 20
KEY = "invoice-2030-001"
PARAMS = {"invoice": 1}
OTHER_PARAMS = {"invoice": 1, "amount": 2}


def _keyed_jobs(engine: sa.Engine, team: uuid.UUID) -> list[Any]:
    """Every job made with KEY: the team's only jobs (a finished one has let go of it)."""
    with engine.connect() as conn:
        return conn.execute(
            sa.select(jobs.c.id, jobs.c.state, jobs.c.params)
            .where(jobs.c.team_id == team)
            .order_by(jobs.c.seq)
        ).all()


async def _finish(store: Store, team: uuid.UUID, job_id: uuid.UUID) -> None:
    [claimed] = await store.job_claim(team, agent_request(limit=10))
    assert claimed.id == job_id
    [done] = await store.job_report(team, [Report(job_id, claimed.lease_token, Outcome.SUCCEEDED)])
    assert done.applied and done.state == JobState.SUCCEEDED


async def test_concurrent_duplicate_submits_create_one_job(
    db_url: str, store: Store, team: uuid.UUID, workers: Workers, sql: sa.Engine
) -> None:
    # Round 1: same params. Round 2: the same again, once round 1's job succeeded.
    # Round 3: a quarter of the callers send other params; whoever wins, the rest agree.
    # Every store here frees a key when its job finishes (a window of 0: the window
    # itself is tested in test_idempotency_window), so each round makes one new job.
    store.idempotency_window = timedelta(0)
    rounds = [
        [PARAMS] * RACERS,
        [PARAMS] * RACERS,
        [OTHER_PARAMS if i % 4 == 3 else PARAMS for i in range(RACERS)],
    ]
    if store.dialect == "postgresql":
        procs, in_parent = 4, 0  # 4 processes x 5 concurrent submits, each its own connection
    else:
        procs, in_parent = 1, 15  # 15 tasks through the writer, 5 more in another process
    per_proc = (RACERS - in_parent) // procs
    barrier = workers.ctx.Barrier(procs + 1)
    for p in range(procs):
        share = [r[in_parent + p * per_proc : in_parent + (p + 1) * per_proc] for r in rounds]
        workers.start(submit_process, db_url, team, KEY, share, barrier)
    mine: list[list[dict[str, Any]]] = []
    winners: list[Any] = []
    for r, params_list in enumerate(rounds):
        await workers.meanwhile(lambda: barrier.wait(WAIT_S), barrier.abort)
        async with asyncio.timeout(WAIT_S):
            mine.append(
                list(
                    await asyncio.gather(
                        *(submit_one(store, team, KEY, p) for p in params_list[:in_parent])
                    )
                )
            )
        await workers.meanwhile(lambda: barrier.wait(WAIT_S), barrier.abort)

        rows = _keyed_jobs(sql, team)
        assert len(rows) == r + 1, f"round {r + 1} made {len(rows) - r} jobs"
        winner = rows[-1]
        assert winner.state == JobState.QUEUED
        assert [row.state for row in rows[:-1]] == [JobState.SUCCEEDED] * r
        winners.append(winner)
        if r == 0:
            with pytest.raises(IdempotencyConflict):
                await store.job_submit_many(
                    team, [JobSpec("demo.echo", OTHER_PARAMS, idempotency_key=KEY)]
                )
            [again] = await store.job_submit_many(
                team, [JobSpec("demo.echo", PARAMS, idempotency_key=KEY)]
            )
            assert again.id == winner.id and not again.created
            assert len(_keyed_jobs(sql, team)) == 1
        if r < len(rounds) - 1:
            await _finish(store, team, winner.id)

    theirs = await workers.results()
    for r, winner in enumerate(winners):
        outcomes = mine[r] + [o for proc_rounds in theirs for o in proc_rounds[r]]
        assert len(outcomes) == RACERS
        created = [o for o in outcomes if o.get("created")]
        assert len(created) == 1, f"round {r + 1}: {len(created)} callers created a job"
        for o in outcomes:
            if o["params"] == winner.params:
                assert o.get("id") == str(winner.id), f"round {r + 1}: {o}"
            else:
                assert o.get("conflict"), f"round {r + 1}: other params were accepted: {o}"
        if r < 2:
            assert all(o["params"] == PARAMS for o in outcomes)
    assert len({w.id for w in winners}) == len(rounds)  # the key was reused, twice
