"""The dashboard rides out a server restart: it keeps the session, says it is reconnecting,
and loads its data again once the server is back."""

from __future__ import annotations

from playwright.sync_api import Page, Route, expect

from tests.browser.helpers import Person, heading, sign_in
from tests.helpers.live import LiveServer

RECONNECTING = "Reconnecting to the server…"


def test_the_page_recovers_after_the_server_restarts(
    server: LiveServer, admin: Person, page: Page
) -> None:
    sign_in(page, server.url, admin, "/agents")
    expect(heading(page, "Agents")).to_be_visible()
    banner = page.get_by_role("status").filter(has_text=RECONNECTING)
    expect(banner).to_have_count(0)

    server.process.stop()
    expect(banner).to_be_visible()  # the event stream broke
    expect(page.get_by_role("button", name="Sign in")).to_have_count(0)

    server.restart()  # same port and database
    expect(banner).to_be_hidden(timeout=30_000)
    expect(heading(page, "Agents")).to_be_visible()
    # Data loads again: the agents, which reconnect to the new server process, show as
    # connected, and what changes from now on shows live.
    expect(page.get_by_text("2 of 2 connected")).to_be_visible(timeout=30_000)
    with server.client() as api:
        agent = next(a for a in api.get("/agents").json()["items"] if a["name"] == "browser-2")
        api.post(f"/agents/{agent['id']}/drain")
    row = page.get_by_role("row").filter(has=page.get_by_text("browser-2", exact=True))
    expect(row).to_contain_text("draining")


def test_a_refresh_the_server_cannot_answer_keeps_the_session(
    server: LiveServer, admin: Person, page: Page
) -> None:
    """A page loaded while the server restarts behind a proxy: the refresh gets a 502. The
    session is kept (not signed out) and the refresh is retried until the server answers."""
    sign_in(page, server.url, admin, "/agents")
    expect(heading(page, "Agents")).to_be_visible()

    def bad_gateway(route: Route) -> None:
        route.fulfill(status=502, body="Bad Gateway", content_type="text/plain")

    page.route("**/api/v1/auth/refresh", bad_gateway)
    page.reload()
    banner = page.get_by_role("status").filter(has_text=RECONNECTING)
    expect(banner).to_be_visible()
    with page.expect_request("**/api/v1/auth/refresh"):
        pass  # it tries again, instead of signing out after the first failure
    expect(page.get_by_role("button", name="Sign in")).to_have_count(0)
    assert page.url == server.url + "/agents"

    page.unroute("**/api/v1/auth/refresh")  # the server answers again
    expect(heading(page, "Agents")).to_be_visible(timeout=30_000)
    expect(banner).to_have_count(0)
    expect(page.get_by_text("2 of 2 connected")).to_be_visible()
