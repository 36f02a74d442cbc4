"""The audit log: every state-changing route writes one row, with the change; refusals
are recorded with their outcome; ``GET /audit`` filters, pages and stays in its team."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
from fastapi.routing import APIRoute

from conveyor.api.app import create_app
from conveyor.api.audit import SEPARATE_WRITE
from conveyor.api.deps import declared_audit
from conveyor.auth.passwords import hash_password
from conveyor.settings import ServerSettings
from tests.api.conftest import ECHO, Live
from tests.api.test_jobs_api import assert_error
from tests.api.test_logs_artifacts_api import finish
from tests.api.test_route_permissions import _walk
from tests.helpers.live import ADMIN_EMAIL, ADMIN_PASSWORD

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
NOT_AUDITED = {
    # Sessions start here, before anyone is known; failures are rate-limited instead.
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/refresh"),
    # Agent protocol: recorded as job attempts, not in the audit log.
    ("PUT", "/api/v1/jobs/{job_id}/artifacts/{name}"),
    # A read by POST: describes a cron expression, changes nothing.
    ("POST", "/api/v1/schedules/preview"),
}

CREATED = {
    "jobs.create", "jobs.create_batch", "keys.create", "auth.register", "auth.session",
    "teams.create", "teams.invite", "teams.join_request", "teams.role_create",
    "schedules.create", "schedules.run",
}  # fmt: skip
EMPTY = {
    "keys.revoke", "auth.logout", "auth.password", "teams.member_remove", "teams.leave",
    "teams.transfer", "teams.invite_revoke", "teams.role_delete", "schedules.delete",
    "rate_limits.delete",
}  # fmt: skip
# action, object type, object id (and the team whose log has the row, when not the live one)
Expected = tuple[str, str | None, str | None] | tuple[str, str | None, str | None, str]
Exercise = Callable[[Live, httpx.Client], Expected]


def _job(live: Live, api: httpx.Client) -> str:
    live.offer(ECHO)
    created = api.post("/jobs", json={"action": "demo.echo", "params": {}})
    assert created.status_code == 201, created.text
    job_id: str = created.json()["id"]
    return job_id


def _ok(response: httpx.Response) -> httpx.Response:
    assert response.status_code < 300, response.text
    return response


def _schedule(live: Live, api: httpx.Client) -> str:
    live.offer(ECHO)
    body = {"name": f"s-{uuid.uuid4().hex[:8]}", "action": "demo.echo", "cron": "0 3 * * *"}
    schedule_id: str = _ok(api.post("/schedules", json=body)).json()["id"]
    return schedule_id


def _create_schedule(live: Live, api: httpx.Client) -> Expected:
    return "schedules.create", "schedule", _schedule(live, api)


def _schedule_call(method: str, path: str, action: str, **body: Any) -> Exercise:
    def exercise(live: Live, api: httpx.Client) -> Expected:
        schedule_id = _schedule(live, api)
        _ok(api.request(method, f"/schedules/{schedule_id}{path}", json=body or None))
        return action, "schedule", schedule_id

    return exercise


def _create_job(live: Live, api: httpx.Client) -> Expected:
    live.offer(ECHO)
    job = _ok(api.post("/jobs", json={"action": "demo.echo", "params": {}})).json()
    return "jobs.create", "job", job["id"]


def _create_batch(live: Live, api: httpx.Client) -> Expected:
    live.offer(ECHO)
    jobs = [{"action": "demo.echo", "params": {"rows": n}} for n in (1, 2)]
    _ok(api.post("/jobs/batch", json={"jobs": jobs}))
    return "jobs.create_batch", "job", None


def _cancel(live: Live, api: httpx.Client) -> Expected:
    job_id = _job(live, api)
    _ok(api.post(f"/jobs/{job_id}/cancel"))
    return "jobs.cancel", "job", job_id


def _retry(live: Live, api: httpx.Client) -> Expected:
    job_id = _job(live, api)
    _ok(api.post(f"/jobs/{job_id}/cancel"))
    _ok(api.post(f"/jobs/{job_id}/retry"))
    return "jobs.retry", "job", job_id


def _cancel_many(live: Live, api: httpx.Client) -> Expected:
    job_id = _job(live, api)
    _ok(api.post("/jobs/cancel", json={"ids": [job_id]}))
    return "jobs.cancel_many", None, None


def _retry_many(live: Live, api: httpx.Client) -> Expected:
    _job(live, api)
    _ok(api.post("/jobs/cancel", json={"filter": {"state": ["queued"]}, "all_matching": True}))
    _ok(api.post("/jobs/retry", json={"filter": {"state": ["cancelled"]}, "all_matching": True}))
    return "jobs.retry_many", None, None


def _drain(live: Live, api: httpx.Client) -> Expected:
    agent_id = live.offer(ECHO, name="to-drain")
    _ok(api.post(f"/agents/{agent_id}/drain"))
    return "agents.drain", "agent", str(agent_id)


def _pause(live: Live, api: httpx.Client) -> Expected:
    _ok(api.patch("/queues/reports", json={"paused": True}))
    return "queues.update", "queue", "reports"


def _limit_action(live: Live, api: httpx.Client) -> Expected:
    live.offer(ECHO)
    _ok(api.patch("/actions/demo.echo", json={"concurrency_limit": 2}))
    return "actions.update", "action", "demo.echo"


def _set_rate_limit(live: Live, api: httpx.Client) -> Expected:
    _ok(api.put("/rate-limits/partner", json={"count": 5, "interval_s": 1}))
    return "rate_limits.set", "rate_limit", "partner"


def _delete_rate_limit(live: Live, api: httpx.Client) -> Expected:
    _ok(api.put("/rate-limits/old-partner", json={"count": 5, "interval_s": 1}))
    _ok(api.delete("/rate-limits/old-partner"))
    return "rate_limits.delete", "rate_limit", "old-partner"


def _create_key(live: Live, api: httpx.Client) -> Expected:
    body = {"kind": "client", "name": "ci", "scopes": ["jobs:read"]}
    key = _ok(api.post(f"/teams/{live.team_id}/keys", json=body)).json()
    return "keys.create", "api_key", key["id"]


def _revoke_key(live: Live, api: httpx.Client) -> Expected:
    body = {"kind": "client", "name": "old", "scopes": ["jobs:read"]}
    key = _ok(api.post(f"/teams/{live.team_id}/keys", json=body)).json()
    _ok(api.delete(f"/teams/{live.team_id}/keys/{key['id']}"))
    return "keys.revoke", "api_key", key["id"]


def _logout(live: Live, api: httpx.Client) -> Expected:
    tokens = _ok(
        api.post("/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    ).json()
    with live.client(token=tokens["access_token"]) as session:
        _ok(session.post("/auth/logout", json={"refresh_token": tokens["refresh_token"]}))
    return "auth.logout", "user", _me(api)["user"]["id"]


def _sign_artifact(live: Live, api: httpx.Client) -> Expected:
    live.offer(ECHO)
    body = {"action": "demo.echo", "params": {}, "queue": "signing"}
    job_id = _ok(api.post("/jobs", json=body)).json()["id"]
    [job] = live.claim(ECHO, queues=("signing",))
    assert str(job.id) == job_id
    with live.client(token=live.agent_key) as agent:
        headers = {"X-Conveyor-Lease-Token": str(job.lease_token)}
        _ok(agent.put(f"/jobs/{job.id}/artifacts/out.csv", content=b"x", headers=headers))
    finish(live, job)
    _ok(api.post(f"/jobs/{job.id}/artifacts/out.csv/url"))
    return "artifacts.sign_url", "job", str(job.id)


def _sign_events(live: Live, api: httpx.Client) -> Expected:
    job_id = _job(live, api)
    _ok(api.post("/events/url", json={"job_id": job_id}))
    return "events.sign_url", "job", job_id


def _sign_logs(live: Live, api: httpx.Client) -> Expected:
    job_id = _job(live, api)
    _ok(api.post(f"/jobs/{job_id}/logs/stream/url"))
    return "logs.sign_url", "job", job_id


def _register(live: Live, api: httpx.Client) -> Expected:
    live.svc.auth.settings.registration = "open"
    body = {"email": "joiner@example.com", "password": ADMIN_PASSWORD}
    with live.client(token="") as anonymous:
        user = _ok(anonymous.post("/auth/register", json=body)).json()["user"]
        token = anonymous.post("/auth/login", json=body).json()["access_token"]
    with live.client(token=token) as joiner:
        # Their row is in their own team: seen from there, by them.
        [row] = _audit(joiner)
    assert (row["actor_id"], row["actor_display"]) == (user["id"], "joiner@example.com")
    assert row["client_addr"] == "127.0.0.1" and SEPARATE_WRITE not in (row["details"] or {})
    return "auth.register", "user", user["id"]


def _password(live: Live, api: httpx.Client) -> Expected:
    body = {"current_password": ADMIN_PASSWORD, "new_password": ADMIN_PASSWORD + "!"}
    _ok(api.post("/auth/password", json=body))
    user_id = _me(api)["user"]["id"]  # the login that changed it goes on
    # The old password back for the next steps, without ending this login (as a reset would).
    restore = hash_password(ADMIN_PASSWORD)
    live.run(live.store.user_set_password(uuid.UUID(user_id), restore, end_sessions=False))
    return "auth.password", "user", user_id


def _new_session(live: Live, api: httpx.Client) -> Expected:
    tokens = _ok(
        api.post("/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    ).json()
    _ok(api.post("/me/sessions", json={"refresh_token": tokens["refresh_token"]}))
    return "auth.session", "user", _me(api)["user"]["id"]


def _bare_team(live: Live, admin_role: str | None = None) -> str:
    """A team made in the store; the admin (a superuser) is in it with ``admin_role``."""
    team_id = live.run(live.store.team_create(f"t-{uuid.uuid4().hex[:8]}", "Elsewhere"))
    if admin_role is not None:
        admin = live.run(live.store.user_by_email(ADMIN_EMAIL))
        assert admin is not None
        live.run(live.store.member_add(team_id, admin.id, admin_role))
    return str(team_id)


def _create_team(live: Live, api: httpx.Client) -> Expected:
    team = _ok(api.post("/teams", json={"slug": "audited", "name": "Audited"})).json()
    return "teams.create", "team", team["id"], team["id"]


def _join_team(live: Live, api: httpx.Client) -> Expected:
    team = _bare_team(live)
    code = _ok(api.post(f"/teams/{team}/invites", json={"role": "viewer"})).json()["code"]
    _ok(api.post("/teams/join", json={"code": code}))
    return "teams.join", "user", _me(api)["user"]["id"], team


def _change_role(live: Live, api: httpx.Client) -> Expected:
    member = live.user("viewer")
    _ok(api.patch(f"/teams/{live.team_id}/members/{member.id}", json={"role": "operator"}))
    return "teams.member_role", "user", str(member.id)


def _remove_member(live: Live, api: httpx.Client) -> Expected:
    member = live.user("viewer")
    _ok(api.delete(f"/teams/{live.team_id}/members/{member.id}"))
    return "teams.member_remove", "user", str(member.id)


def _leave(live: Live, api: httpx.Client) -> Expected:
    team = _bare_team(live, "viewer")
    _ok(api.post(f"/teams/{team}/leave"))
    return "teams.leave", "user", _me(api)["user"]["id"], team


def _transfer(live: Live, api: httpx.Client) -> Expected:
    team = _bare_team(live, "owner")
    heir = live.user("viewer", team_id=uuid.UUID(team))
    _ok(api.post(f"/teams/{team}/transfer", json={"user_id": str(heir.id)}))
    return "teams.transfer", "user", str(heir.id), team


def _invite(live: Live, api: httpx.Client) -> Expected:
    invite = _ok(api.post(f"/teams/{live.team_id}/invites", json={"role": "viewer"})).json()
    return "teams.invite", "invite", invite["id"]


def _revoke_invite(live: Live, api: httpx.Client) -> Expected:
    invite = _ok(api.post(f"/teams/{live.team_id}/invites", json={"role": "viewer"})).json()
    _ok(api.delete(f"/teams/{live.team_id}/invites/{invite['id']}"))
    return "teams.invite_revoke", "invite", invite["id"]


def _ask_to_join(live: Live, api: httpx.Client) -> Expected:
    team = _bare_team(live)
    asked = _ok(api.post(f"/teams/{team}/join-requests", json={"message": "hi"})).json()
    return "teams.join_request", "join_request", asked["id"], team


def _asked(live: Live) -> str:
    """An open request to join the live team, by a person in no team."""
    with live.client(token=live.user(None).token) as loner:
        asked = _ok(loner.post(f"/teams/{live.team_id}/join-requests", json={})).json()
    request_id: str = asked["id"]
    return request_id


def _accept(live: Live, api: httpx.Client) -> Expected:
    request_id = _asked(live)
    _ok(api.post(f"/teams/{live.team_id}/join-requests/{request_id}/accept", json={}))
    return "teams.join_accept", "join_request", request_id


def _reject(live: Live, api: httpx.Client) -> Expected:
    request_id = _asked(live)
    _ok(api.post(f"/teams/{live.team_id}/join-requests/{request_id}/reject"))
    return "teams.join_reject", "join_request", request_id


def _role(api: httpx.Client, team: str) -> str:
    body = {"name": f"r{uuid.uuid4().hex[:8]}", "permissions": ["jobs:read"]}
    role_id: str = _ok(api.post(f"/teams/{team}/roles", json=body)).json()["id"]
    return role_id


def _create_role(live: Live, api: httpx.Client) -> Expected:
    return "teams.role_create", "role", _role(api, str(live.team_id))


def _update_role(live: Live, api: httpx.Client) -> Expected:
    role_id = _role(api, str(live.team_id))
    _ok(api.patch(f"/teams/{live.team_id}/roles/{role_id}", json={"description": "d"}))
    return "teams.role_update", "role", role_id


def _delete_role(live: Live, api: httpx.Client) -> Expected:
    role_id = _role(api, str(live.team_id))
    _ok(api.delete(f"/teams/{live.team_id}/roles/{role_id}"))
    return "teams.role_delete", "role", role_id


def _me(api: httpx.Client) -> dict[str, Any]:
    found: dict[str, Any] = api.get("/me").json()
    return found


EXERCISES: dict[tuple[str, str], Exercise] = {
    ("POST", "/api/v1/jobs"): _create_job,
    ("POST", "/api/v1/schedules"): _create_schedule,
    ("PATCH", "/api/v1/schedules/{schedule_id}"): _schedule_call(
        "PATCH", "", "schedules.update", description="changed"
    ),
    ("DELETE", "/api/v1/schedules/{schedule_id}"): _schedule_call("DELETE", "", "schedules.delete"),
    ("POST", "/api/v1/schedules/{schedule_id}/pause"): _schedule_call(
        "POST", "/pause", "schedules.pause"
    ),
    ("POST", "/api/v1/schedules/{schedule_id}/resume"): _schedule_call(
        "POST", "/resume", "schedules.resume"
    ),
    ("POST", "/api/v1/schedules/{schedule_id}/run"): _schedule_call(
        "POST", "/run", "schedules.run"
    ),
    ("POST", "/api/v1/jobs/batch"): _create_batch,
    ("POST", "/api/v1/jobs/{job_id}/cancel"): _cancel,
    ("POST", "/api/v1/jobs/{job_id}/retry"): _retry,
    ("POST", "/api/v1/jobs/cancel"): _cancel_many,
    ("POST", "/api/v1/jobs/retry"): _retry_many,
    ("POST", "/api/v1/agents/{agent_id}/drain"): _drain,
    ("PATCH", "/api/v1/queues/{queue}"): _pause,
    ("PATCH", "/api/v1/actions/{name}"): _limit_action,
    ("PUT", "/api/v1/rate-limits/{key}"): _set_rate_limit,
    ("DELETE", "/api/v1/rate-limits/{key}"): _delete_rate_limit,
    ("POST", "/api/v1/teams/{team}/keys"): _create_key,
    ("DELETE", "/api/v1/teams/{team}/keys/{key_id}"): _revoke_key,
    ("POST", "/api/v1/auth/logout"): _logout,
    ("POST", "/api/v1/jobs/{job_id}/artifacts/{name}/url"): _sign_artifact,
    ("POST", "/api/v1/events/url"): _sign_events,
    ("POST", "/api/v1/jobs/{job_id}/logs/stream/url"): _sign_logs,
    ("POST", "/api/v1/auth/password"): _password,
    ("POST", "/api/v1/me/sessions"): _new_session,
    ("POST", "/api/v1/teams"): _create_team,
    ("POST", "/api/v1/teams/join"): _join_team,
    ("PATCH", "/api/v1/teams/{team}/members/{user_id}"): _change_role,
    ("DELETE", "/api/v1/teams/{team}/members/{user_id}"): _remove_member,
    ("POST", "/api/v1/teams/{team}/leave"): _leave,
    ("POST", "/api/v1/teams/{team}/transfer"): _transfer,
    ("POST", "/api/v1/teams/{team}/invites"): _invite,
    ("DELETE", "/api/v1/teams/{team}/invites/{invite_id}"): _revoke_invite,
    ("POST", "/api/v1/teams/{team}/join-requests"): _ask_to_join,
    ("POST", "/api/v1/teams/{team}/join-requests/{request_id}/accept"): _accept,
    ("POST", "/api/v1/teams/{team}/join-requests/{request_id}/reject"): _reject,
    ("POST", "/api/v1/teams/{team}/roles"): _create_role,
    ("PATCH", "/api/v1/teams/{team}/roles/{role_id}"): _update_role,
    ("DELETE", "/api/v1/teams/{team}/roles/{role_id}"): _delete_role,
}
SELF_RECORDED: dict[tuple[str, str], Exercise] = {
    # Public: the new user's row is in their new team (checked by the exercise).
    ("POST", "/api/v1/auth/register"): _register,
}


def mutating_routes() -> list[tuple[str, str, APIRoute]]:
    found = []
    for path, route in _walk(create_app(ServerSettings()).routes):
        if isinstance(route, APIRoute):
            found += [(m, path, route) for m in sorted((route.methods or set()) & MUTATING)]
    return found


def _audit_action(route: APIRoute) -> str | None:
    stack = list(route.dependant.dependencies)
    while stack:
        dependant = stack.pop()
        action = declared_audit(dependant.call)
        if action is not None:
            return action
        stack.extend(dependant.dependencies)
    return None


def test_every_state_changing_route_declares_an_audit_action() -> None:
    routes = mutating_routes()
    assert len(routes) >= len(EXERCISES) + len(NOT_AUDITED)
    undeclared = [
        f"{m} {p}"
        for m, p, route in routes
        if (m, p) not in NOT_AUDITED and not _audit_action(route)
    ]
    assert undeclared == []


def test_every_state_changing_route_writes_one_audit_row_with_its_change(live: Live) -> None:
    """Walks the app's routes: a route this test cannot exercise fails it."""
    unknown = [
        f"{m} {p}"
        for m, p, _ in mutating_routes()
        if (m, p) not in EXERCISES | SELF_RECORDED and (m, p) not in NOT_AUDITED
    ]
    assert unknown == [], "add an exercise for these routes (or justify them in NOT_AUDITED)"
    for record_itself in SELF_RECORDED.values():
        with live.client() as api:
            record_itself(live, api)
    with live.client() as api:
        me = _me(api)
        for (method, path), exercise in EXERCISES.items():
            before = {r["id"] for r in _audit(api)}
            action, object_type, object_id, *elsewhere = exercise(live, api)
            team = elsewhere[0] if elsewhere else str(live.team_id)
            # The admin is a superuser: it reads the log of a team it is not in too.
            new = [
                r for r in _audit(api, headers={"X-Conveyor-Team": team}) if r["id"] not in before
            ]
            mine = [row for row in new if row["action"] == action]
            assert len(mine) == 1, f"{method} {path}: {mine}"
            row = mine[0]
            assert row["outcome"] == "success", row
            assert row["status"] == (201 if action in CREATED else 204 if action in EMPTY else 200)
            assert row["object_type"] == object_type, row
            assert object_id is None or row["object_id"] == object_id, row
            assert row["actor_kind"] == "user" and row["actor_id"] == me["user"]["id"]
            assert row["actor_display"] == ADMIN_EMAIL and row["team_id"] == team
            assert row["client_addr"] == "127.0.0.1"
            assert SEPARATE_WRITE not in (row["details"] or {}), f"{method} {path}"
            # Only this route's row is new, apart from the rows of the steps it needed.
            assert all(r["outcome"] == "success" for r in new), new
        batch = next(r for r in _audit(api) if r["action"] == "jobs.create_batch")
    assert batch["details"]["count"] == 2 and len(batch["details"]["ids"]) == 2


def _audit(
    api: httpx.Client, headers: dict[str, str] | None = None, **params: Any
) -> list[dict[str, Any]]:
    response = api.get("/audit", params={"limit": 1000, **params}, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _viewer(live: Live) -> str:
    email = f"viewer-{uuid.uuid4().hex[:6]}@example.com"
    live.run(live.svc.auth.create_user(email, ADMIN_PASSWORD, team_id=live.team_id, role="viewer"))
    with live.client(token="") as anonymous:
        token: str = anonymous.post(
            "/auth/login", json={"email": email, "password": ADMIN_PASSWORD}
        ).json()["access_token"]
    return token


def test_refusals_are_recorded_with_their_outcome(live: Live) -> None:
    viewer = _viewer(live)
    with live.client() as api:
        job_id = _job(live, api)
        with live.client(token=viewer) as limited:
            assert_error(limited.post(f"/jobs/{job_id}/cancel"), 403, "permission_denied")
        assert_error(api.post("/jobs", json={"action": "demo.echo", "params": {"rows": 0}}), 422)
        assert_error(api.post(f"/jobs/{uuid.uuid4()}/cancel"), 404, "not_found")
        # Refused inside the transaction that would have changed it: the job is queued.
        assert_error(api.post(f"/jobs/{job_id}/retry"), 409, "invalid_transition")
        assert_error(api.post("/jobs", json={"action": "demo.echo", "nope": 1}), 422)
        rows = _audit(api, outcome="failure")
    got = [(r["action"], r["outcome"], r["status"], r["actor_display"]) for r in rows]
    viewer_email = next(r["actor_display"] for r in rows if r["status"] == 403)
    assert got == [
        ("jobs.create", "invalid_input", 422, ADMIN_EMAIL),
        ("jobs.retry", "invalid_transition", 409, ADMIN_EMAIL),
        ("jobs.cancel", "not_found", 404, ADMIN_EMAIL),
        ("jobs.create", "invalid_params", 422, ADMIN_EMAIL),
        ("jobs.cancel", "permission_denied", 403, viewer_email),
    ]
    assert viewer_email.startswith("viewer-")
    with live.client() as api:
        # The refused retry left one row, not a success and a failure.
        retries = _audit(api, action="jobs.retry", object_id=job_id)
        assert [r["outcome"] for r in retries] == ["invalid_transition"]


def test_unauthenticated_and_agent_requests_are_not_audited(live: Live) -> None:
    with live.client(token="") as anonymous:
        assert_error(anonymous.post("/jobs", json={"action": "demo.echo", "params": {}}), 401)
    with live.client(token=live.agent_key) as agent:
        assert_error(agent.post("/jobs", json={"action": "demo.echo", "params": {}}), 403)
    with live.client() as api:
        assert _audit(api) == []


def test_reading_the_audit_log_filters_pages_and_stays_in_the_team(live: Live) -> None:
    with live.client() as api:
        job_ids = [_job(live, api) for _ in range(3)]
        _ok(api.post(f"/jobs/{job_ids[0]}/cancel"))
        _ok(api.patch("/queues/default", json={"paused": True}))
        everything = _audit(api)
        assert [r["action"] for r in everything] == [
            "queues.update", "jobs.cancel", "jobs.create", "jobs.create", "jobs.create",
        ]  # fmt: skip
        assert [r["object_id"] for r in _audit(api, action="jobs.")] == [job_ids[0], *job_ids[::-1]]
        assert [r["action"] for r in _audit(api, object_type="queue")] == ["queues.update"]
        assert _audit(api, object_id=job_ids[1])[0]["action"] == "jobs.create"
        assert len(_audit(api, actor=everything[0]["actor_id"])) == 5
        assert _audit(api, actor=str(uuid.uuid4())) == []
        assert len(_audit(api, outcome="success")) == 5 and _audit(api, outcome="failure") == []
        middle = everything[2]["at"]
        assert len(_audit(api, since=middle)) >= 3 and len(_audit(api, until=middle)) <= 2
        assert _audit(api, since="2000-01-01T00:00:00Z", until="2000-01-02T00:00:00Z") == []
        assert_error(api.get("/audit", params={"since": "2026-01-01T00:00:00"}), 422)

        pages, cursor = [], None
        while True:
            page = api.get("/audit", params={"limit": 2, **({"cursor": cursor} if cursor else {})})
            pages.append([r["id"] for r in page.json()["items"]])
            cursor = page.json()["next_cursor"]
            if cursor is None:
                break
        assert [len(p) for p in pages] == [2, 2, 1]
        assert [i for p in pages for i in p] == [r["id"] for r in everything]
        assert_error(api.get("/audit", params={"cursor": "bogus"}), 422, "invalid_input")
        jobs_cursor = api.get("/jobs", params={"limit": 1}).json()["next_cursor"]
        assert_error(api.get("/audit", params={"cursor": jobs_cursor}), 422, "invalid_input")

        other = live.run(live.store.team_create("other", "Other"))
        assert _audit_in(api, str(other)) == []
    with live.client(token=_viewer(live)) as viewer:
        assert_error(viewer.get("/audit"), 403, "permission_denied")


def _audit_in(api: httpx.Client, team: str) -> list[dict[str, Any]]:
    """The admin is a superuser: it may pick another team, whose log is its own."""
    response = api.get("/audit", headers={"X-Conveyor-Team": team})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items
