"""How agents end: SIGTERM with a grace period, ``--once``, ``--exit-when-idle``.

Real server and agent processes; the tests wait on files the jobs write, on the
agents' exit and on the event stream, never on time.
"""

from __future__ import annotations

import signal
from pathlib import Path

import httpx

from tests.e2e.conftest import python_agent, submit, wait_states
from tests.e2e.test_system import _pid_alive, _read
from tests.helpers.live import LiveAgent, LiveServer, wait_until

EXIT_TIMEOUT_S = 120


def _started(folder: Path, attempt: int = 1) -> int:
    return int(wait_until(lambda: _read(folder / f"{attempt}.pid"), what=f"{folder.name} to start"))


def _outcomes(api: httpx.Client, job_id: str) -> list[str]:
    return [a["outcome"] for a in api.get(f"/jobs/{job_id}/attempts").json()["items"]]


def _holding(
    server: LiveServer, api: httpx.Client, tmp_path: Path, grace: str
) -> tuple[LiveAgent, list[Path], list[str], list[int]]:
    """An agent running two held jobs (they end when the test writes go-<attempt>);
    a third folder for a job submitted later."""
    agent = python_agent(server, "leaving", "--shutdown-grace", grace, slots=2)
    folders = [tmp_path / f"job-{i}" for i in range(3)]
    for folder in folders:
        folder.mkdir()
    ids = [submit(api, "e2e.hold", {"folder": str(f)}, cancel_grace_s=1) for f in folders[:2]]
    return agent, folders, ids, [_started(folder) for folder in folders[:2]]


def test_sigterm_lets_running_jobs_finish_and_takes_no_new_work(
    server: LiveServer, agents: list, api: httpx.Client, tmp_path: Path
) -> None:
    agent, folders, ids, _ = _holding(server, api, tmp_path, grace="600")
    agents.append(agent)
    agent.process.signal(signal.SIGTERM)
    wait_until(lambda: "stopping: no new work" in agent.process.output(), what="the agent to stop")
    late = submit(api, "e2e.hold", {"folder": str(folders[2])})
    for folder in folders[:2]:
        (folder / "go-1").touch()
    assert agent.process.proc.wait(EXIT_TIMEOUT_S) == 0
    assert wait_states(api, ids) == dict.fromkeys(ids, "succeeded")
    for job_id in ids:
        job = api.get(f"/jobs/{job_id}").json()
        assert job["attempt"] == 1 and job["result"]["attempt"] == 1
        assert _outcomes(api, job_id) == ["succeeded"]
    # The job submitted during the grace never ran: it waits for an agent.
    waiting = api.get(f"/jobs/{late}").json()
    assert waiting["state"] == "queued" and waiting["attempt"] == 0
    assert waiting["waiting_reason"] == "no_agent_offers_action"
    assert "stopped (signal)" in agent.process.output()


def test_jobs_still_running_after_the_grace_are_released_and_run_elsewhere_once(
    server: LiveServer, agents: list, api: httpx.Client, tmp_path: Path
) -> None:
    leaving, folders, ids, first_pids = _holding(server, api, tmp_path, grace="0.2")
    agents.append(leaving)
    leaving.process.signal(signal.SIGTERM)
    assert leaving.process.proc.wait(EXIT_TIMEOUT_S) == 0
    # Released, not failed: back in the queue, and attempt 1's process is gone.
    for job_id in ids:
        assert api.get(f"/jobs/{job_id}").json()["state"] == "queued"
        assert _outcomes(api, job_id) == ["released"]
    assert [pid for pid in first_pids if _pid_alive(pid)] == []

    agents.append(python_agent(server, "staying", slots=2))
    for folder in folders[:2]:
        _started(folder, attempt=2)
        (folder / "go-2").touch()
    assert wait_states(api, ids) == dict.fromkeys(ids, "succeeded")
    for job_id in ids:
        job = api.get(f"/jobs/{job_id}").json()
        assert job["attempt"] == 2 and job["result"]["attempt"] == 2
        assert _outcomes(api, job_id) == ["released", "succeeded"]


def test_once_runs_exactly_one_job_and_exits_0(
    server: LiveServer, agents: list, api: httpx.Client
) -> None:
    _seed_catalog(server)
    ids = [submit(api, "e2e.add", {"a": i, "b": 1}) for i in range(4)]
    agent = python_agent(server, "ephemeral", "--once", slots=3, wait=False)
    agents.append(agent)
    assert agent.process.proc.wait(EXIT_TIMEOUT_S) == 0
    jobs = [api.get(f"/jobs/{job_id}").json() for job_id in ids]
    assert sorted(job["state"] for job in jobs) == ["queued", "queued", "queued", "succeeded"]
    for job in jobs:
        ran = [o for o in _outcomes(api, job["id"]) if o != "released"]
        assert ran == (["succeeded"] if job["state"] == "succeeded" else [])
    assert "stopped (once)" in agent.process.output()


def test_exit_when_idle_exits_0_after_its_work(
    server: LiveServer, agents: list, api: httpx.Client
) -> None:
    _seed_catalog(server)
    ids = [submit(api, "e2e.add", {"a": i, "b": 2}) for i in range(3)]
    agent = python_agent(server, "autoscaled", "--exit-when-idle", "2", slots=2, wait=False)
    agents.append(agent)
    assert agent.process.proc.wait(EXIT_TIMEOUT_S) == 0
    assert wait_states(api, ids) == dict.fromkeys(ids, "succeeded")
    assert "stopped (idle)" in agent.process.output()


def _seed_catalog(server: LiveServer) -> None:
    """Put the e2e actions in the catalog (a first agent's hello), so jobs can wait for one."""
    seeder = python_agent(server, "seeder")
    assert seeder.process.stop() == 0
