"""A partition made by the kernel: an agent in its own network namespace, its veth link
taken down for less than the lease (nothing runs twice) and for longer (the agent stops
its jobs before the lease ends; they run again elsewhere, the checker explains it)."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.chaos.conftest import Scenario, Stopwatch
from tests.chaos.ledger import read
from tests.chaos.netns import Namespace, can_make_namespaces
from tests.e2e.conftest import wait_states
from tests.helpers.live import LiveAgent, LiveServer, wait_until

LEASE_S = 3.0  # the scenario servers' lease
JOBS = 2

pytestmark = pytest.mark.skipif(
    not can_make_namespaces(), reason="network namespaces need root and iproute2 (CI has both)"
)


@pytest.fixture
def namespace() -> Iterator[Namespace]:
    space = Namespace()
    try:
        space.create()
        yield space
    finally:
        space.delete()


@pytest.fixture
def world(db_url: str, tmp_path: Path, namespace: Namespace) -> Iterator[Scenario]:
    """A scenario whose server listens on the host side of the veth pair only."""
    server = LiveServer(db_url, tmp_path, host=namespace.host_address)
    scenario = Scenario(f"netns-{namespace.name}", server, tmp_path)
    scenario.gate.mkdir()
    try:
        yield scenario
    finally:
        namespace.heal()  # an agent must be able to hear its stop
        for agent in scenario.agents:
            with contextlib.suppress(ProcessLookupError):
                os.kill(agent.process.pid, signal.SIGCONT)
            agent.process.kill()
        server.stop()


@pytest.fixture
def world_api(world: Scenario) -> Iterator[httpx.Client]:
    with world.server.client() as client:
        yield client


def _inside(world: Scenario, namespace: Namespace) -> LiveAgent:
    agent = LiveAgent(world.server, "inside", "--tasks", "tests.chaos.tasks:tasks",
                      slots=JOBS, wrapper=namespace.wrapper)  # fmt: skip
    world.agents.append(agent)
    return agent


def test_a_kernel_partition_shorter_than_the_lease_runs_nothing_twice(
    world: Scenario, world_api: httpx.Client, namespace: Namespace, db_url: str
) -> None:
    _inside(world, namespace)
    ids = [world.submit(world_api) for _ in range(JOBS)]
    wait_until(lambda: len(read(world.ledger)) == JOBS, what="every job to start")
    namespace.partition()
    cut = time.monotonic()
    # No event tells of heartbeats that never left: hold the link down half the lease.
    wait_until(lambda: time.monotonic() - cut >= LEASE_S / 2, LEASE_S, "half the lease")
    namespace.heal()
    world.open_gate()
    Stopwatch(f"[{db_url.split(':')[0]}] netns link down (< lease) -> every job done").until(
        lambda: wait_states(world_api, ids) == dict.fromkeys(ids, "succeeded")
    )
    history = world.check(world_api)
    assert history.duplicates == []
    assert all(job.attempt == 1 for job in history.jobs.values())


def test_a_kernel_partition_longer_than_the_lease_stops_the_job_before_it_runs_elsewhere(
    world: Scenario, world_api: httpx.Client, namespace: Namespace, db_url: str
) -> None:
    inside = _inside(world, namespace)
    ids = [world.submit(world_api) for _ in range(JOBS)]
    wait_until(lambda: len(read(world.ledger)) == JOBS, what="every job to start")
    world.agent("elsewhere", slots=JOBS)
    namespace.partition()
    cut_at = time.time()
    Stopwatch(f"[{db_url.split(':')[0]}] netns link down (> lease) -> jobs running again").until(
        lambda: len([run for run in read(world.ledger) if run.attempt == 2]) == JOBS
    )
    namespace.heal()
    world.open_gate()
    assert wait_states(world_api, ids) == dict.fromkeys(ids, "succeeded")
    history = world.check(world_api)
    for job_id in ids:
        first, second = history.runs_of(job_id)
        assert first.agent_pid == inside.process.pid and second.agent_pid != first.agent_pid
        assert first.finished and first.outcome == "raised"  # stopped by its own agent
        assert first.end is not None and first.end < cut_at + LEASE_S
        assert first.end < second.start
        assert [a["outcome"] for a in history.attempts[job_id]] == ["lease_expired", "succeeded"]
    assert "lease not renewed" in inside.process.output()
