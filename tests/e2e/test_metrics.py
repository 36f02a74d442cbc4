"""``/metrics`` during a real run: the counters and histograms agree with the store.

A real server (with a metrics token) and a real agent run :data:`JOBS` jobs on two
queues, some retried once, some dying; the scrape, parsed with prometheus_client's
own parser, must count what the ``jobs`` and ``job_attempts`` tables hold.
``CONVEYOR_METRICS_JOBS=1000`` runs the issue's full size.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from conveyor.metric_labels import LABEL_CAP
from conveyor.store import Store
from tests.e2e.conftest import python_agent, wait_states
from tests.helpers.live import LiveServer, wait_until

DEPLOY = Path(__file__).parents[2] / "deploy"
SERIES_SUFFIX = re.compile(r"_(total|bucket|sum|count)$")
JOBS = int(os.environ.get("CONVEYOR_METRICS_JOBS", "200"))
TOKEN = "a-scrape-token-for-the-test"


@pytest.fixture
def metered(db_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    live = LiveServer(db_url, tmp_path, metrics_token=TOKEN, metrics_depth_s="0.2")
    try:
        yield live
    finally:
        live.stop()


def _jobs() -> list[dict[str, Any]]:
    """Most succeed at once; one in ten fails once then succeeds; one in twenty dies."""
    jobs: list[dict[str, Any]] = []
    for i in range(JOBS):
        queue = "default" if i % 2 else "fast"
        if i % 20 == 0:
            jobs.append({"action": "e2e.flaky", "params": {"succeed_on": 9}, "queue": queue,
                         "max_attempts": 2})  # fmt: skip
        elif i % 10 == 5:
            jobs.append({"action": "e2e.flaky", "params": {"succeed_on": 2}, "queue": queue})
        else:
            jobs.append({"action": "e2e.add", "params": {"a": i, "b": 1}, "queue": queue})
    return jobs


def scrape(server: LiveServer, token: str | None = TOKEN) -> dict[str, list[Sample]]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.get(f"{server.url}/metrics", headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    return {family.name: family.samples for family in text_string_to_metric_families(response.text)}


def _busy(server: LiveServer) -> float:
    return total(scrape(server)["conveyor_agent_slots_busy"], "conveyor_agent_slots_busy")


def _depth(server: LiveServer) -> dict[str, float]:
    """The exported queue depth by state (all queues), leaving out states at zero."""
    found: dict[str, float] = {}
    for sample in scrape(server).get("conveyor_queue_depth", []):
        found[sample.labels["state"]] = found.get(sample.labels["state"], 0) + sample.value
    return {state: n for state, n in found.items() if n}


def total(samples: list[Sample], name: str, **labels: str) -> float:
    return sum(
        s.value
        for s in samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


async def _tables(database_url: str) -> tuple[Counter[str], Counter[str], Counter[str]]:
    """Job states, attempt outcomes and the stats' timed attempts (wait, run), read
    straight from the tables."""
    store = await Store.open(database_url)
    try:
        engine = sa.create_engine(store.url)  # the same database, read synchronously
        with engine.connect() as conn:
            states = _grouped(conn, "SELECT state, count(*) FROM jobs GROUP BY state")
            outcomes = _grouped(conn, "SELECT outcome, count(*) FROM job_attempts GROUP BY outcome")
            timed = _grouped(conn, "SELECT kind, sum(count) FROM job_minute_times GROUP BY kind")
        engine.dispose()
    finally:
        await store.close()
    return states, outcomes, timed


def _grouped(conn: sa.Connection, sql: str) -> Counter[str]:
    return Counter({str(key): int(count) for key, count in conn.execute(sa.text(sql))})


def _submit_while_nothing_runs(server: LiveServer) -> list[str]:
    """Submit every job with no agent on their queues: the periodic count sees them wait."""
    with server.client() as api:
        ids: list[str] = []
        jobs = _jobs()
        for start in range(0, len(jobs), 100):
            response = api.post("/jobs/batch", json={"jobs": jobs[start : start + 100]})
            assert response.status_code == 201, response.text
            ids += [job["id"] for job in response.json()["items"]]
        # No agent yet: every job waits, and the periodic count says so.
        wait_until(lambda: _depth(server) == {"queued": JOBS}, 30, "the queue depth")
        fast = scrape(server)["conveyor_queue_depth"]
        assert total(fast, "conveyor_queue_depth", queue="fast") == (JOBS + 1) // 2
    return ids


def _run(server: LiveServer, ids: list[str]) -> tuple[dict[str, list[Sample]], dict[str, str]]:
    """An agent on both queues runs every job; then the depth falls to nothing."""
    agent = python_agent(server, "meter", "--queue", "default", "--queue", "fast", slots=4)
    try:
        with server.client() as api:
            final = wait_states(api, ids, timeout=180)
        wait_until(lambda: _depth(server) == {}, 30, "the queue depth to fall to nothing")
        wait_until(lambda: _busy(server) == 0, 30, "the agents' next heartbeats")
        families = scrape(server)
        live = families["conveyor_agents_connected"]
        assert live[0].value == 2
        assert families["conveyor_agent_slots"][0].value == 5
        assert families["conveyor_websocket_connections"][0].value == 2
    finally:
        agent.process.kill()
    return families, final


def _sse_clients_counted(server: LiveServer) -> None:
    def open_streams() -> float:
        return total(scrape(server)["conveyor_sse_clients"], "conveyor_sse_clients")

    assert open_streams() == 0
    with (
        server.client() as api,
        api.stream("GET", "/events", params={"after": 0}, timeout=30) as response,
    ):
        assert response.status_code == 200
        wait_until(lambda: open_streams() == 1, 30, "the stream to be counted")
    wait_until(lambda: open_streams() == 0, 30, "the closed stream to be uncounted")


def _deploy_names_exist(families: dict[str, list[Sample]]) -> None:
    """Every metric the Grafana dashboard and the alert rules query is one /metrics serves."""
    named: set[str] = set()
    for path in DEPLOY.rglob("*"):
        if path.suffix in {".json", ".yml", ".yaml"}:
            named |= set(re.findall(r"\bconveyor_[a-z_]+", path.read_text()))
    assert len(named) > 10
    missing = {name for name in named if SERIES_SUFFIX.sub("", name) not in families}
    assert not missing, f"named in deploy/ but not served: {sorted(missing)}"


def test_metrics_agree_with_the_jobs_and_attempts_tables(metered: LiveServer) -> None:
    unauthorized = httpx.get(f"{metered.url}/metrics", timeout=10)
    assert unauthorized.status_code == 401
    assert unauthorized.json()["error"]["code"] == "unauthenticated"
    wrong = httpx.get(
        f"{metered.url}/metrics", headers={"Authorization": "Bearer nope"}, timeout=10
    )
    assert wrong.status_code == 401

    # An agent on another queue offers the actions (a submit needs them) but takes nothing.
    idle = python_agent(metered, "idle", "--queue", "elsewhere", slots=1)
    try:
        ids = _submit_while_nothing_runs(metered)
        families, final = _run(metered, ids)
    finally:
        idle.process.kill()
    _sse_clients_counted(metered)
    _deploy_names_exist(families)
    pools = families["conveyor_db_pool_size"]
    assert pools and all(s.value >= 1 for s in pools)
    store_calls = families["conveyor_store_call_duration_seconds"]
    writes = total(store_calls, "conveyor_store_call_duration_seconds_count", kind="write")
    assert writes >= JOBS // 100  # at least the submits' batches
    states, outcomes, timed = asyncio.run(_tables(metered.database_url))
    assert Counter(final.values()) == states
    assert states["succeeded"] == JOBS - len(range(0, JOBS, 20))
    assert states["dead"] == len(range(0, JOBS, 20))

    submitted = families["conveyor_jobs_submitted"]
    assert total(submitted, "conveyor_jobs_submitted_total") == JOBS
    assert total(submitted, "conveyor_jobs_submitted_total", queue="fast") == (JOBS + 1) // 2
    started = families["conveyor_jobs_started"]
    assert total(started, "conveyor_jobs_started_total") == sum(outcomes.values())
    finished = families["conveyor_jobs_finished"]
    for outcome, count in outcomes.items():
        assert total(finished, "conveyor_jobs_finished_total", outcome=outcome) == count, outcome
    wait = families["conveyor_job_wait_seconds"]  # every start, measured from when it was due
    assert total(wait, "conveyor_job_wait_seconds_count") == sum(outcomes.values())
    assert total(wait, "conveyor_job_wait_seconds_count", queue="fast") == total(
        started, "conveyor_jobs_started_total", queue="fast"
    )
    assert total(wait, "conveyor_job_wait_seconds_sum") > 0  # they waited for the agent
    run = families["conveyor_job_run_seconds"]
    ended = outcomes["succeeded"] + outcomes["failed"]
    assert total(run, "conveyor_job_run_seconds_count") == ended
    assert total(families["conveyor_job_retries"], "conveyor_job_retries_total") == (
        outcomes["failed"] - states["dead"]
    )
    assert total(families["conveyor_jobs_dead"], "conveyor_jobs_dead_total") == states["dead"]
    # The stats' rollups, kept by the database's triggers, agree with the same tables.
    assert timed == {"wait": sum(outcomes.values()), "run": ended}
    with metered.client() as api:
        stats = api.get("/stats", params={"window": "day"}).json()
    assert stats["totals"] == {"submitted": JOBS, "succeeded": states["succeeded"],
                               "failed": states["dead"], "cancelled": 0}  # fmt: skip
    # Labels stay bounded: no job id anywhere, every action and queue one we used.
    for samples in families.values():
        for sample in samples:
            assert not any(v in ids for v in sample.labels.values())
    actions = {s.labels["action"] for s in started if "action" in s.labels}
    assert actions <= {"e2e.add", "e2e.flaky"}
    http = families["conveyor_http_request_duration_seconds"]
    routes = {s.labels["route"] for s in http}
    assert "/api/v1/jobs/batch" in routes
    assert not any(job_id in route for route in routes for job_id in ids)
    assert LABEL_CAP >= 2


REPLICA_JOBS = 60


@pytest.fixture
def two_replicas(pg_url: str, tmp_path: Path) -> Iterator[list[LiveServer]]:
    started: list[LiveServer] = []
    try:
        for name in "ab":
            (tmp_path / name).mkdir()
            started.append(LiveServer(pg_url, tmp_path / name, metrics_depth_s="0.2"))
        yield started
    finally:
        for server in started:
            server.stop()


def test_each_replica_counts_what_it_does_and_shares_the_depth(
    two_replicas: list[LiveServer],
) -> None:
    """Jobs submitted through b, run by an agent on a: b counts the submits, a the attempts;
    both export the same queue depth (max(), not sum())."""
    a, b = two_replicas
    key = b.agent_key  # each start made a fresh key and revoked the one before
    idle = python_agent(b, "idle", "--queue", "elsewhere", key=key, slots=1)
    try:
        with b.client() as api:
            batch = [{"action": "e2e.add", "params": {"a": i, "b": 1}} for i in range(REPLICA_JOBS)]
            response = api.post("/jobs/batch", json={"jobs": batch})
            assert response.status_code == 201, response.text
            ids = [job["id"] for job in response.json()["items"]]
        for replica in (a, b):
            wait_until(lambda r=replica: _depth(r) == {"queued": REPLICA_JOBS}, 30, "depth")
        worker = python_agent(a, "worker", key=key, slots=4)
        try:
            with b.client() as api:
                assert set(wait_states(api, ids, timeout=120).values()) == {"succeeded"}
        finally:
            worker.process.kill()
    finally:
        idle.process.kill()
    for replica in (a, b):
        wait_until(lambda r=replica: _depth(r) == {}, 30, "the depth to fall to nothing")
    scraped = {name: scrape(replica, None) for name, replica in zip("ab", (a, b), strict=True)}

    def count(name: str, metric: str) -> float:
        return total(scraped[name][metric], f"{metric}_total")

    assert count("b", "conveyor_jobs_submitted") == REPLICA_JOBS
    assert count("a", "conveyor_jobs_submitted") == 0
    assert count("a", "conveyor_jobs_started") == REPLICA_JOBS
    assert count("b", "conveyor_jobs_started") == 0
    finished = sum(count(name, "conveyor_jobs_finished") for name in "ab")
    assert finished == REPLICA_JOBS
