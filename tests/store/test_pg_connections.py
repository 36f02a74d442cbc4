"""PostgreSQL connections: dropped ones (a restart, a killed backend) cost no request, and
statements are planned for the tables as they are.

The pool does not ping a connection before each use; a write whose connection turns
out dead before COMMIT runs again on a fresh one, and a read is read again.
"""

from __future__ import annotations

import psycopg

from conveyor.store import JobSpec, Store
from conveyor.store.database import Tx


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


async def test_statements_are_planned_for_the_table_as_it_is_now(pg_store: Store) -> None:
    """A plan cached while ``jobs`` was empty (a sequential scan) would be kept as the table
    grows when no ANALYZE runs (autovacuum off or behind): every claim would read the whole
    table. Each execution is planned for the table as it is."""

    def setting(tx: Tx) -> str:
        return str(tx.conn.exec_driver_sql("SHOW plan_cache_mode").scalar_one())

    assert await pg_store.db.read(setting, None) == "force_custom_plan"
    assert await pg_store.db.write(setting, None) == "force_custom_plan"
