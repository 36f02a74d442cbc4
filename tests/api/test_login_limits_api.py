"""``POST auth/login`` answers 429 with ``Retry-After``; addresses come from
``X-Forwarded-For`` only through a trusted proxy."""

from __future__ import annotations

import httpx

from tests.api.conftest import Live
from tests.api.test_jobs_api import assert_error
from tests.helpers.live import ADMIN_EMAIL, ADMIN_PASSWORD


def _login(api: httpx.Client, email: str, password: str, via: str | None = None) -> httpx.Response:
    headers = {"X-Forwarded-For": via} if via else {}
    return api.post("/auth/login", json={"email": email, "password": password}, headers=headers)


def test_too_many_failures_answer_429_with_retry_after(live: Live) -> None:
    live.svc.auth.settings.login_max_failures_per_account = 2
    with live.client(token="") as anonymous:
        for _ in range(2):
            assert_error(_login(anonymous, ADMIN_EMAIL, "wrong"), 401, "unauthenticated")
        refused = _login(anonymous, ADMIN_EMAIL, ADMIN_PASSWORD)
        body = assert_error(refused, 429, "rate_limited")
        retry_after = int(refused.headers["Retry-After"])
        assert 0 < retry_after <= 900 and body["details"]["retry_after"] == retry_after
        assert "try again in" in body["message"]


def test_forwarded_addresses_count_only_through_a_trusted_proxy(live: Live) -> None:
    live.svc.auth.settings.login_max_failures_per_address = 2
    with live.client(token="") as anonymous:
        # Untrusted: the header is ignored, every attempt counts against 127.0.0.1.
        assert_error(_login(anonymous, "a@example.com", "x", via="198.51.100.1"), 401)
        assert_error(_login(anonymous, "b@example.com", "x", via="198.51.100.2"), 401)
        assert_error(_login(anonymous, ADMIN_EMAIL, ADMIN_PASSWORD, via="198.51.100.3"), 429)

        live.svc.settings.trusted_proxies = "127.0.0.1"
        # Behind the trusted proxy each forwarded client has its own count.
        assert _login(anonymous, ADMIN_EMAIL, ADMIN_PASSWORD, via="198.51.100.3").is_success
        for email in ("c@example.com", "d@example.com"):
            assert_error(_login(anonymous, email, "x", via="198.51.100.9"), 401)
        assert_error(_login(anonymous, ADMIN_EMAIL, ADMIN_PASSWORD, via="198.51.100.9"), 429)
        # A client cannot escape by writing its own header: the proxy appends the peer.
        spoofed = "203.0.113.77, 198.51.100.9"
        assert_error(_login(anonymous, ADMIN_EMAIL, ADMIN_PASSWORD, via=spoofed), 429)
        assert _login(anonymous, ADMIN_EMAIL, ADMIN_PASSWORD, via="198.51.100.4").is_success
