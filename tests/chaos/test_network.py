"""An agent cut off from its server by the fault proxy: for less than its lease (nothing
runs twice), for longer (the agent stops its jobs before they run elsewhere)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from conveyor import protocol
from tests.chaos.conftest import Scenario, Stopwatch, size
from tests.chaos.faults import FaultProxy, Mode
from tests.chaos.ledger import read
from tests.e2e.conftest import wait_states
from tests.helpers.live import wait_until

HEARTBEATS_HELD = 3  # heartbeats every 0.5 s, lease 3 s: a partition of about half the lease
LEASE_S = 3.0  # the scenario servers' lease


@pytest.fixture
def proxy(scenario: Scenario) -> Iterator[FaultProxy]:
    fault = FaultProxy(scenario.server.port)
    try:
        yield fault
    finally:
        fault.close()


def test_a_partition_shorter_than_the_lease_runs_nothing_twice(
    scenario: Scenario, api: httpx.Client, proxy: FaultProxy, db_url: str
) -> None:
    count = size(2, 8)
    scenario.agent("behind", slots=count, url=proxy.url)
    ids = [scenario.submit(api) for _ in range(count)]
    wait_until(lambda: len(read(scenario.ledger)) == count, what="every job to start")
    proxy.set(Mode.BLACKHOLE)
    wait_until(lambda: proxy.held >= HEARTBEATS_HELD, what="heartbeats held by the partition")
    proxy.set(Mode.PASS)
    scenario.open_gate()
    Stopwatch(f"[{db_url.split(':')[0]}] partition healed (< lease) -> every job done").until(
        lambda: wait_states(api, ids) == dict.fromkeys(ids, "succeeded")
    )
    history = scenario.check(api)
    assert history.duplicates == []
    assert all(job.attempt == 1 for job in history.jobs.values())


def test_a_partition_longer_than_the_lease_stops_the_job_before_it_runs_elsewhere(
    scenario: Scenario, api: httpx.Client, proxy: FaultProxy, db_url: str
) -> None:
    count = size(2, 8)
    behind = scenario.agent("behind", slots=count, url=proxy.url)
    ids = [scenario.submit(api) for _ in range(count)]
    wait_until(lambda: len(read(scenario.ledger)) == count, what="every job to start")
    scenario.agent("elsewhere", slots=count)
    proxy.set(Mode.BLACKHOLE)
    cut_at = time.time()  # nothing the agent sends from now on renews a lease
    Stopwatch(f"[{db_url.split(':')[0]}] partition (> lease) -> every job running again").until(
        lambda: len([run for run in read(scenario.ledger) if run.attempt == 2]) == count
    )
    proxy.set(Mode.PASS)
    scenario.open_gate()
    assert wait_states(api, ids) == dict.fromkeys(ids, "succeeded")
    history = scenario.check(api)
    for job_id in ids:
        first, second = history.runs_of(job_id)
        assert first.agent_pid == behind.process.pid and second.agent_pid != first.agent_pid
        # Stopped by the agent itself, before its lease could end, so never twice at once.
        assert first.finished and first.outcome == "raised"
        assert first.end is not None and first.end < cut_at + LEASE_S
        assert first.end < second.start
        assert [a["outcome"] for a in history.attempts[job_id]] == ["lease_expired", "succeeded"]
    assert "lease not renewed" in behind.process.output()


def test_a_result_whose_acknowledgement_is_lost_is_applied_once(
    scenario: Scenario, api: httpx.Client, proxy: FaultProxy, db_url: str
) -> None:
    agent = scenario.agent("behind", url=proxy.url)
    job_id = scenario.submit(api)
    wait_until(lambda: read(scenario.ledger), what="the job to start")
    # Cut the link after the first frame larger than a heartbeat: the result, sent once
    # the gate opens (the task logs nothing), reaches the server; its ack never returns.
    proxy.drop_reply(min_bytes=_heartbeat_frame_bytes() + 1)
    scenario.open_gate()
    assert proxy.replies_dropped.wait(30)
    watch = Stopwatch(f"[{db_url.split(':')[0]}] result ack lost -> agent back, job settled")
    watch.until(lambda: agent.process.output().count('"event":"connected"') >= 2)
    assert wait_states(api, [job_id]) == {job_id: "succeeded"}
    history = scenario.check(api)
    assert [a["outcome"] for a in history.attempts[job_id]] == ["succeeded"]
    assert history.duplicates == [] and len(history.runs_of(job_id)) == 1


def _heartbeat_frame_bytes() -> int:
    """A masked client frame of a one-job heartbeat: its JSON plus at most 14 bytes."""
    held = protocol.HeldJob(job_id=uuid.uuid4(), lease_token=uuid.uuid4())
    return len(protocol.encode(protocol.Heartbeat(jobs=[held], beat=2**40))) + 14
