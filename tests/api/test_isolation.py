"""Generated isolation test: every route of the OpenAPI document against three callers.

Team A's real objects fill the paths; see :mod:`tests.helpers.isolation` for the rules
and the listed exceptions. A second test adds deliberately broken routes and shows the
check names each of them.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from fastapi import APIRouter, Request

from conveyor.api.deps import authenticated, require, services
from tests.api.conftest import ECHO, Live
from tests.helpers.isolation import ANY_CALLER_WRITES, PUBLIC, WRITE_METHODS, Objects, check
from tests.sdk.conftest import claim, finish, upload

ARTIFACT = "report.csv"
A_QUEUE = "a-only-queue"
A_SCHEDULE = {"name": "a-only-schedule", "action": "demo.echo", "cron": "0 3 * * *"}
A_RATE_KEY = "a-only-partner"


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _team_a(live: Live) -> Objects:
    """Real objects of team A (the default team) and a member of team B."""
    agent_id = live.offer(ECHO)
    team = str(live.team_id)
    with live.client() as admin:
        job = _ok(admin.post("/jobs", json={"action": "demo.echo", "params": {}}), 201)
        claimed = claim(live, uuid.UUID(job["id"]))
        upload(live, claimed, ARTIFACT, b"a,b\n1,2\n")
        finish(live, claimed)
        queued = _ok(admin.post("/jobs", json={"action": "demo.echo", "queue": A_QUEUE}), 201)
        key = _ok(
            admin.post(
                f"/teams/{team}/keys", json={"kind": "client", "name": "a", "scopes": ["jobs:read"]}
            ),
            201,
        )
        role = _ok(
            admin.post(
                f"/teams/{team}/roles", json={"name": "a-role", "permissions": ["jobs:read"]}
            ),
            201,
        )
        invite = _ok(admin.post(f"/teams/{team}/invites", json={"role": "viewer"}), 201)
        schedule = _ok(admin.post("/schedules", json=A_SCHEDULE), 201)
        _ok(admin.put(f"/rate-limits/{A_RATE_KEY}", json={"count": 5, "interval_s": 1}))
    viewer = live.user("viewer")
    asker = live.user(None)
    with live.client(asker.token) as api:
        asked = _ok(api.post(f"/teams/{team}/join-requests", json={"message": "hi"}), 201)
    bob = live.user(None)
    with live.client(bob.token) as api:
        team_b = _ok(api.post("/teams", json={"slug": "team-b", "name": "B"}), 201)["id"]

    def not_bobs(answer: httpx.Response) -> list[str]:
        """B's audit log has B's own rows only (refusals may name what B itself sent)."""
        rows = answer.json()["items"] if answer.status_code == 200 else []
        return [
            f"{r['action']} by {r['actor_display']}"
            for r in rows
            if (r["team_id"], r["actor_id"]) != (team_b, str(bob.id))
        ] + ([] if rows else [f"no row of B's own ({answer.status_code})"])

    def a_jobs_unchanged() -> bool:
        with live.client() as admin:
            found = {j["id"]: j["state"] for j in _ok(admin.get("/jobs"))["items"]}
        return found == {job["id"]: "succeeded", queued["id"]: "queued"}

    def a_queue_not_paused() -> bool:
        with live.client() as admin:
            queues = _ok(admin.get("/queues"))["items"]
        return any(q["name"] == A_QUEUE and not q["paused"] for q in queues)

    def a_flow_unchanged() -> bool:
        with live.client() as admin:
            limits = _ok(admin.get("/rate-limits"))["items"]
            actions = _ok(admin.get("/actions"))["items"]
        return limits == [{"key": A_RATE_KEY, "count": 5, "interval_s": 1.0}] and all(
            a["concurrency_limit"] is None for a in actions
        )

    return Objects(
        url=live.url,
        team_a=live.team_id,
        fillers={
            "team": team,
            "job_id": job["id"],
            "agent_id": str(agent_id),
            "key_id": key["id"],
            "user_id": str(viewer.id),
            "role_id": role["id"],
            "invite_id": invite["id"],
            "request_id": asked["id"],
            "schedule_id": schedule["id"],
        },
        by_context={
            ("/queues/", "queue"): A_QUEUE,
            ("/artifacts/", "name"): ARTIFACT,
            ("/actions/", "name"): "demo.echo",
            ("/rate-limits/", "key"): A_RATE_KEY,
        },
        bodies={
            ("POST", "/api/v1/jobs"): {"action": "demo.echo", "params": {}},
            ("POST", "/api/v1/jobs/batch"): {"jobs": [{"action": "demo.echo"}]},
            ("PATCH", "/api/v1/queues/{queue}"): {"paused": True},
            ("POST", "/api/v1/schedules"): {**A_SCHEDULE, "name": "never-made"},
            ("POST", "/api/v1/schedules/preview"): {"cron": "* * * * *"},
            ("PATCH", "/api/v1/schedules/{schedule_id}"): {"paused": True},
            ("PATCH", "/api/v1/actions/{name}"): {"concurrency_limit": 1},
            ("PUT", "/api/v1/rate-limits/{key}"): {"count": 1, "interval_s": 1},
            ("POST", "/api/v1/auth/logout"): {"refresh_token": "not-a-token"},
            ("POST", "/api/v1/me/sessions"): {"refresh_token": "not-a-token"},
            ("POST", "/api/v1/teams"): {"slug": "never-made", "name": "Never"},
            ("POST", "/api/v1/teams/join"): {"code": "cvinv_not-a-code"},
            ("POST", "/api/v1/teams/{team}/keys"): {
                "kind": "client",
                "name": "x",
                "scopes": ["jobs:read"],
            },
            ("PATCH", "/api/v1/teams/{team}/members/{user_id}"): {"role": "operator"},
            ("POST", "/api/v1/teams/{team}/transfer"): {"user_id": str(viewer.id)},
            ("POST", "/api/v1/teams/{team}/invites"): {"role": "viewer"},
            ("POST", "/api/v1/teams/{team}/join-requests"): {"message": ""},
            ("POST", "/api/v1/teams/{team}/join-requests/{request_id}/accept"): {"role": "viewer"},
            ("POST", "/api/v1/teams/{team}/roles"): {"name": "x-role", "permissions": []},
            ("PATCH", "/api/v1/teams/{team}/roles/{role_id}"): {"description": "changed"},
            ("PUT", "/api/v1/jobs/{job_id}/artifacts/{name}"): b"x",
            ("POST", "/api/v1/events/url"): {"job_id": job["id"]},
            ("POST", "/api/v1/jobs/cancel"): {"ids": [job["id"], queued["id"]]},
            ("POST", "/api/v1/jobs/retry"): {"ids": [job["id"], queued["id"]]},
            ("POST", "/api/v1/auth/password"): {
                "current_password": "not-the-password",
                "new_password": "a-new-password-never-set",
            },
        },
        headers={
            ("PUT", "/api/v1/jobs/{job_id}/artifacts/{name}"): {
                "X-Conveyor-Lease-Token": str(uuid.uuid4())
            }
        },
        member_b=bob.token,
        viewer_a=viewer.token,
        secrets=[
            team,
            job["id"],
            queued["id"],
            str(agent_id),
            key["id"],
            role["id"],
            invite["id"],
            asked["id"],
            schedule["id"],
            A_SCHEDULE["name"],
            A_QUEUE,
            A_RATE_KEY,
            "demo.echo",
            viewer.email,
        ],
        unchanged={
            ("PATCH", "/api/v1/queues/{queue}"): a_queue_not_paused,
            ("PATCH", "/api/v1/actions/{name}"): a_flow_unchanged,
            ("PUT", "/api/v1/rate-limits/{key}"): a_flow_unchanged,
            ("DELETE", "/api/v1/rate-limits/{key}"): a_flow_unchanged,
            ("POST", "/api/v1/jobs/cancel"): a_jobs_unchanged,
            ("POST", "/api/v1/jobs/retry"): a_jobs_unchanged,
        },
        foreign={("GET", "/api/v1/audit"): not_bobs},
    )


def _spec(live: Live) -> dict[str, Any]:
    live.app.openapi_schema = None  # rebuilt from the routes as they are now
    spec: dict[str, Any] = httpx.get(f"{live.url}/api/v1/openapi.json", timeout=60).json()
    return spec


def test_every_route_keeps_teams_apart(live: Live) -> None:
    objects = _team_a(live)
    spec = _spec(live)
    assert len(spec["paths"]) >= 30 and "/api/v1/teams/{team}/roles/{role_id}" in spec["paths"]
    assert check(spec, objects) == []
    operations = [(m.upper(), path) for path, ops in spec["paths"].items() for m in ops]
    writes = [op for op in operations if op[0] in WRITE_METHODS and op not in PUBLIC]
    audit_routes = {
        ("GET", "/api/v1/audit"),
        ("POST", "/api/v1/jobs/{job_id}/artifacts/{name}/url"),
        ("POST", "/api/v1/jobs/{job_id}/logs/stream/url"),
        ("POST", "/api/v1/events/url"),
        ("POST", "/api/v1/auth/register"),
        ("POST", "/api/v1/auth/password"),
    }
    assert audit_routes <= set(operations)
    assert objects.calls["anonymous"] == len([op for op in operations if op not in PUBLIC])
    assert objects.calls["viewer"] == len([op for op in writes if op not in ANY_CALLER_WRITES])
    assert objects.calls["team B"] >= 30
    with live.client() as admin:  # nothing of team A was changed by the refused calls
        members = _ok(admin.get(f"/teams/{live.team_id}/members"))["items"]
        assert {m["role"] for m in members} == {"owner", "viewer"}
        assert len(_ok(admin.get(f"/teams/{live.team_id}/roles"))["items"]) == 5
        assert _ok(admin.get("/jobs"))["items"][0]["state"] == "queued"


def test_the_check_catches_broken_routes(live: Live) -> None:
    objects = _team_a(live)
    sneaky = APIRouter(prefix="/api/v1/sneaky")
    team_a = live.team_id

    @sneaky.get("/jobs/{job_id}")
    async def unguarded(job_id: uuid.UUID, request: Request) -> dict[str, str]:
        job = await services(request).store.job_get(team_a, job_id)
        return {"id": str(job.id)}

    @sneaky.post("/agents/{agent_id}/poke", dependencies=[authenticated()])
    async def wrong_team(agent_id: uuid.UUID, request: Request) -> dict[str, str]:
        agent = await services(request).store.agent_get(team_a, agent_id)  # not the caller's
        return {"id": str(agent.id)}

    @sneaky.get("/widgets/{widget_id}", dependencies=[require("jobs:read")])
    async def unknown_object(widget_id: str) -> dict[str, str]:
        return {}

    live.app.include_router(sneaky)
    found = check(_spec(live), objects, only="/api/v1/sneaky")
    assert sorted(found) == [
        "GET /api/v1/sneaky/jobs/{job_id}: a member of team B got 200, not 404",
        "GET /api/v1/sneaky/jobs/{job_id}: anonymous caller got 200, not 401",
        "GET /api/v1/sneaky/widgets/{widget_id}: cannot fill widget_id with an object of team A",
        "POST /api/v1/sneaky/agents/{agent_id}/poke: a member of team B got 200, not 404",
        "POST /api/v1/sneaky/agents/{agent_id}/poke: a viewer of team A got 200, not 403",
    ]
