"""The engine benchmark's bare-SQL reference writes what the engine writes.

``make bench-engine`` judges the engine against ``sql``, the same cycle written by
hand (bench/engine_same_sql.py). The comparison is only fair if that cycle leaves
the database as the engine does: every job succeeded once, three outbox events per
job, one attempt per job opened and closed. Nothing here judges speed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from bench.engine import Databases, PgServer, run_cycle

from tests.conftest import DIALECTS, PG_ADMIN_URL

JOBS = 300
WRITES = {
    "events": "SELECT count(*) FROM events WHERE kind = 'job'",
    "attempts closed": (
        "SELECT count(*) FROM job_attempts WHERE outcome = 'succeeded' AND finished_at IS NOT NULL"
    ),
    "jobs finished": (
        "SELECT count(*) FROM jobs WHERE state = 'succeeded' AND attempt = 1 "
        "AND lease_token IS NULL AND finished_at IS NOT NULL"
    ),
}


@pytest.fixture(params=DIALECTS)
async def databases(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Databases]:
    if request.param == "sqlite":
        yield Databases(tmp_path, None)
        return
    request.getfixturevalue("pg_template")  # PostgreSQL required in CI, else skipped
    pg = PgServer(PG_ADMIN_URL)
    await pg.start()
    try:
        yield Databases(tmp_path, pg)
    finally:
        await pg.stop()


def _backend(dbs: Databases) -> str:
    return "sqlite" if dbs.pg is None else "postgresql"


@pytest.mark.parametrize("batch", [1, 100])
async def test_the_sql_reference_leaves_what_the_engine_leaves(
    databases: Databases, batch: int
) -> None:
    backend = _backend(databases)
    left: dict[str, dict[str, int]] = {}
    for variant, open_target in (("engine", databases.engine), ("sql", databases.same_writes)):
        target = await open_target(backend)
        try:
            result = await run_cycle(target, JOBS, batch, workers=4, submitters=1)
            assert result.jobs == JOBS
            left[variant] = {what: await target.scalar(sql) for what, sql in WRITES.items()}
        finally:
            await target.close()
    assert (
        left["sql"]
        == left["engine"]
        == {"events": 3 * JOBS, "attempts closed": JOBS, "jobs finished": JOBS}
    ), left
