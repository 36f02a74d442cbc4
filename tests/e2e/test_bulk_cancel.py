"""A bulk cancel reaches a real agent: the running job's processes stop and it ends cancelled."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.e2e.conftest import shell_agent, submit, wait_states
from tests.e2e.test_system import _pid_alive, _read
from tests.helpers.live import LiveServer, wait_until


def test_bulk_cancel_by_filter_stops_a_running_job_on_its_agent(
    server: LiveServer, agents: list, api: httpx.Client, tmp_path: Path
) -> None:
    agents.append(shell_agent(server, "sh"))
    running = submit(api, "e2e.tree", {"folder": str(tmp_path)}, cancel_grace_s=1)
    waiting = submit(api, "e2e.say", {"word": "never"}, labels={"pool": "nobody"})
    names = ("shell.pid", "stubborn.pid", "grandchild.pid")
    pids = [int(wait_until(lambda n=n: _read(tmp_path / n), what=n)) for n in names]
    assert all(_pid_alive(pid) for pid in pids)

    body = {"filter": {"state": ["queued", "running"]}, "all_matching": True}
    response = api.post("/jobs/cancel", json=body)
    assert response.status_code == 200, response.text
    assert response.json() == {"affected": 2, "skipped": 0, "remaining": 0, "next_cursor": None}
    assert wait_states(api, [running, waiting]) == {running: "cancelled", waiting: "cancelled"}
    assert [pid for pid in pids if _pid_alive(pid)] == []
