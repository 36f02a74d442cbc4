"""`conveyor admin reset-password`, run as its own process against the store, ends every
session of the user on the running server: access tokens and refresh tokens."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import httpx

from tests.api.conftest import Live
from tests.api.test_self_service import login
from tests.helpers.live import ADMIN_PASSWORD

NOTIFIED_S = 20.0


def test_admin_reset_password_ends_every_session(live: Live, db_url: str) -> None:
    email = f"reset-{uuid.uuid4().hex[:6]}@example.com"
    live.run(live.svc.auth.create_user(email, ADMIN_PASSWORD, team_id=live.team_id, role="viewer"))
    with live.client(token="") as anonymous:
        sessions = [login(anonymous, email, ADMIN_PASSWORD) for _ in range(2)]
    for tokens in sessions:
        with live.client(token=tokens["access_token"]) as api:
            assert api.get("/jobs").status_code == 200  # read (and cached) by the server

    # Another process's write reaches a PostgreSQL server's cache by NOTIFY: wait on it.
    heard = live.svc.engine.bus.control_signal()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVEYOR_")}
    reset = subprocess.run(
        [sys.executable, "-m", "conveyor", "admin", "reset-password", "--email", email,
         "--password-stdin", "--database-url", db_url],
        input="a brand new passphrase\n", env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert reset.returncode == 0, reset.stderr
    if live.store.dialect == "postgresql":
        assert live.run(heard.wait(NOTIFIED_S)), "the server never heard of the reset"

    for tokens in sessions:
        with live.client(token=tokens["access_token"]) as api:
            assert api.get("/jobs").status_code == 401
        refreshed = httpx.post(
            f"{live.url}/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        )
        assert refreshed.status_code == 401
