"""The Schedules pages (create from the form with the live cron preview, pause, run now, its
runs with links to their jobs) and the Queues page (limits and fairness edited by a manager,
per-action limits), each checked through the API and with axe."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.helpers import Person, assert_accessible, heading, shoot, sign_in
from tests.helpers.live import LiveServer, wait_until

SCHEDULE_URL = re.compile(r"/schedules/[0-9a-f-]{36}$")


def _shoot_and_check(page: Page, name: str) -> None:
    """Screenshots in light and dark, and axe in each (shoot leaves the light scheme on)."""
    shoot(page, name)
    assert_accessible(page)
    page.emulate_media(color_scheme="dark")
    expect(page.locator("html")).to_have_attribute("data-mantine-color-scheme", "dark")
    assert_accessible(page)
    page.emulate_media(color_scheme="light")
    expect(page.locator("html")).to_have_attribute("data-mantine-color-scheme", "light")


def test_create_pause_and_run_a_schedule_from_the_form(
    server: LiveServer, admin: Person, page: Page
) -> None:
    sign_in(page, server.url, admin, "/schedules/new")
    expect(heading(page, "New schedule")).to_be_visible()
    page.get_by_role("textbox", name=re.compile(r"^Name")).fill("nightly export")
    picker = page.get_by_placeholder("Search the actions")
    picker.click()
    picker.fill("export")
    page.get_by_role("option", name=re.compile(r"^demo\.export_csv")).click()
    page.get_by_label("Rows").fill("5")

    cron = page.get_by_label("Cron expression")
    cron.fill("61 2 * * *")  # out of range: the server says why, as you type
    expect(cron).to_have_attribute("aria-invalid", "true")
    cron.fill("30 2 * * *")
    zone = page.get_by_role("combobox", name="Time zone")
    zone.fill("Europe/Berl")
    page.get_by_role("option", name="Europe/Berlin").click()
    preview = page.get_by_test_id("cron-preview")
    expect(preview).to_contain_text("02:30")
    expect(preview).to_contain_text("Next (Europe/Berlin)")
    page.get_by_label("Catch up").check()
    page.evaluate("() => window.scrollTo(0, 0)")  # the fixed header stays on top of the shot
    _shoot_and_check(page, "web-schedule-form")
    page.get_by_role("button", name="Create schedule").click()

    expect(page).to_have_url(SCHEDULE_URL)
    schedule_id = page.url.rsplit("/", 1)[1]
    expect(heading(page, "nightly export")).to_be_visible()
    with server.client() as api:
        made = api.get(f"/schedules/{schedule_id}").json()
    assert (made["action"], made["params"], made["cron"]) == (
        "demo.export_csv",
        {"rows": 5},
        "30 2 * * *",
    )
    assert (made["timezone"], made["misfire_policy"], made["overlap"]) == (
        "Europe/Berlin",
        "catch_up",
        "skip",
    )
    expect(page.get_by_role("list", name="Next fire times").get_by_role("listitem")).to_have_count(
        5
    )

    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_text("Paused: nothing runs until it is resumed.")).to_be_visible()
    with server.client() as api:
        assert api.get(f"/schedules/{schedule_id}").json()["paused"] is True

    page.get_by_role("button", name="Run now").click()  # a paused schedule still runs on demand
    runs = page.get_by_role("table", name="Runs")
    expect(runs.get_by_role("row")).to_have_count(2)  # header + the run
    expect(runs).to_contain_text("run now")
    expect(runs).to_contain_text("succeeded", timeout=30_000)  # live: the job's state follows
    _shoot_and_check(page, "web-schedule")
    with server.client() as api:
        ticks = api.get(f"/schedules/{schedule_id}/ticks").json()["items"]
    assert [(t["kind"], t["outcome"]) for t in ticks] == [("manual", "submitted")]

    job_id = ticks[0]["job_id"]
    expect(page.get_by_role("status").filter(has_text="Run started")).to_contain_text(job_id[-8:])
    runs.get_by_role("link", name=job_id[-8:]).click()
    expect(page).to_have_url(f"{server.url}/jobs/{job_id}")
    expect(heading(page, "demo.export_csv")).to_be_visible()
    page.go_back()
    page.get_by_role("link", name="Its jobs on the Jobs page").click()
    expect(page).to_have_url(re.compile(rf"/jobs\?schedule_id={schedule_id}$"))
    table = page.get_by_role("region", name="Jobs table")
    expect(table.get_by_role("link", name=job_id[-8:])).to_be_visible()

    page.get_by_role("link", name="Schedules").click()
    row = page.get_by_role("row").filter(has=page.get_by_text("nightly export", exact=True))
    expect(row).to_contain_text("paused")
    expect(row).to_contain_text("submitted")
    _shoot_and_check(page, "web-schedules")


def test_queue_and_action_limits_from_the_queues_page(
    pg_server: LiveServer, admin: Person, page: Page
) -> None:
    with pg_server.client() as api:
        api.post("/jobs", json={"action": "demo.echo", "params": {}, "queue": "exports"})
    sign_in(page, pg_server.url, admin, "/queues")
    expect(heading(page, "Queues")).to_be_visible()

    page.get_by_role("button", name="Edit limits of exports").click()
    dialog = page.get_by_role("dialog", name="Limits of exports")
    dialog.get_by_role("switch", name=re.compile("^Rate limit")).check()
    dialog.get_by_label("Starts", exact=True).fill("20")
    dialog.get_by_label("Every", exact=True).fill("2")
    dialog.get_by_role("combobox", name="Unit").click()
    page.get_by_role("option", name="minutes").click()
    dialog.get_by_role("switch", name=re.compile("^Concurrency limit")).check()
    dialog.get_by_label("Running at once").fill("3")
    dialog.get_by_role("switch", name=re.compile("^Fair")).check()
    assert_accessible(page)
    dialog.get_by_role("button", name="Save limits").click()
    expect(dialog).to_be_hidden()
    row = page.get_by_role("row").filter(has=page.get_by_text("exports", exact=True))
    expect(row).to_contain_text("20 starts per 2 minutes")
    expect(row).to_contain_text("at most 3 at once")
    with pg_server.client() as api:
        queues = {q["name"]: q for q in api.get("/queues").json()["items"]}
    exports = queues["exports"]
    assert exports["rate_limit"] == {"count": 20, "interval_s": 120}
    assert (exports["concurrency_limit"], exports["fair"]) == (3, True)

    page.get_by_role("button", name="Edit the limit of demo.sleep").click()
    page.get_by_label("Concurrency limit of demo.sleep").fill("2")
    page.get_by_role("button", name="Save the limit of demo.sleep").click()
    action_row = page.get_by_role("row").filter(has=page.get_by_text("demo.sleep", exact=True))
    expect(action_row).to_contain_text("at most 2 at once")
    with pg_server.client() as api:
        actions = {a["name"]: a for a in api.get("/actions").json()["items"]}
    assert actions["demo.sleep"]["concurrency_limit"] == 2

    page.get_by_label("Rate key", exact=True).fill("partner-api")
    page.get_by_label("Starts", exact=True).fill("5")
    page.get_by_role("button", name="Set limit").click()
    keys = page.get_by_role("table", name="Rate keys")
    expect(keys.get_by_role("row").filter(has_text="partner-api")).to_contain_text(
        "5 starts per second"
    )
    with pg_server.client() as api:
        assert api.get("/rate-limits").json()["items"] == [
            {"key": "partner-api", "count": 5, "interval_s": 1.0}
        ]
    _shoot_and_check(page, "web-queues")

    # A job held back by a rate limit says so, in the jobs table and on its page.
    with pg_server.client() as api:
        api.patch("/queues/default", json={"rate_limit": {"count": 1, "interval_s": 3600}})
        first, second = (
            api.post("/jobs", json={"action": "demo.echo", "params": {"n": n}}).json()["id"]
            for n in (1, 2)
        )
        # (the list shows the reason as read; the first job's start is what makes it this one)
        wait_until(
            lambda: api.get(f"/jobs/{second}").json()["waiting_reason"] == "rate_limit",
            what="the second job to wait for the rate limit",
        )
    page.goto(pg_server.url + "/jobs?state=queued&queue=default")
    expect(page.locator(f'tr[data-job-id="{second}"]')).to_contain_text("rate limit")
    shoot(page, "web-jobs-waiting")
    page.get_by_role("link", name=second[-8:]).click()
    expect(page.get_by_text("the rate limit of its queue or rate key")).to_be_visible()
    with pg_server.client() as api:
        assert api.get(f"/jobs/{first}").json()["waiting_reason"] != "rate_limit"
