"""Log in, refresh, log out, ``GET me``, and API keys (shown once, listed, revoked)."""

from __future__ import annotations

import uuid

import httpx

from tests.api.conftest import Live
from tests.api.test_jobs_api import assert_error
from tests.helpers.live import ADMIN_EMAIL, ADMIN_PASSWORD


def test_login_refresh_logout(live: Live) -> None:
    with live.client(token="") as anonymous:
        assert_error(
            anonymous.post("/auth/login", json={"email": ADMIN_EMAIL, "password": "wrong"}),
            401,
            "unauthenticated",
        )
        assert_error(anonymous.post("/auth/login", json={"email": ADMIN_EMAIL}), 422)
        tokens = anonymous.post(
            "/auth/login", json={"email": ADMIN_EMAIL.upper(), "password": ADMIN_PASSWORD}
        ).json()
        assert tokens["token_type"] == "bearer" and tokens["expires_in"] > 0
        renewed = anonymous.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert renewed.status_code == 200, renewed.text
        fresh = renewed.json()
        assert fresh["refresh_token"] != tokens["refresh_token"]
        assert_error(anonymous.post("/auth/logout", json={"refresh_token": "x"}), 401)

    with live.client(token=fresh["access_token"]) as api:
        assert api.get("/me").json()["user"]["email"] == ADMIN_EMAIL
        out = api.post("/auth/logout", json={"refresh_token": fresh["refresh_token"]})
        assert out.status_code == 204, out.text
    with live.client(token="") as anonymous:
        refused = anonymous.post("/auth/refresh", json={"refresh_token": fresh["refresh_token"]})
        assert_error(refused, 401, "unauthenticated")


def test_me_for_a_user_and_for_a_key(live: Live) -> None:
    with live.client() as api:
        me = api.get("/me").json()
        assert me["kind"] == "user" and me["team"]["slug"] == "default"
        assert me["team_id"] == str(live.team_id) and me["team"]["role"] == "owner"
        assert "jobs:create" in me["permissions"] and me["teams"][0]["id"] == str(live.team_id)
    with live.client(token=live.agent_key) as agent:
        me = agent.get("/me").json()
        assert me["kind"] == "agent_key" and me["user"] is None
        assert me["permissions"] == ["agent:connect"] and me["key_id"]


def test_keys_are_shown_once_listed_and_revoked(live: Live) -> None:
    with live.client() as api:
        created = api.post(
            f"/teams/{live.team_id}/keys",
            json={"kind": "client", "name": "ci", "scopes": ["jobs:read"]},
        )
        assert created.status_code == 201, created.text
        key = created.json()
        assert key["secret"].startswith("cvk_") and key["scopes"] == ["jobs:read"]

        listed = api.get("/teams/default/keys").json()["items"]  # the slug works too
        mine = next(k for k in listed if k["id"] == key["id"])
        assert mine["secret"] is None and mine["prefix"] == key["prefix"]
        assert all(k["secret"] is None for k in listed)

        with live.client(token=key["secret"]) as client_key:
            assert client_key.get("/jobs").status_code == 200
            assert_error(client_key.post("/jobs", json={"action": "a"}), 403, "permission_denied")
            assert_error(client_key.get(f"/teams/{live.team_id}/keys"), 403)

        revoked = api.delete(f"/teams/{live.team_id}/keys/{key['id']}")
        assert revoked.status_code == 204, revoked.text
        with live.client(token=key["secret"]) as client_key:
            assert_error(client_key.get("/jobs"), 401, "unauthenticated")
        assert_error(api.delete(f"/teams/{live.team_id}/keys/{uuid.uuid4()}"), 404)
        listed = api.get(f"/teams/{live.team_id}/keys").json()["items"]
        assert next(k for k in listed if k["id"] == key["id"])["revoked_at"] is not None


def test_keys_refuse_bad_requests(live: Live) -> None:
    with live.client() as api:
        path = f"/teams/{live.team_id}/keys"
        assert_error(api.post(path, json={"kind": "root", "name": "x"}), 422)
        assert_error(api.post(path, json={"kind": "client", "name": "x"}), 422, "invalid_input")
        assert_error(
            api.post(path, json={"kind": "client", "name": "x", "scopes": ["everything"]}), 422
        )
        agent = api.post(path, json={"kind": "agent", "name": "worker"}).json()
        assert agent["scopes"] == ["agent:connect"]
        assert agent["client_cert_cn"] is None
        before = len(api.get(path).json()["items"])
        # Only agent keys are bound to a client certificate, and the name must be sane.
        client_bound = {"kind": "client", "name": "x", "scopes": ["jobs:read"]}
        assert_error(api.post(path, json={**client_bound, "client_cert_cn": "a"}), 422)
        blank = {"kind": "agent", "name": "x", "client_cert_cn": "  "}
        assert_error(api.post(path, json=blank), 422, "invalid_input")
        too_long = {"kind": "agent", "name": "x", "client_cert_cn": "a" * 201}
        assert_error(api.post(path, json=too_long), 422)
        assert len(api.get(path).json()["items"]) == before  # nothing was created
        assert_error(api.get(f"/teams/{uuid.uuid4()}/keys"), 404, "not_found")
        assert_error(api.get("/teams/someone-else/keys"), 404, "not_found")
    with live.client(token=live.agent_key) as agent_key:
        assert_error(agent_key.post(path, json={"kind": "agent", "name": "y"}), 403)


def test_every_route_documents_its_error_statuses(live: Live) -> None:
    spec = httpx.get(f"{live.url}/api/v1/openapi.json", timeout=60).json()
    checked = 0
    for path, operations in spec["paths"].items():
        if not path.startswith("/api/v1/") or path in (
            "/api/v1/auth/login",
            "/api/v1/auth/refresh",
            "/api/v1/auth/register",  # public: no credential to refuse
        ):
            continue
        for method, operation in operations.items():
            statuses = set(operation["responses"])
            assert {"401", "403"} <= statuses, (method, path, statuses)
            for status, answer in operation["responses"].items():
                if status >= "400":
                    envelope = answer["content"]["application/json"]["schema"]
                    assert envelope["$ref"].endswith("/ErrorEnvelope"), (method, path, status)
            checked += 1
    assert checked >= 20
