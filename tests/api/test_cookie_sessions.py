"""A browser's sign-in: the refresh token lives in an HttpOnly cookie, never in the page.

Login with ``"cookie": true`` sets ``conveyor_refresh``; refresh and logout by cookie
need ``X-Conveyor-CSRF: 1``; the cookie rotates like a refresh token in a body, a
reused one still ends the whole login, and a refused or ended one is cleared.
The cookie is read from ``Set-Cookie`` and sent back by hand, so each flag is seen.
"""

from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Any

import httpx
import pytest

from conveyor.settings import AuthSettings
from tests.api.conftest import Live
from tests.api.test_jobs_api import assert_error
from tests.helpers.live import ADMIN_EMAIL, ADMIN_PASSWORD

COOKIE = "conveyor_refresh"
CSRF = {"X-Conveyor-CSRF": "1"}


def _set_cookie(response: httpx.Response) -> dict[str, Any]:
    """The one ``conveyor_refresh`` cookie the answer sets: its value and attributes."""
    headers = response.headers.get_list("set-cookie")
    assert len(headers) == 1, headers
    jar: SimpleCookie = SimpleCookie()
    jar.load(headers[0])
    morsel = jar[COOKIE]
    lowered = headers[0].lower()
    return {
        "value": morsel.value,
        "path": morsel["path"],
        "max-age": morsel["max-age"],
        "samesite": morsel["samesite"].lower(),
        "httponly": "httponly" in lowered,
        "secure": "; secure" in lowered,
    }


def _browser_login(anonymous: httpx.Client, **headers: str) -> tuple[str, str]:
    """(access token, refresh cookie) of a login that asked for the cookie."""
    body = {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "cookie": True}
    answer = anonymous.post("/auth/login", json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["refresh_token"] is None  # never readable by the page's scripts
    return answer.json()["access_token"], _set_cookie(answer)["value"]


def _refresh(anonymous: httpx.Client, cookie: str | None, **headers: str) -> httpx.Response:
    sent = {"Cookie": f"{COOKIE}={cookie}"} if cookie is not None else {}
    return anonymous.post("/auth/refresh", json={}, headers={**sent, **headers})


def test_login_sets_an_httponly_strict_cookie_scoped_to_the_auth_routes(live: Live) -> None:
    with live.client(token="") as anonymous:
        body = {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "cookie": True}
        answer = anonymous.post("/auth/login", json=body)
        assert answer.status_code == 200, answer.text
        assert answer.json()["refresh_token"] is None
        cookie = _set_cookie(answer)
        assert cookie["value"]
        assert cookie["httponly"] and cookie["samesite"] == "strict"
        assert cookie["path"] == "/api/v1/auth"
        assert cookie["max-age"] == str(AuthSettings().refresh_ttl_s)
        assert not cookie["secure"]  # plain HTTP here, and no trusted proxy said https

        # without "cookie", the token is in the answer and no cookie is set, as before
        plain = anonymous.post("/auth/login", json={k: body[k] for k in ("email", "password")})
        assert plain.json()["refresh_token"] and "set-cookie" not in plain.headers


def test_an_untrusted_forwarded_proto_does_not_make_the_cookie_secure_only(live: Live) -> None:
    """Only a configured proxy is believed; the server here trusts none."""
    with live.client(token="") as anonymous:
        body = {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "cookie": True}
        answer = anonymous.post("/auth/login", json=body, headers={"X-Forwarded-Proto": "https"})
        assert not _set_cookie(answer)["secure"]


def test_refresh_by_cookie_needs_the_csrf_header_and_rotates_the_cookie(live: Live) -> None:
    with live.client(token="") as anonymous:
        _, first = _browser_login(anonymous)
        refused = _refresh(anonymous, first)  # what a cross-site form could send
        assert "csrf" in assert_error(refused, 403, "permission_denied")["message"].lower()
        assert "set-cookie" not in refused.headers  # a forged request cannot sign you out
        wrong = _refresh(anonymous, first, **{"X-Conveyor-CSRF": "yes"})
        assert_error(wrong, 403, "permission_denied")

        answer = _refresh(anonymous, first, **CSRF)  # the refused ones spent nothing
        assert answer.status_code == 200, answer.text
        assert answer.json()["refresh_token"] is None
        second = _set_cookie(answer)
        assert second["value"] != first and second["httponly"] and second["path"] == "/api/v1/auth"
    with live.client(token=answer.json()["access_token"]) as api:
        assert api.get("/me").json()["user"]["email"] == ADMIN_EMAIL


def test_a_reused_cookie_ends_the_login_and_is_cleared(live: Live) -> None:
    with live.client(token="") as anonymous:
        _, first = _browser_login(anonymous)
        rotated = _set_cookie(_refresh(anonymous, first, **CSRF))["value"]

        reused = _refresh(anonymous, first, **CSRF)  # a stolen copy, or a race lost
        assert_error(reused, 401, "unauthenticated")
        cleared = _set_cookie(reused)
        assert cleared["value"] == "" and cleared["max-age"] == "0"
        assert cleared["path"] == "/api/v1/auth"

        # the reuse ended the whole login: the newest cookie is refused too
        assert_error(_refresh(anonymous, rotated, **CSRF), 401, "unauthenticated")


def test_refresh_without_a_cookie_is_401_and_clears_it(live: Live) -> None:
    with live.client(token="") as anonymous:
        missing = _refresh(anonymous, None, **CSRF)
        assert_error(missing, 401, "unauthenticated")
        assert _set_cookie(missing)["max-age"] == "0"
        assert_error(_refresh(anonymous, "not-a-token", **CSRF), 401, "unauthenticated")


def test_a_body_token_still_refreshes_without_cookie_or_header(live: Live) -> None:
    """The SDK and CLI keep sending the token in the body; nothing changes for them."""
    with live.client(token="") as anonymous:
        body = {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        tokens = anonymous.post("/auth/login", json=body).json()
        answer = anonymous.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert answer.status_code == 200 and answer.json()["refresh_token"]
        assert "set-cookie" not in answer.headers


def test_logout_by_cookie_ends_the_login_and_clears_the_cookie(live: Live) -> None:
    with live.client(token="") as anonymous:
        access, cookie = _browser_login(anonymous)
    sent = {"Cookie": f"{COOKIE}={cookie}"}
    with live.client(token=access) as api:
        assert_error(api.post("/auth/logout", json={}, headers=sent), 403, "permission_denied")
        ended = api.post("/auth/logout", json={}, headers={**sent, **CSRF})
        assert ended.status_code == 204, ended.text
        cleared = _set_cookie(ended)
        assert cleared["value"] == "" and cleared["max-age"] == "0"
        assert cleared["path"] == "/api/v1/auth" and cleared["httponly"]

        none = api.post("/auth/logout", json={}, headers=CSRF)  # no cookie: nothing to end
        assert_error(none, 404, "not_found")
        assert _set_cookie(none)["max-age"] == "0"
    with live.client(token="") as anonymous:
        assert_error(_refresh(anonymous, cookie, **CSRF), 401, "unauthenticated")


def test_behind_a_trusted_proxy_that_says_https_the_cookie_is_secure(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live.svc.settings, "trusted_proxies", "127.0.0.1")
    with live.client(token="") as anonymous:
        secure = _browser_login(anonymous, **{"X-Forwarded-Proto": "https"})
        plain = _browser_login(anonymous, **{"X-Forwarded-Proto": "http"})
        body = {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "cookie": True}
        answer = anonymous.post("/auth/login", json=body, headers={"X-Forwarded-Proto": "https"})
        assert _set_cookie(answer)["secure"]
        refreshed = _refresh(anonymous, secure[1], **CSRF, **{"X-Forwarded-Proto": "https"})
        assert _set_cookie(refreshed)["secure"]
        assert not _set_cookie(_refresh(anonymous, plain[1], **CSRF))["secure"]


def test_no_other_site_is_allowed_to_send_the_csrf_header(live: Live) -> None:
    """The header is a CSRF defence because a cross-site page needs a CORS preflight to
    send it, and the server grants none."""
    preflight = {
        "Origin": "https://elsewhere.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-conveyor-csrf, content-type",
    }
    with live.client(token="") as anonymous:
        answer = anonymous.options("/auth/refresh", headers=preflight)
        assert not any(name.startswith("access-control-allow") for name in answer.headers)
        posted = anonymous.post("/auth/refresh", json={}, headers={"Origin": preflight["Origin"]})
        assert not any(name.startswith("access-control-allow") for name in posted.headers)
