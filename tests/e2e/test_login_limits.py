"""The login limit holds across replicas: two server processes on one PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.helpers.live import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer, running


def _login(server: LiveServer, password: str) -> httpx.Response:
    return httpx.post(
        f"{server.url}/api/v1/auth/login",
        json={"email": ADMIN_EMAIL, "password": password},
        timeout=30,
    )


def test_failures_on_one_replica_lock_the_account_on_the_other(pg_url: str, tmp_path: Path) -> None:
    limits = {"login_max_failures_per_account": "4", "login_window_s": "600"}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = LiveServer(pg_url, tmp_path / "a", verify=None, **limits)
    second = LiveServer(pg_url, tmp_path / "b", verify=None, **limits)
    with running(first, second):
        # Both logged in once at start (a success clears the count); now alternate.
        for server in (first, second, first, second):
            assert _login(server, "wrong").status_code == 401
        for server in (first, second):
            refused = _login(server, ADMIN_PASSWORD)
            assert refused.status_code == 429, refused.text
            assert refused.json()["error"]["code"] == "rate_limited"
            assert int(refused.headers["Retry-After"]) > 500
