"""``/api/v1/schedules`` against a real server: CRUD, checks, permissions, run now, ticks."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime
from typing import Any

import httpx

from tests.api.conftest import ECHO, OTHER, Live


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


NIGHTLY = {
    "name": "nightly",
    "action": "demo.echo",
    "params": {"message": "hi"},
    "cron": "30 2 * * *",
    "timezone": "Europe/Berlin",
}


def test_create_read_list_update_delete(live: Live) -> None:
    live.offer(ECHO, OTHER)
    with live.client() as api:
        made = _ok(api.post("/schedules", json=NIGHTLY), 201)
        assert made["cron_description"] == "At 02:30 every day"
        assert len(made["next_fire_times"]) == 5
        first = datetime.fromisoformat(made["next_fire_times"][0])
        assert (first.hour, first.minute) in {(0, 30), (1, 30)}  # 02:30 in Berlin, in UTC
        assert made["misfire_policy"] == "latest" and made["overlap"] == "skip"
        assert made["catchup_window_s"] == 3600 and made["queue"] == "default"
        assert made["created_by"]["kind"] == "user" and made["last_tick"] is None
        sid = made["id"]
        assert _ok(api.get(f"/schedules/{sid}"))["name"] == "nightly"

        _ok(api.post("/schedules", json={**NIGHTLY, "name": "other", "action": "demo.other",
                                          "params": {}}), 201)  # fmt: skip
        page = _ok(api.get("/schedules", params={"limit": 1}))
        assert [s["name"] for s in page["items"]] == ["nightly"]
        rest = _ok(api.get("/schedules", params={"cursor": page["next_cursor"]}))
        assert [s["name"] for s in rest["items"]] == ["other"] and rest["next_cursor"] is None
        found = _ok(api.get("/schedules", params={"q": "OTH"}))
        assert [s["name"] for s in found["items"]] == ["other"]

        changed = _ok(api.patch(f"/schedules/{sid}", json={"cron": "*/5 * * * *",
                                                            "description": "every five"}))  # fmt: skip
        assert changed["cron_description"] == "Every fifth minute of every hour"
        assert changed["description"] == "every five"
        assert _ok(api.patch(f"/schedules/{sid}", json={"description": None}))["description"] == ""
        assert _error(api.patch(f"/schedules/{sid}", json={"cron": None}), 422)

        paused = _ok(api.post(f"/schedules/{sid}/pause"))
        assert paused["paused"] is True and paused["next_fire_times"] == []
        resumed = _ok(api.post(f"/schedules/{sid}/resume"))
        assert resumed["paused"] is False and len(resumed["next_fire_times"]) == 5

        assert api.delete(f"/schedules/{sid}").status_code == 204
        assert _error(api.get(f"/schedules/{sid}"), 404)["code"] == "not_found"
        audit = _ok(api.get("/audit", params={"limit": 50}))["items"]
        actions = {row["action"] for row in audit}
        assert {"schedules.create", "schedules.update", "schedules.pause", "schedules.resume",
                "schedules.delete"} <= actions  # fmt: skip


def test_bad_input_is_a_422_that_says_what_is_wrong(live: Live) -> None:
    live.offer(ECHO)
    with live.client() as api:
        bad = [
            ({"cron": "61 * * * *"}, "minute field"),
            ({"cron": "* * *"}, "has 3 fields"),
            ({"timezone": "Mars/Olympus"}, "unknown time zone"),
            ({"action": "nope.missing"}, "unknown action"),
            ({"params": {"rows": 0}}, "rows"),
            ({"misfire_policy": "sometimes"}, "misfire_policy"),
            ({"catchup_window_s": 10**9}, "catchup_window_s"),
            ({"name": ""}, "name"),
        ]
        for change, words in bad:
            error = _error(api.post("/schedules", json={**NIGHTLY, **change}), 422)
            assert words in str(error), (change, error)
        assert _ok(api.get("/schedules"))["items"] == []  # nothing was saved
        _ok(api.post("/schedules", json=NIGHTLY), 201)
        assert _error(api.post("/schedules", json=NIGHTLY), 409)["code"] == "conflict"

        preview = _ok(api.post("/schedules/preview", json={"cron": "*/10 * * * * *", "count": 3}))
        assert preview["cron_description"].startswith("Every 10th second")
        times = [datetime.fromisoformat(t) for t in preview["next_fire_times"]]
        assert [(b - a).total_seconds() for a, b in itertools.pairwise(times)] == [10, 10]
        assert "field" in str(_error(api.post("/schedules/preview", json={"cron": "x y"}), 422))
        _error(api.post("/schedules/preview", json={"cron": "* * * * *", "count": 21}), 422)


def test_run_now_makes_a_job_recorded_as_a_manual_tick(live: Live) -> None:
    live.offer(ECHO)
    with live.client() as api:
        sid = _ok(api.post("/schedules", json=NIGHTLY), 201)["id"]
        job = _ok(api.post(f"/schedules/{sid}/run"), 201)
        assert job["schedule_id"] == sid and job["params"] == {"message": "hi"}
        assert job["schedule_fire_at"] is not None
        ticks = _ok(api.get(f"/schedules/{sid}/ticks"))["items"]
        assert [(t["kind"], t["outcome"], t["job_id"]) for t in ticks] == [
            ("manual", "submitted", job["id"])
        ]
        assert ticks[0]["job_state"] == "queued"
        assert _ok(api.get(f"/schedules/{sid}"))["last_tick"]["job_id"] == job["id"]
        listed = _ok(api.get("/jobs", params={"schedule_id": sid}))["items"]
        assert [j["id"] for j in listed] == [job["id"]]
        assert _ok(api.get("/jobs", params={"schedule_id": str(uuid.uuid4())}))["items"] == []


def test_permissions_and_team_isolation(live: Live) -> None:
    live.offer(ECHO)
    viewer = live.user("viewer")
    operator = live.user("operator")
    with live.client() as admin:
        sid = _ok(admin.post("/schedules", json=NIGHTLY), 201)["id"]
    with live.client(viewer.token) as api:
        assert _ok(api.get(f"/schedules/{sid}"))["id"] == sid
        _error(api.post("/schedules", json={**NIGHTLY, "name": "v"}), 403)
        _error(api.post(f"/schedules/{sid}/pause"), 403)
        _error(api.post(f"/schedules/{sid}/run"), 403)
        _error(api.delete(f"/schedules/{sid}"), 403)
    with live.client(operator.token) as api:
        _ok(api.post("/schedules", json={**NIGHTLY, "name": "op"}), 201)
        _ok(api.post(f"/schedules/{sid}/run"), 201)
    loner = live.user(None)
    with live.client(loner.token) as api:
        other_team = _ok(api.post("/teams", json={"slug": "other", "name": "Other"}), 201)["id"]
    with live.client(loner.token, **{"X-Conveyor-Team": other_team}) as api:
        assert _ok(api.get("/schedules"))["items"] == []
        for method, path in [("GET", ""), ("PATCH", ""), ("DELETE", ""), ("POST", "/pause"),
                             ("POST", "/run"), ("GET", "/ticks")]:  # fmt: skip
            body = {"paused": True} if method == "PATCH" else None
            response = api.request(method, f"/schedules/{sid}{path}", json=body)
            assert response.status_code == 404, (method, path, response.text)


def test_run_as_key_must_be_a_team_client_key_that_may_run_the_action(live: Live) -> None:
    live.offer(ECHO)
    team = str(live.team_id)
    with live.client() as api:

        def key(*scopes: str) -> str:
            body = {"kind": "client", "name": f"k-{uuid.uuid4().hex[:6]}", "scopes": list(scopes)}
            made: str = _ok(api.post(f"/teams/{team}/keys", json=body), 201)["id"]
            return made

        reader = key("jobs:read")
        error = _error(api.post("/schedules", json={**NIGHTLY, "run_as_key_id": reader}), 422)
        assert "may not run 'demo.echo'" in error["message"]
        error = _error(
            api.post("/schedules", json={**NIGHTLY, "run_as_key_id": str(uuid.uuid4())}), 422
        )
        assert "not a client key of the team" in error["message"]
        runner = key("jobs:create:demo.echo")
        made = _ok(api.post("/schedules", json={**NIGHTLY, "run_as_key_id": runner}), 201)
        assert made["run_as_key_id"] == runner
        api.delete(f"/teams/{team}/keys/{runner}")
        cleared = _ok(api.patch(f"/schedules/{made['id']}", json={"run_as_key_id": None}))
        assert cleared["run_as_key_id"] is None
