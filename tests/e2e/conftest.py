"""End-to-end fixtures: a real server process per test, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers.live import LiveAgent, LiveServer, sse_events

HERE = Path(__file__).parent
TASKS = "tests.e2e.tasks:tasks"
SHELL_CONFIG = str(HERE / "shell.toml")
TERMINAL = {"succeeded", "dead", "cancelled"}


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    live = LiveServer(db_url, tmp_path)
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture
def agents(server: LiveServer) -> Iterator[list[LiveAgent]]:
    """Agents a test starts; all are stopped (or already dead) afterwards."""
    started: list[LiveAgent] = []
    yield started
    for agent in started:
        agent.process.kill()


@pytest.fixture
def api(server: LiveServer) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


def python_agent(server: LiveServer, name: str, *args: str, **kwargs: Any) -> LiveAgent:
    return LiveAgent(server, name, "--tasks", TASKS, *args, **kwargs)


def shell_agent(server: LiveServer, name: str, **kwargs: Any) -> LiveAgent:
    return LiveAgent(server, name, "--config", SHELL_CONFIG, **kwargs)


def wait_states(
    api: httpx.Client, ids: list[str], until: set[str] = TERMINAL, timeout: float = 120
) -> dict[str, str]:
    """Follow the team's event stream from the start until every job reached ``until``."""
    pending = set(ids)
    states: dict[str, str] = {}
    with api.stream(
        "GET",
        "/events",
        params={"after": 0, "kind": "job"},
        timeout=httpx.Timeout(timeout, connect=10),
    ) as response:
        response.raise_for_status()
        for event in sse_events(response, deadline=time.monotonic() + timeout):
            job_id = event["data"]["object_id"]
            state = event["data"]["data"].get("state")
            if job_id in pending and state is not None:
                states[job_id] = state
                if state in until:
                    pending.discard(job_id)
                    if not pending:
                        break
    return states


def submit(api: httpx.Client, action: str, params: dict[str, Any], **fields: Any) -> str:
    response = api.post("/jobs", json={"action": action, "params": params, **fields})
    assert response.status_code == 201, response.text
    job_id: str = response.json()["id"]
    return job_id
