"""PostgreSQL connections: dropped ones (a restart, a killed backend) cost no request, and
statements are planned for the tables as they are.

The pool does not ping a connection before each use; a write whose connection turns
out dead before COMMIT runs again on a fresh one, and a read is read again.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine
from typing import Any

import psycopg
import pytest
from psycopg import _queries as psycopg_queries

from conveyor.errors import StoreError
from conveyor.store import ClaimRequest, JobSpec, Lease, Outcome, Report, Store
from conveyor.store.queries.claim import claim_jobs
from conveyor.store.queries.leases import apply_reports, extend_leases
from conveyor.store.queries.submit import submit_jobs
from conveyor.store.transaction import Tx


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _kill_backends_of(url: str) -> int:
    """Terminate every other connection to the database of ``url``, as a restart would."""
    with psycopg.connect(url, autocommit=True) as conn:
        killed = conn.execute(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    assert killed is not None
    return int(killed[0])


async def test_writes_and_reads_survive_their_connections_being_killed(
    pg_store: Store, pg_url: str
) -> None:
    team = await pg_store.team_create("acme", "Acme")
    # Fill the pool with idle connections, then kill them all.
    for _ in range(3):
        await pg_store.job_submit_many(team, [JobSpec("demo.echo", {})])
    assert _kill_backends_of(_libpq(pg_url)) >= 1

    [made] = await pg_store.job_submit_many(team, [JobSpec("demo.echo", {"n": 4})])
    assert (await pg_store.job_get(team, made.id)).params == {"n": 4}

    assert _kill_backends_of(_libpq(pg_url)) >= 1
    listed = await pg_store.job_list(team, limit=10)
    assert made.id in {job.id for job in listed.items}
    # The retried write wrote once: four jobs in all, not five.
    assert len(listed.items) == 4


async def test_the_hot_path_reads_jobs_by_index_whatever_size_its_plans_were_made_at(
    pg_store: Store,
) -> None:
    """Plans made while ``jobs`` is tiny, then kept (PostgreSQL keeps a prepared
    statement's generic plan until an ANALYZE, and this server runs none): once the
    table is large, a submit, claim, heartbeat and report of one job still scan it
    by index, never sequentially. Fails with the plans the engine had before (each
    batch joined by hashing a sequential scan of ``jobs``), and with generic plans
    made while sequential scans were allowed."""
    team = await pg_store.team_create("acme", "Acme")
    request = ClaimRequest(uuid.uuid4(), ["default"], {"demo.echo": []}, limit=1)
    for _ in range(20):  # one connection at a time: each statement runs 20 times on it
        await pg_store.job_submit_many(team, [JobSpec("demo.echo", {})])
        [job] = await pg_store.job_claim(team, request)
        await pg_store.lease_extend(team, [Lease(job.id, job.lease_token)])
        await pg_store.job_report(team, [Report(job.id, job.lease_token, Outcome.SUCCEEDED)])
    for _ in range(4):
        await pg_store.job_submit_many(team, [JobSpec("demo.echo", {}) for _ in range(1_000)])

    def one_job_through(tx: Tx) -> int:
        """The job's whole cycle in one transaction; how often it scanned ``jobs``."""
        submit_jobs(tx, team, [JobSpec("demo.echo", {})])
        [job] = claim_jobs(tx, team, request)
        extend_leases(tx, team, [Lease(job.id, job.lease_token)])
        [done] = apply_reports(tx, team, [Report(job.id, job.lease_token, Outcome.SUCCEEDED)])
        assert done.applied
        scans = tx.conn.exec_driver_sql(
            "SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relname = 'jobs'"
        )
        return int(scans.scalar_one())

    assert await pg_store.db.write(one_job_through, None) == 0


# Cancelled operations: a client that goes away (an SSE stream closed, a request
# dropped) cancels the task running a store operation halfway through a statement.

SLEEP_S = 20  # far longer than the test: the statement is still running when cancelled


async def _running_sleeps(url: str) -> int:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        cur = await conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND state = 'active' AND query LIKE 'SELECT pg_sleep%'"
        )
        row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def _until_sleeping(url: str, task: asyncio.Task[None]) -> None:
    """Wait until the operation is inside its statement (the server says so)."""
    async with asyncio.timeout(15):
        while await _running_sleeps(url) < 1:
            assert not task.done(), task
            await asyncio.sleep(0.02)


async def _until_stopped(url: str) -> None:
    """Wait until the server runs no such statement any more (cancelled, not left running)."""
    async with asyncio.timeout(5):  # the server's state: polled, nothing to await
        while True:
            if await _running_sleeps(url) == 0:
                return
            await asyncio.sleep(0.02)


async def _cancel_mid_statement(url: str, operation: Coroutine[Any, Any, None]) -> None:
    """Run ``operation``, cancel it inside its statement; it must end cancelled and the
    server must stop the statement (not leave it running)."""
    task = asyncio.create_task(operation)
    await _until_sleeping(url, task)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await _until_stopped(url)


def _sleep(tx: Tx) -> None:
    tx.conn.exec_driver_sql(f"SELECT pg_sleep({SLEEP_S})")


async def test_cancelled_reads_give_their_connections_back(pg_store: Store, pg_url: str) -> None:
    """More reads cancelled mid-statement than the pool holds: each ends cancelled, the
    server stops its statement, and the pool still serves reads."""
    url = _libpq(pg_url)
    team = await pg_store.team_create("acme", "Acme")
    for _ in range(21):  # the pool holds 20 (10 + 10 overflow)
        await _cancel_mid_statement(url, pg_store.db.read(_sleep, None))
    async with asyncio.timeout(10):  # an exhausted pool would wait here for a connection
        assert (await pg_store.job_list(team, limit=1)).items == []


async def test_a_cancelled_write_commits_nothing(pg_store: Store, pg_url: str) -> None:
    url = _libpq(pg_url)
    team = await pg_store.team_create("acme", "Acme")

    def submit_then_sleep(tx: Tx) -> None:
        submit_jobs(tx, team, [JobSpec("demo.echo", {"n": 1})])
        _sleep(tx)

    await _cancel_mid_statement(url, pg_store.db.write(submit_then_sleep, None))
    async with asyncio.timeout(10):
        assert (await pg_store.job_list(team, limit=10)).items == []
        await pg_store.job_submit_many(team, [JobSpec("demo.echo", {"n": 2})])
        [job] = (await pg_store.job_list(team, limit=10)).items
    assert job.params == {"n": 2}


async def test_an_operation_run_as_one_statement_may_not_send_a_second(pg_store: Store) -> None:
    """write_statement runs in autocommit: a second statement would commit apart from
    the first, so it is refused before it is sent."""

    def two(tx: Tx) -> None:
        tx.conn.exec_driver_sql("SELECT 1")
        tx.conn.exec_driver_sql("SELECT 2")

    def one(tx: Tx) -> int:
        return int(tx.conn.exec_driver_sql("SELECT 1").scalar_one())

    with pytest.raises(StoreError, match="sent a second"):
        await pg_store.db.write_statement(two, None)
    assert await pg_store.db.write_statement(one, None) == 1  # the connection is fine after
    # An ordinary write on the same pool still runs several statements in a transaction.
    team = await pg_store.team_create("acme", "Acme")
    specs = [JobSpec("demo.echo", concurrency_key="k"), JobSpec("demo.echo", idempotency_key="i")]
    assert len(await pg_store.job_submit_many(team, specs)) == 2


async def test_psycopg_keeps_its_parse_of_our_longest_statement(pg_store: Store) -> None:
    """submit_jobs is longer than the 4 KiB psycopg keeps parses of (postgresql.py's
    cache_the_parse_of_every_statement): a submit after the first is parsed from cache."""
    parses = psycopg_queries._query2pg
    team = await pg_store.team_create("acme", "Acme")
    await pg_store.job_submit_many(team, [JobSpec("demo.echo", {})])

    before = parses.cache_info()
    await pg_store.job_submit_many(team, [JobSpec("demo.echo", {"n": 2})])
    after = parses.cache_info()

    assert after.hits == before.hits + 1  # submit_jobs, the one statement with parameters
    assert after.misses == before.misses
