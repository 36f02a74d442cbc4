"""The whole system with real processes: a server, agents, sockets, signals."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx
import orjson

from tests.e2e.conftest import python_agent, shell_agent, submit, wait_states
from tests.helpers.live import LiveServer, Process, sse_events, wait_until


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie has exited; only its parent has not collected it yet.
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_mixed_jobs_run_on_agents_that_offer_them(
    server: LiveServer, agents: list, api: httpx.Client
) -> None:
    agents.append(python_agent(server, "py", labels={"pool": "py"}))
    agents.append(shell_agent(server, "sh", labels={"pool": "sh"}))
    jobs = [
        {"action": "e2e.add", "params": {"a": i, "b": 1}, "labels": {"pool": "py"}}
        if i % 2
        else {"action": "e2e.say", "params": {"word": f"w{i}"}}
        for i in range(500)
    ]
    ids: list[str] = []
    for start in range(0, len(jobs), 100):
        response = api.post("/jobs/batch", json={"jobs": jobs[start : start + 100]})
        assert response.status_code == 201, response.text
        ids += [job["id"] for job in response.json()["items"]]
    states = wait_states(api, ids)
    assert set(states.values()) == {"succeeded"}
    by_name = {a["name"]: a["id"] for a in api.get("/agents").json()["items"]}
    for job_id, spec in zip(ids, jobs, strict=True):
        job = api.get(f"/jobs/{job_id}").json()
        if spec["action"] == "e2e.add":
            assert job["agent_id"] == by_name["py"]
            assert job["result"] == spec["params"]["a"] + 1
        else:
            assert job["agent_id"] == by_name["sh"]
            assert job["result"]["exit_code"] == 0


def test_frozen_agent_loses_its_job_and_is_told_so(
    server: LiveServer, agents: list, api: httpx.Client, tmp_path: Path
) -> None:
    folder = tmp_path / "hold"
    folder.mkdir()
    frozen = python_agent(server, "frozen")
    agents.append(frozen)
    job_id = submit(api, "e2e.hold", {"folder": str(folder)})
    first_pid = int(wait_until(lambda: _read(folder / "1.pid"), what="attempt 1 to start"))
    frozen.process.signal(signal.SIGSTOP)
    try:
        agents.append(python_agent(server, "other"))
        wait_until(lambda: _read(folder / "2.pid"), timeout=60, what="attempt 2 to start")
        (folder / "go-2").touch()
        assert wait_states(api, [job_id]) == {job_id: "succeeded"}
    finally:
        frozen.process.signal(signal.SIGCONT)
    # Resumed, the frozen agent's heartbeat is refused: it is told `lost` and stops attempt 1.
    wait_until(lambda: not _pid_alive(first_pid), timeout=30, what="attempt 1's process to stop")
    job = api.get(f"/jobs/{job_id}").json()
    assert job["state"] == "succeeded" and job["attempt"] == 2
    assert job["result"]["attempt"] == 2
    attempts = api.get(f"/jobs/{job_id}/attempts").json()["items"]
    assert [a["outcome"] for a in attempts] == ["lease_expired", "succeeded"]
    assert "job lost" in frozen.process.output()


def test_killed_agent_job_runs_again_elsewhere(
    server: LiveServer, agents: list, api: httpx.Client, tmp_path: Path
) -> None:
    folder = tmp_path / "hold"
    folder.mkdir()
    doomed = python_agent(server, "doomed")
    agents.append(doomed)
    job_id = submit(api, "e2e.hold", {"folder": str(folder)})
    orphan = int(wait_until(lambda: _read(folder / "1.pid"), what="attempt 1 to start"))
    doomed.process.signal(signal.SIGKILL)
    try:
        agents.append(python_agent(server, "survivor"))
        wait_until(lambda: _read(folder / "2.pid"), timeout=60, what="attempt 2 to start")
        (folder / "go-2").touch()
        assert wait_states(api, [job_id]) == {job_id: "succeeded"}
        job = api.get(f"/jobs/{job_id}").json()
        assert job["attempt"] == 2 and job["result"]["attempt"] == 2
    finally:
        if _pid_alive(orphan):
            os.kill(orphan, signal.SIGKILL)


def test_cancel_stops_the_whole_process_group(
    server: LiveServer, agents: list, api: httpx.Client, tmp_path: Path
) -> None:
    agents.append(shell_agent(server, "sh"))
    job_id = submit(api, "e2e.tree", {"folder": str(tmp_path)}, cancel_grace_s=1)
    names = ("shell.pid", "stubborn.pid", "grandchild.pid")
    pids = [int(wait_until(lambda n=n: _read(tmp_path / n), what=n)) for n in names]
    assert all(_pid_alive(pid) for pid in pids)
    response = api.post(f"/jobs/{job_id}/cancel")
    assert response.status_code == 200, response.text
    assert wait_states(api, [job_id]) == {job_id: "cancelled"}
    assert [pid for pid in pids if _pid_alive(pid)] == []


def test_live_log_reaches_sse_before_the_task_goes_on(
    server: LiveServer, agents: list, api: httpx.Client, tmp_path: Path
) -> None:
    agents.append(python_agent(server, "py"))
    job_id = submit(api, "e2e.lines", {"count": 5, "folder": str(tmp_path)})
    seen: list[str] = []
    with api.stream("GET", f"/jobs/{job_id}/logs/stream", timeout=60) as response:
        assert response.status_code == 200
        for event in sse_events(response):
            if event.get("event") != "log":
                continue
            for line in event["data"]["lines"]:
                seen.append(line["text"])
                if line["text"].startswith("line "):
                    (tmp_path / f"ack-{line['text'].split()[1]}").touch()
            if len([t for t in seen if t.startswith("line ")]) == 5:
                break
    assert [t for t in seen if t.startswith("line ")] == [f"line {k}" for k in range(5)]
    assert wait_states(api, [job_id]) == {job_id: "succeeded"}
    stored = [
        line["text"]
        for chunk in api.get(f"/jobs/{job_id}/logs").json()["items"]
        for line in chunk["lines"]
    ]
    assert [t for t in stored if t.startswith("line ")] == [f"line {k}" for k in range(5)]


def test_bad_input_is_refused_and_nothing_is_enqueued(
    server: LiveServer, agents: list, api: httpx.Client
) -> None:
    agents.append(shell_agent(server, "sh"))
    url = f"{server.url}/api/v1/jobs"
    auth = {"Authorization": f"Bearer {server.token}"}
    cases = [
        (api.post("/jobs", json={"action": "no.such.action", "params": {}}), 422),
        (api.post("/jobs", json={"action": "e2e.say", "params": {"word": 5}}), 422),
        (api.post("/jobs", json={"action": "e2e.say"}), 422),  # word is required
        (
            httpx.post(
                url, content=b'{"action": ', headers={**auth, "Content-Type": "application/json"}
            ),
            422,
        ),
        (httpx.post(url, json={"action": "e2e.say", "params": {"word": "x"}}), 401),
        (
            httpx.post(url, json={"action": "e2e.say"}, headers={"Authorization": "Bearer nope"}),
            401,
        ),
        (api.post("/jobs", json={"action": "e2e.say", "params": {"word": "x" * 2_000_000}}), 413),
    ]
    for response, status in cases:
        assert response.status_code == status, response.text
        error = response.json()["error"]
        assert error["code"] and error["message"]
    assert api.get("/jobs").json()["items"] == []


def test_hostile_parameters_reach_the_program_as_one_literal_argument(
    server: LiveServer, agents: list, api: httpx.Client
) -> None:
    agents.append(shell_agent(server, "sh"))
    values = ["; touch /tmp/pwned", "--output=/x", "$(id) `id` && id | cat"]
    ids = [submit(api, "e2e.argv", {"value": value}) for value in values]
    assert set(wait_states(api, ids).values()) == {"succeeded"}
    for job_id, value in zip(ids, values, strict=True):
        lines = [
            line["text"]
            for chunk in api.get(f"/jobs/{job_id}/logs").json()["items"]
            for line in chunk["lines"]
            if line["stream"] == "stdout"
        ]
        assert orjson.loads(lines[0]) == ["--", value]
    assert not Path("/tmp/pwned").exists()


def _read(path: Path) -> str | None:
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        return None
    return text or None


def test_agent_with_a_bad_key_is_refused_and_exits(server: LiveServer, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVEYOR_")}
    env |= {"CONVEYOR_AGENT_KEY": "cvk_000000000000_nope", "CONVEYOR_SERVER": server.url}
    agent = Process(["agent", "--name", "intruder", "--demo"], env, tmp_path / "intruder.log")
    assert agent.proc.wait(timeout=60) == 3
    assert "refused" in agent.output()


def test_revoked_key_disconnects_its_agent(
    server: LiveServer, agents: list, api: httpx.Client
) -> None:
    created = api.post("/teams/default/keys", json={"kind": "agent", "name": "temp"})
    assert created.status_code == 201, created.text
    agent = python_agent(server, "temp", key=created.json()["secret"])
    agents.append(agent)
    revoked = api.delete(f"/teams/default/keys/{created.json()['id']}")
    assert revoked.status_code == 204, revoked.text
    # The server re-checks credentials on the agent's heartbeats and refuses it.
    assert agent.process.proc.wait(timeout=60) == 3
    assert "refused" in agent.process.output() or "revoked" in agent.process.output()


def test_server_restart_keeps_running_jobs(db_url: str, tmp_path: Path) -> None:
    """Agents reconnect, say which jobs they still run, and finish them on the same attempt."""
    server = LiveServer(db_url, tmp_path, lease_s="30")
    agent = python_agent(server, "py")
    try:
        with server.client() as api:
            job_id = submit(api, "e2e.hold", {"folder": str(tmp_path)})
        wait_until(lambda: _read(tmp_path / "1.pid"), what="attempt 1 to start")
        server.restart()
        with server.client() as api:
            wait_until(
                lambda: any(
                    a["name"] == "py" and a["connected"] for a in api.get("/agents").json()["items"]
                ),
                what="the agent to reconnect",
            )
            (tmp_path / "go-1").touch()
            assert wait_states(api, [job_id]) == {job_id: "succeeded"}
            job = api.get(f"/jobs/{job_id}").json()
        assert job["attempt"] == 1 and job["result"]["attempt"] == 1
    finally:
        agent.process.kill()
        server.stop()
