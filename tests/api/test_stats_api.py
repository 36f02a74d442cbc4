"""``GET /api/v1/stats`` over a real server on SQLite and PostgreSQL: the contract, the
figures after real submits, claims and reports, team isolation, permission, bad input."""

from __future__ import annotations

from typing import Any

import httpx

from conveyor.store import JobSpec, Outcome, Report
from tests.api.conftest import ECHO, Live


def _ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def test_stats_answer_the_contract_zero_filled_to_job_readers_only(live: Live) -> None:
    with live.client() as http:
        body = _ok(http.get("/stats"))
        assert body["window"] == "hour"
        assert len(body["throughput"]) == 60
        minutes = [m["minute"] for m in body["throughput"]]
        assert minutes == sorted(minutes) and len(set(minutes)) == 60
        assert all(m["submitted"] == 0 for m in body["throughput"])
        assert body["totals"] == {"submitted": 0, "succeeded": 0, "failed": 0, "cancelled": 0}
        assert body["agents"] == {"connected": 0, "slots_total": 0, "slots_busy": 0}
        assert body["recent_failures"] == []
        day = _ok(http.get("/stats", params={"window": "day"}))
        assert day["window"] == "day" and len(day["throughput"]) == 24 * 60
        for bad in ({"window": "week"}, {"window": ""}):
            refused = http.get("/stats", params=bad)
            assert refused.status_code == 422, refused.text
            assert refused.json()["error"]["code"] == "invalid_input"
        role = http.post(
            "/teams/default/roles", json={"name": "queue-watcher", "permissions": ["queues:read"]}
        )
        assert role.status_code == 201, role.text
    watcher = live.user("queue-watcher")  # may read queues, not jobs
    with live.client(watcher.token) as http:
        refused = http.get("/stats")
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "permission_denied"
    with live.client("") as http:
        assert http.get("/stats").status_code == 401


def test_stats_count_the_team_jobs_and_no_other_team(live: Live) -> None:
    live.offer(ECHO)
    with live.client() as http:
        batch = [{"action": "demo.echo", "params": {"rows": i + 1}} for i in range(4)]
        created = http.post("/jobs/batch", json={"jobs": batch})
        assert created.status_code == 201, created.text
        ids = [job["id"] for job in created.json()["items"]]
        assert _ok(http.post(f"/jobs/{ids[3]}/cancel"))["state"] == "cancelled"
    claimed = {str(c.id): c for c in live.claim(ECHO, limit=3)}
    reports = [
        Report(claimed[ids[0]].id, claimed[ids[0]].lease_token, Outcome.SUCCEEDED),
        Report(claimed[ids[1]].id, claimed[ids[1]].lease_token, Outcome.FAILED,
               error={"message": "it broke"}, retryable=False),
    ]  # fmt: skip
    live.run(live.store.job_report(live.team_id, reports))
    other = live.run(live.store.team_create("other", "Other"))
    live.run(live.store.job_submit_many(other, [JobSpec("demo.echo", {}, queue="theirs")] * 3))

    with live.client() as http:
        body = _ok(http.get("/stats"))
    assert body["totals"] == {"submitted": 4, "succeeded": 1, "failed": 1, "cancelled": 1}
    assert sum(m["submitted"] for m in body["throughput"]) == 4
    [queue] = body["queues"]  # "theirs" is the other team's
    assert queue["queue"] == "default"
    assert queue["depth"] == {"pending": 0, "scheduled": 0, "queued": 0, "running": 1}
    assert queue["wait_seconds"]["p50"] is not None  # three claims measured
    assert queue["run_seconds"]["p99"] is not None  # two attempts ended
    [failure] = body["recent_failures"]
    assert (failure["job_id"], failure["error"], failure["action"]) == (
        ids[1], "it broke", "demo.echo",
    )  # fmt: skip
    assert body["agents"]["connected"] == 1  # the catalog agent live.offer connected
