"""The New job page: the form generated from an action's params schema, and the server's
refusals shown at the field they name."""

from __future__ import annotations

import json
import re

from playwright.sync_api import Page, Route, expect

from tests.browser.helpers import Person, heading, sign_in
from tests.helpers.live import LiveServer

JOB_URL = re.compile(r"/jobs/[0-9a-f-]{36}$")


def _open_form(page: Page, server: LiveServer, admin: Person, action: str) -> None:
    sign_in(page, server.url, admin, f"/jobs/new?action={action}")
    expect(heading(page, "New job")).to_be_visible()
    expect(page.get_by_text("Offered by browser-1, browser-2")).to_be_visible()


def test_submit_export_csv_from_the_generated_form(
    server: LiveServer, admin: Person, page: Page
) -> None:
    sign_in(page, server.url, admin, "/jobs/new")
    expect(heading(page, "New job")).to_be_visible()
    picker = page.get_by_placeholder("Search the actions")
    picker.click()
    picker.fill("export")
    page.get_by_role("option", name=re.compile(r"^demo\.export_csv")).click()
    expect(page).to_have_url(re.compile(r"\?action=demo\.export_csv$"))
    description = page.get_by_text("Export `rows` generated customer records")
    expect(description.first).to_be_visible()  # (also in the closed list of options)

    page.get_by_label("Rows").fill("25")
    page.get_by_label("Queue").fill("exports")
    labels = page.get_by_role("combobox", name="Labels")
    labels.fill("browser=yes")
    labels.press("Enter")
    page.get_by_role("button", name="Submit job").click()

    expect(page).to_have_url(JOB_URL)
    job_id = page.url.rsplit("/", 1)[1]
    with server.client() as api:
        job = api.get(f"/jobs/{job_id}").json()
    assert job["action"] == "demo.export_csv"
    assert job["params"] == {"rows": 25}
    assert job["queue"] == "exports"
    assert job["labels"] == {"browser": "yes"}


def test_submit_on_postgresql(pg_server: LiveServer, admin: Person, page: Page) -> None:
    _open_form(page, pg_server, admin, "demo.export_csv")
    page.get_by_label("Rows").fill("3")
    page.get_by_role("button", name="Submit job").click()
    expect(page).to_have_url(JOB_URL)
    with pg_server.client() as api:
        job = api.get(f"/jobs/{page.url.rsplit('/', 1)[1]}").json()
    assert job["params"] == {"rows": 3}


def test_the_server_message_shows_at_the_param_it_names(
    server: LiveServer, admin: Person, page: Page
) -> None:
    """The browser checks the schema too, so the request is changed on its way to reach the
    server's own check (as a stale schema in the page would): its answer names params.rows."""
    _open_form(page, server, admin, "demo.export_csv")

    def send_bad_rows(route: Route) -> None:
        body = json.loads(route.request.post_data or "{}")
        body["params"]["rows"] = -5
        route.continue_(post_data=json.dumps(body))

    page.route("**/api/v1/jobs", send_bad_rows)
    page.get_by_label("Rows").fill("5")
    page.get_by_role("button", name="Submit job").click()
    rows = page.get_by_label("Rows")
    expect(rows).to_have_attribute("aria-invalid", "true")
    field = page.locator(".mantine-InputWrapper-root", has=rows)
    expect(field).to_contain_text("-5 is less than the minimum of 0")
    expect(heading(page, "New job")).to_be_visible()  # still here, nothing submitted
    with server.client() as api:
        assert api.get("/jobs").json()["items"] == []

    page.unroute("**/api/v1/jobs")
    rows.fill("7")  # editing the field clears the message
    expect(field).not_to_contain_text("less than the minimum")


def test_a_value_only_the_server_refuses_shows_at_its_option(
    server: LiveServer, admin: Person, page: Page
) -> None:
    _open_form(page, server, admin, "demo.export_csv")
    page.get_by_label("Rows").fill("5")
    priority = page.get_by_label(re.compile(r"^Priority"))
    priority.fill("500")
    page.get_by_role("button", name="Submit job").click()
    field = page.locator(".mantine-InputWrapper-root", has=priority)
    expect(field).to_contain_text("less than or equal to 100")
    priority.fill("100")
    page.get_by_role("button", name="Submit job").click()
    expect(page).to_have_url(JOB_URL)


def test_the_browser_checks_the_schema_before_sending(
    server: LiveServer, admin: Person, page: Page
) -> None:
    _open_form(page, server, admin, "demo.export_csv")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if r.method == "POST" else None)
    rows = page.get_by_label("Rows")
    rows.fill("-5")  # kept as typed (not clamped to 0 behind the user's back)
    page.get_by_role("button", name="Submit job").click()
    field = page.locator(".mantine-InputWrapper-root", has=rows)
    expect(field).to_contain_text("-5 is less than 0")
    expect(rows).to_have_value("-5")
    assert not [url for url in requests if url.endswith("/api/v1/jobs")]
