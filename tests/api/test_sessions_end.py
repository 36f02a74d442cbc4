"""A password change over the API ends the user's other sessions at once: their access
tokens, their refresh tokens and the event streams they hold open."""

from __future__ import annotations

import uuid

import httpx
import pytest

from conveyor.api import sse
from tests.api.conftest import ECHO, Live
from tests.api.test_jobs_api import assert_error, submit
from tests.api.test_self_service import NEW_PASSWORD, login
from tests.helpers.live import ADMIN_PASSWORD, sse_events


def _two_logins(live: Live) -> tuple[dict[str, str], dict[str, str]]:
    email = f"two-logins-{uuid.uuid4().hex[:6]}@example.com"
    live.run(live.svc.auth.create_user(email, ADMIN_PASSWORD, team_id=live.team_id, role="viewer"))
    with live.client(token="") as anonymous:
        return login(anonymous, email, ADMIN_PASSWORD), login(anonymous, email, ADMIN_PASSWORD)


def _change_password(live: Live, tokens: dict[str, str]) -> None:
    with live.client(token=tokens["access_token"]) as api:
        body = {"current_password": ADMIN_PASSWORD, "new_password": NEW_PASSWORD}
        changed = api.post("/auth/password", json=body)
        assert changed.status_code == 204, changed.text


def test_a_password_change_ends_the_other_logins_access_and_refresh_tokens(live: Live) -> None:
    here, elsewhere = _two_logins(live)
    _change_password(live, here)
    with live.client(token=elsewhere["access_token"]) as api:
        ended = assert_error(api.get("/me"), 401, "unauthenticated")
        assert "password" in ended["message"]
        assert_error(api.get("/jobs"), 401, "unauthenticated")
    with live.client(token="") as anonymous:
        refresh = {"refresh_token": elsewhere["refresh_token"]}
        assert_error(anonymous.post("/auth/refresh", json=refresh), 401, "unauthenticated")
    with live.client(token=here["access_token"]) as api:  # the login that asked goes on
        assert api.get("/jobs").status_code == 200


def test_an_event_stream_of_an_ended_login_stops(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stream re-checks its caller at each wake (every time here): once the password
    changed elsewhere, the next wake ends it, and nothing after reaches it."""
    monkeypatch.setattr(sse, "RECHECK_S", 0.0)
    live.offer(ECHO)
    here, elsewhere = _two_logins(live)
    headers = {"Authorization": f"Bearer {elsewhere['access_token']}"}
    with (
        live.client() as admin,
        httpx.stream("GET", f"{live.url}/api/v1/events", headers=headers, timeout=30) as stream,
    ):
        assert stream.status_code == 200
        events = sse_events(stream)
        before = submit(admin, params={})
        assert next(e for e in events if e["data"]["object_id"] == before["id"])

        _change_password(live, here)
        during = submit(admin, params={})  # wakes the stream, which re-checks and ends
        after_id = None
        for event in events:  # until the stream ends
            object_id = event["data"]["object_id"]
            assert object_id != after_id, "the stream went on after the password change"
            if object_id == during["id"] and after_id is None:
                after_id = submit(admin, params={})["id"]  # reaches a stream that goes on
