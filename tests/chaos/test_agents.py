"""Agents that die, freeze or are poisoned: every job still ends once, with its own result.

Each scenario ends with the history checker (tests/chaos/checker.py).
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from conveyor.settings import ServerSettings
from tests.chaos import ledger as ledger_file
from tests.chaos.checker import HistoryViolation
from tests.chaos.conftest import Scenario, Stopwatch, size
from tests.chaos.faults import freeze, kill_tree, thaw
from tests.chaos.ledger import Execution
from tests.e2e.conftest import wait_states
from tests.helpers.live import LiveAgent, wait_until

UNFENCED = {"testing": "1", "testing_unfenced_results": "1"}


def runs(
    scenario: Scenario, job_id: str | None = None, attempt: int | None = None
) -> list[Execution]:
    return [
        run
        for run in ledger_file.read(scenario.ledger)
        if (job_id is None or run.job == job_id) and (attempt is None or run.attempt == attempt)
    ]


def test_an_agent_killed_mid_job_its_jobs_run_again_elsewhere_once(
    scenario: Scenario, api: httpx.Client, db_url: str
) -> None:
    slots, extra = size(2, 4), size(2, 24)
    victim = scenario.agent("victim", slots=slots)
    ids = [scenario.submit(api) for _ in range(slots)]
    on_victim = wait_until(
        lambda: len(runs(scenario)) == slots and [r.job for r in runs(scenario)],
        what="the victim to run its jobs",
    )
    scenario.agent("survivor", slots=slots + extra)  # room for the victim's jobs and more
    ids += [scenario.submit(api) for _ in range(extra)]
    kill_tree(victim.process.pid)
    scenario.faulty.add(victim.process.pid)
    Stopwatch(f"[{_dialect(db_url)}] agent killed -> its job running again").until(
        lambda: runs(scenario, on_victim[0], attempt=2)
    )
    scenario.open_gate()
    assert wait_states(api, ids) == dict.fromkeys(ids, "succeeded")
    history = scenario.check(api)
    for job_id in on_victim:  # each ran again on the survivor, and only that run counted
        assert [r.agent_pid for r in history.runs_of(job_id)][-1] != victim.process.pid


def _freeze_past_lease(
    scenario: Scenario, api: httpx.Client, db_url: str, server: str = ""
) -> tuple[str, LiveAgent]:
    """A job's agent frozen until the job runs elsewhere; its run finishes meanwhile, then
    the agent resumes and reports it. Returns the job (its second run held) and the agent."""
    scenario.agent("a")
    scenario.agent("b")
    job_id = scenario.submit(api)
    first = wait_until(lambda: runs(scenario, job_id, attempt=1), what="the job to start")[0]
    frozen = scenario.agent_of(first.agent_pid)
    freeze(frozen.process.pid)  # the agent only: its worker finishes the run meanwhile
    scenario.faulty.add(frozen.process.pid)
    Stopwatch(
        f"[{_dialect(db_url)}{server}] agent frozen past its lease -> job running again"
    ).until(lambda: runs(scenario, job_id, attempt=2))
    scenario.open_gate("1")
    wait_until(lambda: runs(scenario, job_id, attempt=1)[0].finished, what="the first run's end")
    thaw(frozen.process.pid)
    return job_id, frozen


def test_a_frozen_agents_late_result_is_refused_by_fencing(
    scenario: Scenario, api: httpx.Client, db_url: str
) -> None:
    job_id, frozen = _freeze_past_lease(scenario, api, db_url)
    # On resume the agent sends its result and a heartbeat: the server refuses the one
    # (stale token) and answers the other with "lost"; whichever answer it reads first
    # settles the job on the agent.
    wait_until(
        lambda: any(
            said in frozen.process.output()
            for said in ("result refused: the lease was lost", "job lost with its result unack")
        ),
        what="the resumed agent to learn its run no longer counts",
    )
    assert api.get(f"/jobs/{job_id}").json()["state"] == "running"  # attempt 2 still holds it
    scenario.open_gate("2")
    assert wait_states(api, [job_id]) == {job_id: "succeeded"}
    history = scenario.check(api)
    assert [a["outcome"] for a in history.attempts[job_id]] == ["lease_expired", "succeeded"]
    assert history.jobs[job_id].result["attempt"] == 2


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("scenario", [UNFENCED], indirect=True)
def test_the_checker_catches_a_server_that_applies_a_stale_result(
    scenario: Scenario, api: httpx.Client, db_url: str, tmp_path: Path
) -> None:
    job_id, _ = _freeze_past_lease(scenario, api, db_url, ", fencing off")
    wait_until(
        lambda: api.get(f"/jobs/{job_id}").json()["state"] == "succeeded",
        what="the late result to be applied",
    )
    assert api.get(f"/jobs/{job_id}").json()["result"]["attempt"] == 1  # the stale run won
    with pytest.raises(HistoryViolation, match="a stale run's result was applied") as caught:
        scenario.check(api, dump_root=tmp_path / "evidence")
    dumped = next((tmp_path / "evidence").iterdir())
    assert str(dumped) in str(caught.value)
    assert {p.name for p in dumped.iterdir()} >= {
        "violations.txt", "ledger.jsonl", "jobs.json", "attempts.json", "server.log"
    }  # fmt: skip


def test_fencing_can_be_switched_off_only_with_the_testing_switch_too() -> None:
    assert not ServerSettings(testing_unfenced_results=True).unfenced_results
    assert not ServerSettings(testing=True).unfenced_results
    assert ServerSettings(testing=True, testing_unfenced_results=True).unfenced_results


def test_a_poison_job_ends_dead_and_the_other_jobs_are_unaffected(
    scenario: Scenario, api: httpx.Client, db_url: str
) -> None:
    names = [f"agent-{i}" for i in range(size(2, 3))]
    for name in names:
        scenario.agent(name)
    poison = scenario.submit(api, "chaos.poison", job={"max_attempts": 2})
    others = [scenario.submit(api) for _ in range(size(4, 30))]
    scenario.open_gate()
    restarted: set[int] = set()

    def supervise() -> bool:
        """Restart each agent the poison killed, as a supervisor would; done when all ended."""
        for agent in list(scenario.agents):
            if not agent.process.alive() and agent.process.pid not in restarted:
                restarted.add(agent.process.pid)
                scenario.faulty.add(agent.process.pid)
                scenario.agent(agent.name, wait=False)
        states = {
            j["id"]: j["state"] for j in api.get("/jobs", params={"limit": 200}).json()["items"]
        }
        return states[poison] == "dead" and all(states[j] == "succeeded" for j in others)

    Stopwatch(f"[{_dialect(db_url)}] poison job (2 attempts) -> dead, the other jobs done").until(
        supervise, timeout=120
    )
    history = scenario.check(api)
    assert len(history.runs_of(poison)) == 2
    assert [a["outcome"] for a in history.attempts[poison]] == ["lease_expired"] * 2


def _dialect(db_url: str) -> str:
    return db_url.split(":", 1)[0]
