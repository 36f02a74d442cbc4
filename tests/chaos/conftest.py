"""Fixtures of the fault scenarios: a real server, agents that run the ledger tasks,
the scenario's size, and the recovery times ``make chaos`` prints.

``CONVEYOR_CHAOS_SCALE=full`` runs each scenario at full size (more jobs, more
agents); by default they run small enough for ``make test``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from conveyor import Client
from tests.chaos.checker import DUMP_ROOT, History, check_history
from tests.helpers.live import LiveAgent, LiveServer, wait_until

TASKS = "tests.chaos.tasks:tasks"
FULL = os.environ.get("CONVEYOR_CHAOS_SCALE", "small") == "full"
RECOVERIES: list[str] = []
FIGURES: list[str] = []  # the soak's, printed at the end of the run


def size(small: int, full: int) -> int:
    """A scenario's size: ``small`` in ``make test``, ``full`` in ``make chaos``."""
    return full if FULL else small


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.chaos)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if RECOVERIES:
        terminalreporter.section(f"chaos recovery times ({'full' if FULL else 'small'} size)")
        for line in RECOVERIES:
            terminalreporter.write_line(line)
    if FIGURES:
        terminalreporter.section("soak figures")
        for line in FIGURES:
            terminalreporter.write_line(line)


@dataclass
class Scenario:
    """One scenario's world: its server, agents, ledger and gate, and what it did."""

    name: str
    server: LiveServer
    folder: Path
    agents: list[LiveAgent] = field(default_factory=list)
    submitted: list[str] = field(default_factory=list)
    faulty: set[int] = field(default_factory=set)  # agent pids killed or frozen

    @property
    def ledger(self) -> Path:
        return self.folder / "ledger.jsonl"

    @property
    def gate(self) -> Path:
        return self.folder / "gate"

    def agent(self, name: str, *args: str, slots: int = 2, **kwargs: Any) -> LiveAgent:
        agent = LiveAgent(self.server, name, "--tasks", TASKS, *args, slots=slots, **kwargs)
        self.agents.append(agent)
        return agent

    def submit(self, api: httpx.Client, action: str = "chaos.work", **params: Any) -> str:
        """Submit and remember it: the checker holds every acknowledged submit to account."""
        body: dict[str, Any] = {"action": action, "params": {"ledger": str(self.ledger), **params}}
        if action == "chaos.work":
            body["params"].setdefault("gate", str(self.gate))
        body.update(body["params"].pop("job", {}))
        response = api.post("/jobs", json=body)
        assert response.status_code == 201, response.text
        job_id: str = response.json()["id"]
        self.submitted.append(job_id)
        return job_id

    def open_gate(self, which: str = "all") -> None:
        (self.gate / which).touch()

    def check(self, api: httpx.Client, dump_root: Path = DUMP_ROOT) -> History:
        with Client(self.server.url, self.server.token) as client:
            return check_history(
                client, api, self.ledger, self.submitted, scenario=self.name,
                faulty_agents=self.faulty, logs=self._logs(), dump_root=dump_root,
            )  # fmt: skip

    def _logs(self) -> list[Path]:
        return [self.server.process.log_path, *(a.process.log_path for a in self.agents)]

    def agent_of(self, pid: int) -> LiveAgent:
        return next(a for a in self.agents if a.process.pid == pid)


@pytest.fixture
def scenario(request: pytest.FixtureRequest, db_url: str, tmp_path: Path) -> Iterator[Scenario]:
    """A server on the test's database (lease 3 s, heartbeat 0.5 s: faults show in seconds)."""
    settings = getattr(request, "param", {})
    server = LiveServer(db_url, tmp_path, **settings)
    world = Scenario(request.node.name, server, tmp_path)
    world.gate.mkdir()
    try:
        yield world
    finally:
        for agent in world.agents:
            with contextlib.suppress(ProcessLookupError):  # a frozen agent must be able to die
                os.kill(agent.process.pid, signal.SIGCONT)
            agent.process.kill()
        server.stop()


@pytest.fixture
def api(scenario: Scenario) -> Iterator[httpx.Client]:
    with scenario.server.client() as client:
        yield client


class Stopwatch:
    """Times a recovery: from the fault to the first sign the system is whole again."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.started = time.monotonic()

    def until(self, condition: Any, timeout: float = 60.0) -> float:
        """Wait for the sign of recovery, and record how long it took."""
        wait_until(condition, timeout, self.what)
        return self.done()

    def done(self) -> float:
        """Record the time to now: the recovery is over."""
        took = time.monotonic() - self.started
        RECOVERIES.append(f"{self.what}: {took:.1f} s")
        return took
