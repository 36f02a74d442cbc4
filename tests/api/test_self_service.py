"""Accounts over the API: registration (closed by default), the user's own password
change, logout of one's own login only."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.api.conftest import ECHO, Live
from tests.api.test_jobs_api import assert_error, submit
from tests.helpers.live import ADMIN_EMAIL, ADMIN_PASSWORD

NEW_PASSWORD = "a much better passphrase"


def login(anonymous: httpx.Client, email: str, password: str) -> dict[str, Any]:
    response = anonymous.post("/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


def test_registration_is_closed_by_default_and_opens_a_team_of_ones_own(live: Live) -> None:
    body = {"email": "New.Person@example.com", "password": NEW_PASSWORD, "display_name": "New"}
    with live.client(token="") as anonymous:
        closed = assert_error(anonymous.post("/auth/register", json=body), 403)
        assert "registration is closed" in closed["message"]
        live.svc.auth.settings.registration = "open"
        created = anonymous.post("/auth/register", json=body)
        assert created.status_code == 201, created.text
        me = created.json()
        assert me["user"]["email"] == "new.person@example.com" and me["team"]["role"] == "owner"
        assert me["team_id"] != str(live.team_id) and me["user"]["display_name"] == "New"
        assert_error(anonymous.post("/auth/register", json=body), 409, "conflict")
        weak = {**body, "email": "weak@example.com", "password": "short"}
        assert_error(anonymous.post("/auth/register", json=weak), 422)
        bad = {**body, "email": "not-an-email"}
        assert_error(anonymous.post("/auth/register", json=bad), 422)
        tokens = login(anonymous, "new.person@example.com", NEW_PASSWORD)
    live.offer(ECHO)
    with live.client() as admin:
        theirs = submit(admin, params={})
    with live.client(token=tokens["access_token"]) as newcomer:
        assert newcomer.get("/jobs").json()["items"] == []
        assert_error(newcomer.get(f"/jobs/{theirs['id']}"), 404)
        [row] = newcomer.get("/audit").json()["items"]
    assert (row["action"], row["actor_id"], row["object_id"]) == (
        "auth.register", me["user"]["id"], me["user"]["id"],
    )  # fmt: skip
    assert row["team_id"] == me["team_id"] and row["actor_display"] == "new.person@example.com"


def test_changing_ones_password_ends_the_other_logins(live: Live) -> None:
    email = f"changer-{uuid.uuid4().hex[:6]}@example.com"
    live.run(live.svc.auth.create_user(email, ADMIN_PASSWORD, team_id=live.team_id, role="viewer"))
    with live.client(token="") as anonymous:
        here = login(anonymous, email, ADMIN_PASSWORD)
        elsewhere = login(anonymous, email, ADMIN_PASSWORD)
        with live.client(token=here["access_token"]) as api:
            wrong = {"current_password": "not it", "new_password": NEW_PASSWORD}
            assert_error(api.post("/auth/password", json=wrong), 403, "permission_denied")
            weak = {"current_password": ADMIN_PASSWORD, "new_password": "short"}
            assert_error(api.post("/auth/password", json=weak), 422)
            good = {"current_password": ADMIN_PASSWORD, "new_password": NEW_PASSWORD}
            changed = api.post("/auth/password", json=good)
            assert changed.status_code == 204, changed.text
            assert api.get("/me").status_code == 200  # this login goes on
        kept = anonymous.post("/auth/refresh", json={"refresh_token": here["refresh_token"]})
        assert kept.status_code == 200, kept.text
        ended = anonymous.post("/auth/refresh", json={"refresh_token": elsewhere["refresh_token"]})
        assert_error(ended, 401, "unauthenticated")
        assert_error(
            anonymous.post("/auth/login", json={"email": email, "password": ADMIN_PASSWORD}), 401
        )
        login(anonymous, email, NEW_PASSWORD)
    with live.client(token=live.agent_key) as agent:
        assert_error(agent.post("/auth/password", json=good), 403)
    with live.client() as admin:
        rows = admin.get("/audit", params={"action": "auth.password"}).json()["items"]
    assert [(r["outcome"], r["actor_display"]) for r in rows] == [
        ("success", email), ("invalid_input", email), ("permission_denied", email),
    ]  # fmt: skip


def test_logout_ends_ones_own_login_only(live: Live) -> None:
    email = f"other-{uuid.uuid4().hex[:6]}@example.com"
    live.run(live.svc.auth.create_user(email, ADMIN_PASSWORD, team_id=live.team_id, role="viewer"))
    with live.client(token="") as anonymous:
        mine = login(anonymous, ADMIN_EMAIL, ADMIN_PASSWORD)
        theirs = login(anonymous, email, ADMIN_PASSWORD)
    with live.client(token=mine["access_token"]) as api:
        unknown = assert_error(api.post("/auth/logout", json={"refresh_token": "cvr_nope"}), 404)
        assert "nothing was logged out" in unknown["message"]
        other = {"refresh_token": theirs["refresh_token"]}
        assert_error(api.post("/auth/logout", json=other), 404)
        own = api.post("/auth/logout", json={"refresh_token": mine["refresh_token"]})
        assert own.status_code == 204
    with live.client(token="") as anonymous:
        refreshed = anonymous.post("/auth/refresh", json=other)
        assert refreshed.status_code == 200, refreshed.text  # their login is untouched
        spent = anonymous.post("/auth/refresh", json={"refresh_token": mine["refresh_token"]})
        assert_error(spent, 401)
