"""Jobs over REST: submit, read, list page by page, refuse bad input, cancel, retry."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from conveyor.store.queries.leases import Outcome, Report
from conveyor.store.queries.submit import JobSpec
from tests.api.conftest import ECHO, OTHER, Live


def submit(api: httpx.Client, action: str = "demo.echo", **fields: Any) -> dict[str, Any]:
    response = api.post("/jobs", json={"action": action, **fields})
    assert response.status_code == 201, response.text
    job: dict[str, Any] = response.json()
    return job


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    if code is not None:
        assert body["error"]["code"] == code, body
    error: dict[str, Any] = body["error"]
    return error


def test_submit_then_get_shows_the_contract_fields(live: Live) -> None:
    live.offer(ECHO)
    with live.client() as api:
        job = submit(api, params={"message": "hi"}, priority=5, labels={"os": "linux"})
        for field in ("id", "action", "params", "queue", "priority", "state", "attempt",
                      "max_attempts", "progress", "result", "error", "agent_id", "created_at",
                      "started_at", "finished_at", "run_at", "labels", "timeout_s",
                      "cancel_requested", "idempotency_key"):  # fmt: skip
            assert field in job, field
        assert job["state"] == "queued" and job["priority"] == 5 and job["queue"] == "default"
        assert job["params"] == {"message": "hi"} and job["labels"] == {"os": "linux"}
        assert job["cancel_requested"] is False and job["attempt"] == 0
        assert api.get(f"/jobs/{job['id']}").json() == job


def test_idempotency_key_returns_the_same_job_and_refuses_other_params(live: Live) -> None:
    live.offer(ECHO)
    with live.client() as api:
        first = submit(api, params={"rows": 1}, idempotency_key="export-42")
        again = api.post(
            "/jobs",
            json={"action": "demo.echo", "params": {"rows": 1}, "idempotency_key": "export-42"},
        )
        assert again.status_code == 200 and again.json()["id"] == first["id"]
        other = api.post(
            "/jobs",
            json={"action": "demo.echo", "params": {"rows": 2}, "idempotency_key": "export-42"},
        )
        assert_error(other, 409, "idempotency_conflict")


def test_pages_have_no_duplicate_and_no_gap_when_jobs_arrive_between_pages(live: Live) -> None:
    live.offer(ECHO)
    with live.client() as api:
        before = [submit(api, params={"rows": n})["id"] for n in range(1, 8)]
        seen: list[str] = []
        page = api.get("/jobs", params={"limit": 3}).json()
        seen += [j["id"] for j in page["items"]]
        newer = [submit(api, params={"rows": 100})["id"] for _ in range(2)]  # between pages
        while page["next_cursor"] is not None:
            assert isinstance(page["next_cursor"], str)
            page = api.get("/jobs", params={"limit": 3, "cursor": page["next_cursor"]}).json()
            seen += [j["id"] for j in page["items"]]
        assert seen == list(reversed(before))  # newest first, each once, none skipped
        assert not set(newer) & set(seen)
        assert [j["id"] for j in api.get("/jobs", params={"limit": 2}).json()["items"]] == list(
            reversed(newer)
        )
        assert_error(api.get("/jobs", params={"cursor": "not-a-cursor"}), 422, "invalid_input")
        assert_error(api.get("/jobs", params={"limit": 0}), 422)


def test_list_filters_by_state_queue_action_and_agent(live: Live) -> None:
    live.offer(ECHO, OTHER)
    with live.client() as api:
        echo_a = submit(api, params={}, queue="a")
        echo_b = submit(api, params={}, queue="b")
        other = submit(api, "demo.other", params={}, queue="a")
        [claimed] = live.claim(OTHER, queues=("a",))
        assert claimed.id == uuid.UUID(other["id"])

        def ids(**params: Any) -> set[str]:
            response = api.get("/jobs", params=params)
            assert response.status_code == 200, response.text
            return {j["id"] for j in response.json()["items"]}

        assert ids(queue="a") == {echo_a["id"], other["id"]}
        assert ids(action="demo.echo") == {echo_a["id"], echo_b["id"]}
        assert ids(state="running") == {other["id"]}
        assert ids(state=["queued", "running"]) == {echo_a["id"], echo_b["id"], other["id"]}
        assert ids(state="queued,running", queue="b") == {echo_b["id"]}
        running = api.get(f"/jobs/{other['id']}").json()
        assert ids(agent_id=running["agent_id"]) == {other["id"]}
        assert_error(api.get("/jobs", params={"state": "bogus"}), 422, "invalid_input")


def test_bad_submissions_are_refused_and_nothing_is_enqueued(live: Live) -> None:
    live.offer(ECHO)
    with live.client() as api:
        unknown = assert_error(
            api.post("/jobs", json={"action": "no.such", "params": {}}), 422, "invalid_input"
        )
        assert "no.such" in unknown["message"] and unknown["details"]["action"] == "no.such"

        bad = assert_error(
            api.post("/jobs", json={"action": "demo.echo", "params": {"rows": "many"}}),
            422,
            "invalid_params",
        )
        assert bad["details"]["path"] == ["rows"] and "params.rows" in bad["message"]
        nested = assert_error(
            api.post("/jobs", json={"action": "demo.echo", "params": {"items": [1, "x"]}}),
            422,
            "invalid_params",
        )
        assert nested["details"]["path"] == ["items", 1]
        assert_error(
            api.post("/jobs", json={"action": "demo.echo", "params": {"surprise": 1}}),
            422,
            "invalid_params",
        )

        malformed = api.post(
            "/jobs",
            content=b'{"action": "demo.echo", ',
            headers={"Content-Type": "application/json"},
        )
        assert_error(malformed, 422, "invalid_input")
        assert_error(api.post("/jobs", json={"action": "demo.echo", "typo": 1}), 422)
        assert_error(api.post("/jobs", json={"action": "demo.echo", "priority": 1000}), 422)
        assert_error(
            api.post("/jobs", json={"action": "demo.echo", "run_at": "2030-01-01T00:00:00"}), 422
        )
        huge = {"action": "demo.echo", "params": {"message": "x" * (2 * 1024 * 1024)}}
        assert_error(api.post("/jobs", json=huge), 413, "too_large")
        assert api.get("/jobs").json() == {"items": [], "next_cursor": None}


def test_missing_or_bad_credentials_answer_401(live: Live) -> None:
    with live.client(token="") as anonymous:
        error = assert_error(anonymous.get("/jobs"), 401, "unauthenticated")
        assert error["message"]
        assert anonymous.get("/jobs").headers["www-authenticate"] == "Bearer"
    for token in ("garbage", "cvk_000000000000_" + "a" * 40, live.admin_token[:-4] + "AAAA"):
        with live.client(token=token) as api:
            assert_error(api.post("/jobs", json={"action": "demo.echo"}), 401, "unauthenticated")


def test_another_teams_job_is_not_found(live: Live) -> None:
    other_team = live.run(live.store.team_create("other", "Other"))
    [theirs] = live.run(live.store.job_submit_many(other_team, [JobSpec(action="demo.echo")]))
    with live.client() as api:
        for path in ("", "/attempts", "/logs", "/artifacts"):
            assert_error(api.get(f"/jobs/{theirs.id}{path}"), 404, "not_found")
        assert_error(api.post(f"/jobs/{theirs.id}/cancel"), 404)
        assert_error(api.post(f"/jobs/{theirs.id}/retry"), 404)
        assert_error(api.get(f"/jobs/{uuid.uuid4()}"), 404)
        assert_error(api.get("/jobs/not-a-uuid"), 422)
        assert api.get("/jobs").json()["items"] == []


def test_cancel_queued_at_once_and_running_by_flag(live: Live) -> None:
    live.offer(ECHO)
    with live.client() as api:
        running = submit(api, params={"rows": 1})
        [claimed] = live.claim(ECHO)
        queued = submit(api, params={"rows": 2})

        cancelled = api.post(f"/jobs/{queued['id']}/cancel")
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["state"] == "cancelled" and cancelled.json()["finished_at"]

        flagged = api.post(f"/jobs/{running['id']}/cancel").json()
        assert flagged["state"] == "running" and flagged["cancel_requested"] is True

        live.run(
            live.store.job_report(
                live.team_id, [Report(claimed.id, claimed.lease_token, Outcome.CANCELLED)]
            )
        )
        assert api.get(f"/jobs/{running['id']}").json()["state"] == "cancelled"
        assert api.post(f"/jobs/{queued['id']}/cancel").status_code == 200  # again: no change


def test_cancel_of_a_finished_job_is_a_conflict(live: Live) -> None:
    live.offer(ECHO)
    with live.client() as api:
        job = submit(api, params={})
        [claimed] = live.claim(ECHO)
        live.run(
            live.store.job_report(
                live.team_id,
                [Report(claimed.id, claimed.lease_token, Outcome.SUCCEEDED, result={"ok": 1})],
            )
        )
        done = api.get(f"/jobs/{job['id']}").json()
        assert done["state"] == "succeeded" and done["result"] == {"ok": 1}
        assert_error(api.post(f"/jobs/{job['id']}/cancel"), 409, "invalid_transition")


def test_retry_a_dead_job_and_refuse_a_running_one(live: Live) -> None:
    live.offer(ECHO)
    with live.client() as api:
        job = submit(api, params={}, max_attempts=1)
        [claimed] = live.claim(ECHO)
        assert_error(api.post(f"/jobs/{job['id']}/retry"), 409, "invalid_transition")
        live.run(
            live.store.job_report(
                live.team_id,
                [Report(claimed.id, claimed.lease_token, Outcome.FAILED, error={"type": "boom"})],
            )
        )
        dead = api.get(f"/jobs/{job['id']}").json()
        assert dead["state"] == "dead" and dead["attempt"] == 1 and dead["error"]

        retried = api.post(f"/jobs/{job['id']}/retry")
        assert retried.status_code == 200, retried.text
        assert retried.json()["state"] == "queued"
        [again] = live.claim(ECHO)
        assert again.attempt == 2
        attempts = api.get(f"/jobs/{job['id']}/attempts").json()["items"]
        assert [(a["attempt"], a["outcome"]) for a in attempts] == [(1, "failed"), (2, "running")]
        assert "lease_token" not in attempts[0]


def test_batch_submits_all_or_none(live: Live) -> None:
    live.offer(ECHO, OTHER)
    with live.client() as api:
        response = api.post(
            "/jobs/batch",
            json={"jobs": [{"action": "demo.echo", "params": {"rows": 1}},
                           {"action": "demo.other", "params": {"any": True}, "queue": "q2"}]},
        )  # fmt: skip
        assert response.status_code == 201, response.text
        items = response.json()["items"]
        assert [j["action"] for j in items] == ["demo.echo", "demo.other"]
        assert items[1]["queue"] == "q2"

        refused = api.post(
            "/jobs/batch",
            json={"jobs": [{"action": "demo.echo", "params": {}},
                           {"action": "demo.echo", "params": {"rows": 0}}]},
        )  # fmt: skip
        error = assert_error(refused, 422, "invalid_params")
        assert error["details"]["index"] == 1 and error["message"].startswith("jobs[1]")
        assert len(api.get("/jobs").json()["items"]) == 2
        assert_error(api.post("/jobs/batch", json={"jobs": []}), 422)


def test_per_action_permission_and_the_shell_action(live: Live) -> None:
    shell = type(ECHO)(name="shell", params_schema={"type": "object"}, kind="shell")
    live.offer(ECHO, shell)
    with live.client() as admin:
        key = admin.post(
            f"/teams/{live.team_id}/keys",
            json={"kind": "client", "name": "echo only", "scopes": ["jobs:create:demo.echo", "jobs:read"]},
        ).json()["secret"]  # fmt: skip
        broad = admin.post(
            f"/teams/{live.team_id}/keys",
            json={"kind": "client", "name": "all but shell", "scopes": ["jobs:create", "jobs:read"]},
        ).json()["secret"]  # fmt: skip
        assert submit(admin, "shell", params={})["action"] == "shell"  # the owner holds it
    with live.client(token=key) as api:
        assert submit(api, params={})["action"] == "demo.echo"
        assert_error(api.post("/jobs", json={"action": "demo.other"}), 403, "permission_denied")
        assert_error(api.post("/jobs", json={"action": "shell"}), 403, "permission_denied")
        assert_error(api.post(f"/jobs/{uuid.uuid4()}/cancel"), 403, "permission_denied")
    with live.client(token=broad) as api:
        assert submit(api, params={})["action"] == "demo.echo"
        assert_error(api.post("/jobs", json={"action": "shell", "params": {}}), 403)


def test_waiting_jobs_say_why_in_get_list_and_submit(live: Live) -> None:
    live.offer(ECHO)  # catalog-agent: connected, labels {}, queue default
    with live.client() as api:
        busy = submit(api)
        assert busy["waiting_reason"] == "agents_busy"
        labelled = submit(api, labels={"gpu": "yes"})
        assert labelled["waiting_reason"] == "no_agent_matches_labels"
        later = submit(api, run_at="2099-01-01T00:00:00Z")
        assert later["state"] == "scheduled" and later["waiting_reason"] == "scheduled"
        assert api.patch("/queues/default", json={"paused": True}).status_code == 200
        assert api.get(f"/jobs/{busy['id']}").json()["waiting_reason"] == "queue_paused"
        listed = {j["id"]: j["waiting_reason"] for j in api.get("/jobs").json()["items"]}
        assert listed == {
            busy["id"]: "queue_paused",
            labelled["id"]: "queue_paused",
            later["id"]: "scheduled",
        }
        assert api.patch("/queues/default", json={"paused": False}).status_code == 200
        [claimed] = live.claim()
        assert api.get(f"/jobs/{claimed.id}").json()["waiting_reason"] is None
