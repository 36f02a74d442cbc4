"""Sign in through the form, stay signed in across a reload, sign out."""

from __future__ import annotations

import re

from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.helpers import Person, assert_accessible, heading, shoot, sign_in
from tests.helpers.live import LiveServer

REFRESH_COOKIE = "conveyor_refresh"


def _refresh_cookie(context: BrowserContext) -> dict[str, object] | None:
    return next((dict(c) for c in context.cookies() if c["name"] == REFRESH_COOKIE), None)


def test_sign_in_survives_a_reload_and_sign_out_ends_it(
    server: LiveServer, admin: Person, context: BrowserContext, page: Page
) -> None:
    page.goto(server.url + "/")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    shoot(page, "sign-in")
    assert_accessible(page)

    sign_in(page, server.url, admin)
    expect(heading(page, "Jobs")).to_be_visible()
    cookie = _refresh_cookie(context)  # the refresh token: out of the page's reach
    assert cookie is not None and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/api/v1/auth"
    refresh_in_storage = page.evaluate(
        "() => JSON.stringify({...localStorage, ...sessionStorage}).includes('cvr_')"
    )
    assert not refresh_in_storage
    shoot(page, "jobs-empty")
    assert_accessible(page)

    page.reload()  # the access token lived in memory only: the cookie signs in again
    expect(heading(page, "Jobs")).to_be_visible()
    expect(page.get_by_role("button", name="Sign in")).to_have_count(0)

    page.get_by_role(
        "button", name=re.compile(re.escape(admin.email) + "|user menu|account", re.I)
    ).first.click()
    page.get_by_role("menuitem", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert _refresh_cookie(context) is None
    page.reload()  # and it stays signed out
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()


def test_sign_in_on_postgresql(pg_server: LiveServer, admin: Person, page: Page) -> None:
    sign_in(page, pg_server.url, admin)
    expect(heading(page, "Jobs")).to_be_visible()
    page.reload()
    expect(heading(page, "Jobs")).to_be_visible()
