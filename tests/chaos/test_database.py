"""PostgreSQL restarted (fast and immediate) while clients submit and agents run jobs:
clients get 503s and nothing else, no finished job counts as failed, nothing is lost.

The database is a private cluster (``tests.helpers.pg_cluster``), never the shared one.
"""

from __future__ import annotations

import time

import httpx
import pytest

from tests.chaos.conftest import Scenario, Stopwatch, size
from tests.chaos.load import SubmitStream, stored_jobs
from tests.e2e.conftest import wait_states
from tests.helpers.live import wait_until
from tests.helpers.pg_cluster import PgCluster

# Leases outlast the restart: agents, which cannot renew them meanwhile, keep their jobs.
LONG_LEASE = {"lease_s": "10"}


@pytest.fixture
def db_url(pg_cluster: PgCluster) -> str:
    """The server's database lives on a private cluster this scenario restarts."""
    return pg_cluster.create_database("conveyor")


@pytest.mark.parametrize("scenario", [LONG_LEASE], indirect=True)
@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_postgresql_restarted_under_load_loses_nothing_and_fails_nothing(
    scenario: Scenario, api: httpx.Client, pg_cluster: PgCluster, mode: str
) -> None:
    for name in ("a", "b"):
        scenario.agent(name, slots=4)
    stream = SubmitStream(scenario)
    try:
        wait_until(lambda: len(stream.acknowledged) >= size(20, 200), 60, "a first load")
        watch = Stopwatch(f"[postgresql] PostgreSQL restart ({mode}) -> first success")
        pg_cluster.restart(mode)  # type: ignore[arg-type]
        back = time.monotonic()
        watch.until(lambda: stream.acknowledged_since(back))
        wait_until(lambda: stream.acknowledged_since(back) >= size(20, 200), 60, "load again")
    finally:
        stream.stop()
    assert stream.failures == []  # every submit was acknowledged in the end
    assert stream.retry.seen and stream.errors_other_than_503() == []  # 503s, retried
    stored = stored_jobs(scenario)
    assert set(stream.ids()) <= set(stored)
    scenario.submitted = stored
    assert wait_states(api, stored) == dict.fromkeys(stored, "succeeded")
    history = scenario.check(api)
    failed = [a for runs in history.attempts.values() for a in runs if a["outcome"] == "failed"]
    assert failed == []
