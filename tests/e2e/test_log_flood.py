"""A job that floods its stdout: the agent's memory stays bounded (backpressure on the
job's pipe), and the job still succeeds.

CI writes 64 MiB. At full size (400 MiB, ``FLOOD_MIB=400``) the agent's peak
RSS was measured at 70 MiB, 13 MiB above its start (it was 551 MB before the bound;
64 MiB grew it by 154 MiB); see docs/agents.md.
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx

from tests.e2e.conftest import shell_agent, submit, wait_states
from tests.helpers.live import LiveAgent, LiveServer

FLOOD_MIB = int(os.environ.get("FLOOD_MIB", "64"))
MAX_GROWTH_MIB = 48  # the pending log is bounded at 8 MiB of line costs; the rest is slack
RSS_LIMIT_MIB = 200


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def test_a_job_flooding_its_stdout_keeps_the_agent_memory_bounded(
    server: LiveServer, agents: list[LiveAgent], api: httpx.Client
) -> None:
    agent = shell_agent(server, "flood", slots=1)
    agents.append(agent)
    before = _status_kib(agent.process.pid, "VmRSS")
    job_id = submit(api, "e2e.flood", {"size": FLOOD_MIB * 1024 * 1024})
    assert wait_states(api, [job_id], timeout=600) == {job_id: "succeeded"}
    peak = _status_kib(agent.process.pid, "VmHWM")  # the highest RSS the agent ever had
    growth_mib = (peak - before) / 1024
    print(f"agent peak RSS {peak / 1024:.0f} MiB, grew {growth_mib:.0f} MiB for {FLOOD_MIB} MiB")
    assert growth_mib < MAX_GROWTH_MIB, f"the agent grew by {growth_mib:.0f} MiB"
    assert peak / 1024 < RSS_LIMIT_MIB
