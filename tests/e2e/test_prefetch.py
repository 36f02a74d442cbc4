"""The agent's prefetch: while jobs are short it holds more jobs than it has slots.

A held job that has not started yet is cancelled without running, and handed back
at once (not after the shutdown grace) when the agent is told to stop. Real server
and agent processes; the tests wait on the event stream, on files the jobs write
and on the agent's exit, never on time.
"""

from __future__ import annotations

import signal
from pathlib import Path

import httpx

from tests.e2e.conftest import python_agent, submit, wait_states
from tests.e2e.test_lifecycle import EXIT_TIMEOUT_S, _outcomes, _started
from tests.helpers.live import LiveAgent, LiveServer, wait_until


def _busy_agent(
    server: LiveServer, agents: list, api: httpx.Client, folder: Path, *args: str
) -> tuple[LiveAgent, str]:
    """A one-slot agent that ran short jobs (so it knows they are short), now running a job
    that holds its slot until the test writes ``folder``/go-1."""
    agent = python_agent(server, "busy", *args, slots=1)
    agents.append(agent)
    warm = [submit(api, "e2e.add", {"a": i, "b": 0}) for i in range(20)]
    assert wait_states(api, warm) == dict.fromkeys(warm, "succeeded")
    folder.mkdir()
    holder = submit(api, "e2e.hold", {"folder": str(folder)})
    _started(folder)
    return agent, holder


def test_held_jobs_wait_for_the_slot_are_cancelled_unstarted_and_released_on_sigterm(
    server: LiveServer, agents: list, api: httpx.Client, tmp_path: Path
) -> None:
    folder = tmp_path / "hold"
    # A wide prefetch window (5 s of work per slot): that it holds all five does not
    # depend on how fast a loaded machine ran the warm-up jobs.
    agent, holder = _busy_agent(
        server, agents, api, folder, "--shutdown-grace", "600", "--prefetch-wait", "600",
        "--prefetch-window", "5",
    )  # fmt: skip
    held = [submit(api, "e2e.add", {"a": i, "b": 1}) for i in range(5)]
    assert wait_states(api, held, until={"running"}) == dict.fromkeys(held, "running")
    for job_id in held:  # claimed by this agent, though its slot is busy
        assert api.get(f"/jobs/{job_id}").json()["agent_id"] is not None

    cancelled = held.pop()
    assert api.post(f"/jobs/{cancelled}/cancel").status_code == 200
    assert wait_states(api, [cancelled]) == {cancelled: "cancelled"}
    assert not (folder / "go-1").exists()  # it ended without waiting for the slot

    agent.process.signal(signal.SIGTERM)
    # Handed back at once, while the running job still holds the slot (grace: 600 s).
    wait_until(
        lambda: all(_outcomes(api, job_id) == ["released"] for job_id in held),
        timeout=60,
        what="the held jobs to be released"
        + agent.process.output()[-600:]
        + repr(agent.process.proc.poll()),
    )
    assert agent.process.proc.poll() is None
    (folder / "go-1").touch()
    assert agent.process.proc.wait(EXIT_TIMEOUT_S) == 0

    assert api.get(f"/jobs/{holder}").json()["state"] == "succeeded"
    assert _outcomes(api, holder) == ["succeeded"]
    for job_id in held:  # never ran: back in the queue for another agent
        job = api.get(f"/jobs/{job_id}").json()
        assert job["state"] == "queued" and job["result"] is None
    job = api.get(f"/jobs/{cancelled}").json()
    assert job["result"] is None and _outcomes(api, cancelled) == ["cancelled"]


def test_an_agent_without_prefetch_holds_no_more_than_its_slots(
    server: LiveServer, agents: list, api: httpx.Client, tmp_path: Path
) -> None:
    folder = tmp_path / "hold"
    _, holder = _busy_agent(server, agents, api, folder, "--prefetch", "0")
    waiting = submit(api, "e2e.add", {"a": 1, "b": 1})
    job = api.get(f"/jobs/{waiting}").json()
    assert job["state"] == "queued" and job["waiting_reason"] == "agents_busy"
    (folder / "go-1").touch()
    assert wait_states(api, [holder, waiting]) == {holder: "succeeded", waiting: "succeeded"}


def test_held_jobs_that_wait_too_long_are_handed_back_once(
    server: LiveServer, agents: list, api: httpx.Client, tmp_path: Path
) -> None:
    folder = tmp_path / "hold"
    _, holder = _busy_agent(server, agents, api, folder, "--prefetch-wait", "0.5")
    held = [submit(api, "e2e.add", {"a": i, "b": 2}) for i in range(3)]
    # Behind a job that turned out long: handed back, and not taken again while it runs.
    wait_until(
        lambda: all(_outcomes(api, job_id) == ["released"] for job_id in held),
        timeout=60,
        what="the held jobs to be handed back",
    )
    for job_id in held:
        job = api.get(f"/jobs/{job_id}").json()
        assert job["state"] == "queued" and job["waiting_reason"] == "agents_busy"
    (folder / "go-1").touch()
    states = wait_states(api, [holder, *held])
    assert states == dict.fromkeys([holder, *held], "succeeded")
    for job_id in held:  # one hand-back, then one run: no ping-pong
        assert _outcomes(api, job_id) == ["released", "succeeded"]
