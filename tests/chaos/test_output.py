"""A job writing 1 GiB to stdout (64 MiB in ``make test``): the agent's memory stays
under the bound docs/reliability.md states, read from /proc of the real agent process,
and the job still succeeds once."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.chaos.conftest import Scenario, Stopwatch, size

PEAK_RSS_LIMIT_MIB = 200  # docs/reliability.md: the bound a flooding job holds its agent to
GROWTH_LIMIT_MIB = 48  # its pending log is bounded at 8 MiB of line costs; the rest is slack


def _status_mib(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no {field} in /proc/{pid}/status")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_job_writing_a_gib_to_stdout_keeps_its_agent_bounded(
    scenario: Scenario, api: httpx.Client
) -> None:
    mib = size(64, 1024)
    agent = scenario.agent("flooded", slots=1)
    before = _status_mib(agent.process.pid, "VmRSS")
    job_id = scenario.submit(api, "chaos.flood", mib=mib)
    watch = Stopwatch(f"[sqlite] {mib} MiB to stdout -> job done")
    watch.until(lambda: api.get(f"/jobs/{job_id}").json()["state"] == "succeeded", 900)
    peak = _status_mib(agent.process.pid, "VmHWM")  # the highest RSS the agent ever had
    print(f"agent peak RSS {peak:.0f} MiB, grew {peak - before:.0f} MiB for {mib} MiB")
    assert peak < PEAK_RSS_LIMIT_MIB and peak - before < GROWTH_LIMIT_MIB
    history = scenario.check(api)
    assert history.duplicates == []
