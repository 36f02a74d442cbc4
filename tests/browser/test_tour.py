"""Every page, in the light and the dark scheme: a screenshot for a person to look at, and
axe-core finding no serious or critical violation. Also what a viewer may not do: no write
buttons on the pages."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.browser.helpers import Person, assert_accessible, heading, shoot, sign_in
from tests.helpers.live import LiveServer


def _both_schemes(page: Page, name: str) -> None:
    """Screenshots in light and dark, and axe in each (shoot leaves the light scheme on)."""
    shoot(page, name)
    assert_accessible(page)
    page.emulate_media(color_scheme="dark")
    expect(page.locator("html")).to_have_attribute("data-mantine-color-scheme", "dark")
    assert_accessible(page)
    page.emulate_media(color_scheme="light")
    expect(page.locator("html")).to_have_attribute("data-mantine-color-scheme", "light")


def test_tour_of_every_page(server: LiveServer, admin: Person, page: Page) -> None:
    page.goto(server.url + "/signin")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    _both_schemes(page, "tour-sign-in")

    with server.client() as api:
        job = api.post("/jobs", json={"action": "demo.export_csv", "params": {"rows": 50}}).json()

    sign_in(page, server.url, admin, "/jobs")
    expect(heading(page, "Jobs")).to_be_visible()
    _both_schemes(page, "tour-jobs")

    page.goto(f"{server.url}/jobs/{job['id']}")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    _both_schemes(page, "tour-job")

    page.goto(server.url + "/jobs/new?action=demo.export_csv")
    expect(heading(page, "New job")).to_be_visible()
    expect(page.get_by_label("Rows")).to_be_visible()
    _both_schemes(page, "tour-new-job")
    rows = page.get_by_label("Rows")
    rows.fill("-5")
    page.get_by_role("button", name="Submit job").click()
    expect(page.locator(".mantine-InputWrapper-root", has=rows)).to_contain_text("less than 0")
    _both_schemes(page, "tour-new-job-error")

    page.goto(server.url + "/agents")
    expect(heading(page, "Agents")).to_be_visible()
    expect(page.get_by_text("2 of 2 connected")).to_be_visible()
    _both_schemes(page, "tour-agents")
    page.get_by_role("button", name="Drain browser-1").click()
    expect(page.get_by_role("dialog", name="Drain browser-1?")).to_be_visible()
    _both_schemes(page, "tour-agents-drain")


def test_tour_of_the_empty_agents_page(bare_server: LiveServer, admin: Person, page: Page) -> None:
    sign_in(page, bare_server.url, admin, "/agents")
    expect(page.get_by_role("heading", name="No agent yet")).to_be_visible()
    _both_schemes(page, "tour-agents-empty")
    page.get_by_role("button", name="Create agent key").click()
    expect(page.get_by_text("This is the only time the key is shown")).to_be_visible()
    _both_schemes(page, "tour-agents-key")


def test_a_viewer_sees_no_write_buttons(
    server: LiveServer, make_user: Callable[[str], Person], page: Page
) -> None:
    viewer = make_user("viewer")
    sign_in(page, server.url, viewer, "/agents")
    expect(heading(page, "Agents")).to_be_visible()
    expect(page.get_by_text("2 of 2 connected")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("^Drain"))).to_have_count(0)
    expect(page.get_by_role("link", name="New job")).to_have_count(0)

    page.goto(server.url + "/jobs/new?action=demo.export_csv")
    expect(heading(page, "New job")).to_be_visible()
    expect(
        page.get_by_text("Your role in this team does not allow submitting jobs")
    ).to_be_visible()
    expect(page.get_by_role("button", name="Submit job")).to_have_count(0)
    _both_schemes(page, "tour-new-job-viewer")

    page.goto(server.url + "/queues")
    expect(heading(page, "Queues")).to_be_visible()
    expect(page.get_by_role("table", name="Action limits")).to_be_visible()
    expect(
        page.get_by_role("button", name=re.compile("^(Pause|Edit limits|Edit the limit)"))
    ).to_have_count(0)
    page.goto(server.url + "/schedules")
    expect(heading(page, "Schedules")).to_be_visible()
    expect(page.get_by_role("link", name="New schedule")).to_have_count(0)
