"""A soak: agents and clients on a slow link that loses 2 % of its segments, a steady
load of submits for ``CONVEYOR_SOAK_S`` seconds, then the history checker.

``make test`` runs it for 20 s so that it cannot rot; ``make soak`` runs it for 30
minutes and prints its figures (jobs done, submit → done p50/p99, duplicates, errors).
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.chaos.conftest import FIGURES, Scenario
from tests.chaos.faults import FaultProxy
from tests.chaos.load import SubmitStream, stored_jobs
from tests.e2e.conftest import wait_states
from tests.helpers.live import wait_until

SOAK_S = float(os.environ.get("CONVEYOR_SOAK_S", "20"))
LINK = {"latency_s": 0.02, "jitter_s": 0.01, "loss": 0.02, "rto_s": 0.2}
SUBMIT_INTERVAL_S = 0.1  # per client: about 20 submits a second from two clients


@pytest.fixture
def lossy_links(scenario: Scenario) -> Iterator[tuple[FaultProxy, FaultProxy]]:
    """Two lossy links to the server: one the agents use, one the clients use."""
    agents, clients = FaultProxy(scenario.server.port), FaultProxy(scenario.server.port)
    try:
        for link in (agents, clients):
            link.lossy(**LINK)
        yield agents, clients
    finally:
        agents.close()
        clients.close()


@pytest.mark.soak
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_soak_on_a_slow_lossy_link_loses_nothing_and_explains_every_duplicate(
    scenario: Scenario, api: httpx.Client, lossy_links: tuple[FaultProxy, FaultProxy]
) -> None:
    agents_link, clients_link = lossy_links
    for name in ("a", "b", "c"):
        scenario.agent(name, slots=4, url=agents_link.url)
    stream = SubmitStream(scenario, interval_s=SUBMIT_INTERVAL_S, url=clients_link.url)
    ends = time.monotonic() + SOAK_S
    try:  # fail fast when the SDK gives up on a submit
        wait_until(lambda: stream.failures or time.monotonic() >= ends, SOAK_S + 60, "the soak")
    finally:
        stream.stop()
    assert stream.failures == []
    stored = stored_jobs(scenario)
    assert set(stream.ids()) <= set(stored)
    scenario.submitted = stored
    assert wait_states(api, stored, timeout=300) == dict.fromkeys(stored, "succeeded")
    history = scenario.check(api)
    took = sorted(
        (job.finished_at - job.created_at).total_seconds()
        for job in history.jobs.values()
        if job.finished_at is not None
    )
    percentiles = statistics.quantiles(took, n=100)
    link = agents_link.lost + clients_link.lost, agents_link.forwarded + clients_link.forwarded
    FIGURES.append(
        f"{SOAK_S:.0f} s on a {LINK['latency_s'] * 1000:.0f} ± {LINK['jitter_s'] * 1000:.0f} ms "
        f"link losing {LINK['loss']:.0%} (RTO {LINK['rto_s'] * 1000:.0f} ms): "
        f"{len(took)} jobs done, submit -> done p50 {percentiles[49] * 1000:.0f} ms, "
        f"p99 {percentiles[98] * 1000:.0f} ms; {len(history.duplicates)} duplicate run(s), "
        f"all explained; {len(stream.retry.seen)} error(s) seen by clients (retried); "
        f"{link[0]} of {link[1]} chunks lost"
    )
    assert link[0] > 0  # the link did lose segments
