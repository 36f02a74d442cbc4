"""Teams over HTTP: create, invite and join, ask to join, roles of members, leave, hand over."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.conftest import ECHO, OTHER, Live, Person
from tests.api.test_jobs_api import assert_error


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def _new_team(live: Live, slug: str) -> tuple[Person, dict[str, Any]]:
    owner = live.user(None)
    with live.client(owner.token) as api:
        team = _ok(api.post("/teams", json={"slug": slug, "name": slug.title()}), 201)
    return owner, team


def test_create_list_and_get_teams(live: Live) -> None:
    ann, blue = _new_team(live, "blue")
    assert blue["slug"] == "blue" and blue["role"] == "owner"
    assert "team:manage" in blue["permissions"]
    with live.client(ann.token) as api:
        assert_error(api.post("/teams", json={"slug": "blue", "name": "Again"}), 409, "conflict")
        for slug in ["B", "-x", "a", "0b8f6a3c-6f0e-4f43-9a53-3a0f4c8b1e2d"]:
            assert_error(api.post("/teams", json={"slug": slug, "name": "x"}), 422)
        _ok(api.post("/teams", json={"slug": "red", "name": "Red"}), 201)
        mine = _ok(api.get("/teams"))["items"]
        assert [t["slug"] for t in mine] == ["blue", "red"]
        assert _ok(api.get("/teams/blue"))["id"] == blue["id"]
        assert _ok(api.get(f"/teams/{blue['id']}"))["slug"] == "blue"
        members = _ok(api.get("/teams/blue/members"))["items"]
        assert [(m["email"], m["role"]) for m in members] == [(ann.email, "owner")]
        me = _ok(api.get("/me", headers={"X-Conveyor-Team": "red"}))
        assert me["team"]["slug"] == "red"
        assert {t["slug"]: t["role"] for t in me["teams"]} == {"blue": "owner", "red": "owner"}
    with live.client() as admin:  # the default team's admin is no member of blue
        assert_error(admin.get("/teams/nonexistent"), 404)
    outsider = live.user("viewer")
    with live.client(outsider.token) as api:
        assert_error(api.get("/teams/blue"), 404, "not_found")
        assert_error(api.get("/teams/blue/members"), 404, "not_found")
    with live.client(live.agent_key) as agent:
        assert_error(agent.post("/teams", json={"slug": "keyed", "name": "K"}), 403)


def test_invite_by_code(live: Live) -> None:
    ann, _ = _new_team(live, "blue")
    bob, cid = live.user(None), live.user(None)
    with live.client(ann.token) as api:
        invite = _ok(api.post("/teams/blue/invites", json={"role": "operator"}), 201)
        assert invite["code"].startswith("cvinv_") and invite["max_uses"] == 1
        assert_error(api.post("/teams/blue/invites", json={"role": "emperor"}), 422)
        assert_error(api.post("/teams/blue/invites", json={"expires_in_s": 5}), 422)
    with live.client(bob.token) as api:
        joined = _ok(api.post("/teams/join", json={"code": invite["code"]}))
        assert joined["slug"] == "blue" and joined["role"] == "operator"
        assert "jobs:create" in joined["permissions"]
    with live.client(cid.token) as api:
        assert_error(api.post("/teams/join", json={"code": invite["code"]}), 404, "not_found")
        assert_error(api.post("/teams/join", json={"code": "cvinv_guess"}), 404)
    with live.client(ann.token) as api:
        listed = _ok(api.get("/teams/blue/invites"))["items"]
        assert listed[0]["uses"] == 1 and listed[0]["code"] is None  # never shown again
        many = _ok(api.post("/teams/blue/invites", json={"max_uses": None}), 201)
        _ok(api.delete(f"/teams/blue/invites/{many['id']}"), 204)
    with live.client(cid.token) as api:
        assert_error(api.post("/teams/join", json={"code": many["code"]}), 404)
    with live.client(bob.token) as api:  # an operator may not manage members
        assert_error(api.post("/teams/blue/invites", json={}), 403, "permission_denied")


def test_request_to_join(live: Live) -> None:
    ann, _ = _new_team(live, "blue")
    bob, cid = live.user(None), live.user("viewer")
    with live.client(bob.token) as api:
        asked = _ok(api.post("/teams/blue/join-requests", json={"message": "hi"}), 201)
        assert asked["state"] == "pending"
        assert_error(api.post("/teams/blue/join-requests", json={}), 409, "conflict")
        assert_error(api.post("/teams/ghost/join-requests", json={}), 404)
        assert_error(api.get("/teams/blue/join-requests"), 404)  # not a member yet
    with live.client(cid.token) as api:
        other = _ok(api.post("/teams/blue/join-requests", json={}), 201)
    with live.client(ann.token) as api:
        pending = _ok(api.get("/teams/blue/join-requests"))["items"]
        assert [(r["email"], r["message"]) for r in pending] == [(bob.email, "hi"), (cid.email, "")]
        accepted = _ok(
            api.post(f"/teams/blue/join-requests/{asked['id']}/accept", json={"role": "operator"})
        )
        assert accepted["state"] == "accepted" and accepted["role"] == "operator"
        assert_error(api.post(f"/teams/blue/join-requests/{asked['id']}/reject"), 409)
        _ok(api.post(f"/teams/blue/join-requests/{other['id']}/reject"))
        roles = {m["email"]: m["role"] for m in _ok(api.get("/teams/blue/members"))["items"]}
        assert roles == {ann.email: "owner", bob.email: "operator"}


def test_member_roles_leave_and_transfer(live: Live) -> None:
    ann, _ = _new_team(live, "blue")
    bob, cid = live.user(None), live.user(None)
    with live.client(ann.token) as api:
        for person, role in [(bob, "admin"), (cid, "viewer")]:
            code = _ok(api.post("/teams/blue/invites", json={"role": role}), 201)["code"]
            with live.client(person.token) as joiner:
                _ok(joiner.post("/teams/join", json={"code": code}))
        assert_error(api.post("/teams/blue/leave"), 409, "conflict")  # the last owner
    with live.client(bob.token) as admin:
        assert_error(admin.patch(f"/teams/blue/members/{cid.id}", json={"role": "owner"}), 403)
        assert_error(admin.patch(f"/teams/blue/members/{ann.id}", json={"role": "viewer"}), 403)
        assert_error(admin.delete(f"/teams/blue/members/{ann.id}"), 403)
        assert_error(admin.post("/teams/blue/transfer", json={"user_id": str(cid.id)}), 403)
        changed = _ok(admin.patch(f"/teams/blue/members/{cid.id}", json={"role": "operator"}))
        assert changed["role"] == "operator"
        assert_error(admin.patch(f"/teams/blue/members/{cid.id}", json={"role": "nope"}), 422)
    with live.client(cid.token) as operator:
        assert_error(operator.delete(f"/teams/blue/members/{bob.id}"), 403, "permission_denied")
    with live.client(ann.token) as owner:
        _ok(owner.post("/teams/blue/transfer", json={"user_id": str(cid.id)}), 204)
        _ok(owner.post("/teams/blue/leave"), 204)  # now an admin: may leave
        assert_error(owner.get("/teams/blue"), 404)
    with live.client(bob.token) as admin:
        roles = {m["email"]: m["role"] for m in _ok(admin.get("/teams/blue/members"))["items"]}
        assert roles == {bob.email: "admin", cid.email: "owner"}
        _ok(admin.delete(f"/teams/blue/members/{bob.id}"), 204)  # removing oneself
        assert_error(admin.get("/teams/blue"), 404)


def test_custom_roles_and_me(live: Live) -> None:
    ann, blue = _new_team(live, "blue")
    bob = live.user(None)
    with live.client(ann.token) as api:
        roles = _ok(api.get("/teams/blue/roles"))["items"]
        assert [r["name"] for r in roles] == ["owner", "admin", "operator", "viewer"]
        assert all(r["builtin"] and r["id"] is None for r in roles)
        role = _ok(
            api.post(
                "/teams/blue/roles",
                json={"name": "reader", "permissions": ["jobs:read", "agents:read"]},
            ),
            201,
        )
        assert role["permissions"] == ["agents:read", "jobs:read"] and not role["builtin"]
        assert_error(api.post("/teams/blue/roles", json={"name": "viewer", "permissions": []}), 422)
        assert_error(api.post("/teams/blue/roles", json={"name": "x", "permissions": ["a:b"]}), 422)
        assert_error(api.post("/teams/blue/roles", json={"name": "reader", "permissions": []}), 409)
        code = _ok(api.post("/teams/blue/invites", json={"role": "reader"}), 201)["code"]
    with live.client(bob.token) as api:
        _ok(api.post("/teams/join", json={"code": code}))
        me = _ok(api.get("/me"))
        assert [(t["slug"], t["role"], t["permissions"]) for t in me["teams"]] == [
            ("blue", "reader", ["agents:read", "jobs:read"])
        ]
        assert me["permissions"] == ["agents:read", "jobs:read"]
        assert _ok(api.get("/jobs"))["items"] == []
        assert_error(api.get("/queues"), 403, "permission_denied")
    with live.client(ann.token) as api:
        _ok(api.patch(f"/teams/blue/roles/{role['id']}", json={"permissions": ["queues:read"]}))
        assert _ok(api.get(f"/teams/blue/roles/{role['id']}"))["permissions"] == ["queues:read"]
        assert_error(api.delete(f"/teams/blue/roles/{role['id']}"), 409)
    with live.client(bob.token) as api:  # the change holds from the next request on
        assert_error(api.get("/jobs"), 403)
        assert _ok(api.get("/queues"))["items"] == []
    with live.client(ann.token) as api:
        _ok(api.patch(f"/teams/blue/members/{bob.id}", json={"role": "viewer"}))
        _ok(api.delete(f"/teams/blue/roles/{role['id']}"), 204)
        assert_error(api.get(f"/teams/blue/roles/{role['id']}"), 404)
    assert blue["id"]


def test_no_one_grants_more_than_they_hold(live: Live) -> None:
    ann, _ = _new_team(live, "blue")
    bob = live.user(None)
    with live.client(ann.token) as api:
        _ok(
            api.post(
                "/teams/blue/roles", json={"name": "keeper", "permissions": ["members:manage"]}
            ),
            201,
        )
        code = _ok(api.post("/teams/blue/invites", json={"role": "keeper"}), 201)["code"]
    with live.client(bob.token) as api:
        _ok(api.post("/teams/join", json={"code": code}))
        for role in ["admin", "operator"]:  # both can do what a keeper cannot
            assert_error(api.post("/teams/blue/invites", json={"role": role}), 403)
        refused = api.post(
            "/teams/blue/roles", json={"name": "shell", "permissions": ["jobs:create:shell"]}
        )
        assert assert_error(refused, 403)["details"]["permissions"] == ["jobs:create:shell"]
        _ok(api.post("/teams/blue/invites", json={"role": "keeper"}), 201)


def test_a_role_holding_only_echo_submits_exactly_echo(live: Live) -> None:
    live.offer(ECHO, OTHER)
    with live.client() as admin:
        _ok(
            admin.post(
                f"/teams/{live.team_id}/roles",
                json={"name": "echo-only", "permissions": ["jobs:create:demo.echo"]},
            ),
            201,
        )
    person = live.user("echo-only")
    with live.client(person.token) as api:
        assert _ok(api.get("/me"))["permissions"] == ["jobs:create:demo.echo"]
        job = _ok(api.post("/jobs", json={"action": "demo.echo", "params": {"message": "hi"}}), 201)
        assert job["action"] == "demo.echo" and job["state"] == "queued"
        for action in ["demo.other", "shell", "nonexistent"]:
            refused = api.post("/jobs", json={"action": action, "params": {}})
            assert assert_error(refused, 403, "permission_denied")["details"]["action"] == action
        mixed = {"jobs": [{"action": "demo.echo"}, {"action": "demo.other"}]}
        assert_error(api.post("/jobs/batch", json=mixed), 403, "permission_denied")
        _ok(api.post("/jobs/batch", json={"jobs": [{"action": "demo.echo"}]}), 201)
        for read in [api.get("/jobs"), api.get(f"/jobs/{job['id']}"), api.get("/agents")]:
            assert_error(read, 403, "permission_denied")
        assert_error(api.post(f"/jobs/{job['id']}/cancel"), 403)
        assert_error(
            api.post(
                f"/teams/{live.team_id}/keys",
                json={"kind": "client", "name": "k", "scopes": ["jobs:create:demo.echo"]},
            ),
            403,
        )
    with live.client() as admin:
        jobs = _ok(admin.get("/jobs"))["items"]
        assert sorted(j["action"] for j in jobs) == ["demo.echo", "demo.echo"]  # nothing else
