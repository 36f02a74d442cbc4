"""Three ``conveyor server`` replicas on one PostgreSQL, sharing nothing but the database."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import python_agent, submit, wait_states
from tests.e2e.test_system import _pid_alive, _read
from tests.helpers.live import LiveAgent, LiveServer, sse_events, wait_until

JOBS = 2_000
BATCH = 100
# Heartbeats so rare that no heartbeat reply can carry a cancel during the test:
# a cancel that arrives was pushed by the replica holding the agent.
NO_HEARTBEAT = {"heartbeat_s": "1800", "lease_s": "3600"}


@pytest.fixture
def replicas(pg_url: str, tmp_path: Path) -> Iterator[list[LiveServer]]:
    started: list[LiveServer] = []
    try:
        for name in "abc":
            folder = tmp_path / name
            folder.mkdir()
            started.append(LiveServer(pg_url, folder, **NO_HEARTBEAT))
        yield started
    finally:
        for server in started:
            server.stop()


@pytest.fixture
def agents() -> Iterator[list[LiveAgent]]:
    """Agents a test starts (on any replica); all are killed afterwards."""
    started: list[LiveAgent] = []
    yield started
    for agent in started:
        agent.process.kill()


def test_jobs_cancels_and_events_cross_replicas(
    replicas: list[LiveServer], agents: list[LiveAgent], tmp_path: Path
) -> None:
    key = replicas[-1].agent_key  # each start made a fresh key and revoked the one before
    for name, replica in zip("abc", replicas, strict=True):
        agents.append(
            python_agent(replica, f"agent-{name}", key=key, slots=4, labels={"replica": name})
        )
    apis = [replica.client() for replica in replicas]
    try:
        ids: list[str] = []
        for start, api in zip(range(0, JOBS, BATCH), itertools.cycle(apis)):
            batch = [{"action": "e2e.add", "params": {"a": i, "b": 1}}
                     for i in range(start, start + BATCH)]  # fmt: skip
            response = api.post("/jobs/batch", json={"jobs": batch})
            assert response.status_code == 201, response.text
            ids += [job["id"] for job in response.json()["items"]]
        assert len(set(ids)) == JOBS
        states = wait_states(apis[1], ids, timeout=900)
        assert set(states.values()) == {"succeeded"}
        finished = _all_jobs(apis[0])
        assert len(finished) == JOBS and {j["state"] for j in finished} == {"succeeded"}
        assert {j["attempt"] for j in finished} == {1}
        assert all(j["result"] == j["params"]["a"] + 1 for j in finished)
        assert len({j["agent_id"] for j in finished}) == 3  # every replica's agent had work

        # A cancel sent to A stops a job running on the agent connected to C.
        held = submit(apis[0], "e2e.hold", {"folder": str(tmp_path)}, labels={"replica": "c"})
        pid = int(wait_until(lambda: _read(tmp_path / "1.pid"), what="the held job to start"))
        cancelled = apis[0].post(f"/jobs/{held}/cancel")
        assert cancelled.status_code == 200 and cancelled.json()["cancel_requested"] is True
        # B's event stream shows it: running, cancel requested, cancelled.
        seen = []
        with apis[1].stream(
            "GET", "/events", params={"after": 0, "job_id": held}, timeout=httpx.Timeout(120)
        ) as stream:
            for event in sse_events(stream):
                seen.append(event["data"]["data"])
                if event["data"]["data"].get("state") == "cancelled":
                    break
        assert seen[0]["state"] == "queued" and seen[-1]["state"] == "cancelled"
        assert any(s.get("cancel_requested") for s in seen if s["state"] == "running")
        assert not _pid_alive(pid)
        job = apis[2].get(f"/jobs/{held}").json()
        assert job["state"] == "cancelled" and job["attempt"] == 1
        attempts = apis[1].get(f"/jobs/{held}/attempts").json()["items"]
        assert [x["outcome"] for x in attempts] == ["cancelled"]
        assert attempts[0]["agent_id"] == _agent_id(apis[0], "agent-c")
    finally:
        for api in apis:
            api.close()


def test_drain_sent_to_one_replica_reaches_an_agent_on_another(
    replicas: list[LiveServer], agents: list[LiveAgent], tmp_path: Path
) -> None:
    a, _, c = replicas
    agents.append(python_agent(c, "on-c", key=c.agent_key))
    with a.client() as api:
        agent_id = _agent_id(api, "on-c")
        assert api.post(f"/agents/{agent_id}/drain").status_code == 200
        log = agents[0].process
        wait_until(lambda: "drain requested" in log.output(), what="the drain to be pushed")
        job = submit(api, "e2e.add", {"a": 1, "b": 2})
        assert api.get(f"/jobs/{job}").json()["waiting_reason"] == "agents_draining"
        # Another agent takes the work; the drained one never does.
        agents.append(python_agent(a, "on-a", key=c.agent_key))
        assert wait_states(api, [job]) == {job: "succeeded"}
        assert api.get(f"/jobs/{job}").json()["agent_id"] == _agent_id(api, "on-a")


def _agent_id(api: httpx.Client, name: str) -> str:
    found: str = next(x["id"] for x in api.get("/agents").json()["items"] if x["name"] == name)
    return found


def _all_jobs(api: httpx.Client) -> list[dict[str, Any]]:
    jobs: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 1000, "action": "e2e.add"}
        if cursor:
            params["cursor"] = cursor
        page = api.get("/jobs", params=params).json()
        jobs += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return jobs
