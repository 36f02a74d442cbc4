"""An agent's own ``/metrics`` (``--metrics-port``): a real agent process runs jobs
against a real server, and its endpoint counts them.

What is counted is the agent's alone (no store behind it): one database is enough.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from tests.e2e.conftest import python_agent, wait_states
from tests.helpers.live import LiveAgent, LiveServer, Process, free_port, wait_until


def scrape(url: str) -> dict[str, list[Sample]]:
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200, response.text
    return {family.name: family.samples for family in text_string_to_metric_families(response.text)}


def value(families: dict[str, list[Sample]], name: str, **labels: str) -> float:
    return sum(
        s.value
        for s in families.get(name.removesuffix("_total"), [])
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_agent_serves_what_it_ran(server: LiveServer, agents: list[LiveAgent]) -> None:
    port = free_port()
    agents.append(python_agent(server, "metered", "--metrics-port", str(port), slots=3))
    url = f"http://127.0.0.1:{port}/metrics"
    jobs = [{"action": "e2e.add", "params": {"a": i, "b": 1}} for i in range(4)]
    jobs.append({"action": "e2e.flaky", "params": {"succeed_on": 9}, "max_attempts": 1})
    with server.client() as api:
        response = api.post("/jobs/batch", json={"jobs": jobs})
        assert response.status_code == 201, response.text
        ids = [job["id"] for job in response.json()["items"]]
        states = wait_states(api, ids)
    assert sorted(states.values()) == ["dead", *["succeeded"] * 4]
    # The agent counts a job once it has sent its result: the scrape may come first.
    wait_until(
        lambda: value(scrape(url), "conveyor_agent_jobs_total") == 5, 30, "the agent's counts"
    )
    families = scrape(url)
    assert value(families, "conveyor_agent_jobs_total", outcome="succeeded", action="e2e.add") == 4
    assert value(families, "conveyor_agent_jobs_total", outcome="failed", action="e2e.flaky") == 1
    assert value(families, "conveyor_agent_capacity_slots") == 3
    assert value(families, "conveyor_agent_busy_slots") == 0
    assert value(families, "conveyor_agent_connected") == 1
    assert value(families, "conveyor_agent_reconnects_total") == 0
    assert value(families, "conveyor_agent_executor_errors_total") == 0
    assert value(families, "conveyor_agent_lease_renewals_failed_total") == 0

    server.restart()  # the session drops: the agent reconnects and says so
    wait_until(
        lambda: (
            value(scrape(url), "conveyor_agent_reconnects_total") >= 1
            and value(scrape(url), "conveyor_agent_connected") == 1
        ),
        30,
        "the agent to count its reconnect",
    )


def test_a_taken_metrics_port_stops_the_agent_at_start(tmp_path: Path) -> None:
    """Before it connects anywhere: no server is needed to see it refuse."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        argv = ["agent", "--demo", "--server", "http://127.0.0.1:9", "--metrics-port", str(port)]
        agent = Process(argv, {**os.environ, "CONVEYOR_AGENT_KEY": "k"}, tmp_path / "agent.log")
        assert agent.proc.wait(60) == 2
    assert f"cannot serve the metrics on 127.0.0.1:{port}" in agent.output(), agent.output()
