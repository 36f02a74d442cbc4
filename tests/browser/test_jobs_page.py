"""The jobs page: filters in the URL, live rows, bulk retry, and what a viewer sees."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.helpers import Person, assert_accessible, heading, shoot, sign_in
from tests.e2e.conftest import submit, wait_states
from tests.helpers.live import LiveServer

DEAD = {"dead"}


def _accessible(page: Page) -> None:
    """axe in the dark scheme and then the light one (the page is left light)."""
    for scheme in ("dark", "light"):
        page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
        expect(page.locator("html")).to_have_attribute("data-mantine-color-scheme", scheme)
        assert_accessible(page)


def _rows(page: Page) -> Locator:
    return page.locator("tr[data-job-id]")


def _row(page: Page, job_id: str) -> Locator:
    return page.locator(f'tr[data-job-id="{job_id}"]')


def _dead_jobs(server: LiveServer, count: int) -> list[str]:
    """Jobs that failed their only attempt (``demo.fail``, not retryable): dead."""
    with server.client() as api:
        ids = [
            submit(api, "demo.fail", {"message": f"broken {n}", "retryable": False}, max_attempts=1)
            for n in range(count)
        ]
        assert set(wait_states(api, ids).values()) == DEAD
    return ids


def _succeeded_jobs(server: LiveServer, count: int) -> list[str]:
    with server.client() as api:
        ids = [submit(api, "demo.echo", {"n": n}) for n in range(count)]
        assert set(wait_states(api, ids).values()) == {"succeeded"}
    return ids


@pytest.mark.parametrize("fleet", ["server", "pg_server"])
def test_a_state_filter_lives_in_the_url(
    fleet: str, request: pytest.FixtureRequest, admin: Person, page: Page
) -> None:
    server: LiveServer = request.getfixturevalue(fleet)
    dead = _dead_jobs(server, 2)
    done = _succeeded_jobs(server, 2)

    sign_in(page, server.url, admin, path="/jobs?state=dead")
    expect(heading(page, "Jobs")).to_be_visible()
    expect(_rows(page)).to_have_count(2)
    for job_id in dead:
        expect(_row(page, job_id).get_by_text("dead", exact=True)).to_be_visible()

    page.reload()  # the filter is in the URL: the same rows again
    expect(_rows(page)).to_have_count(2)
    assert {_rows(page).nth(i).get_attribute("data-job-id") for i in range(2)} == set(dead)
    if fleet == "server":
        shoot(page, "jobs-filtered")
        _accessible(page)

    page.get_by_role("button", name="Clear filters").first.click()
    expect(_rows(page)).to_have_count(4)
    assert "state=" not in page.url
    page.go_back()  # back to the filtered list
    expect(_rows(page)).to_have_count(2)
    assert "state=dead" in page.url
    page.go_forward()
    expect(_rows(page)).to_have_count(4)
    for job_id in done:
        expect(_row(page, job_id).get_by_text("succeeded", exact=True)).to_be_visible()
    if fleet == "server":
        _accessible(page)  # every state's badge colour so far: dead and succeeded


def test_bulk_retry_of_three_dead_jobs(server: LiveServer, admin: Person, page: Page) -> None:
    dead = _dead_jobs(server, 3)
    with server.client() as api:
        # Retried jobs wait in the paused queue instead of failing again at once.
        assert api.patch("/queues/default", json={"paused": True}).status_code == 200

    sign_in(page, server.url, admin, path="/jobs?state=dead")
    expect(_rows(page)).to_have_count(3)
    page.get_by_role("checkbox", name="Select all loaded jobs").check()
    expect(page.get_by_text("3 jobs selected.")).to_be_visible()
    page.get_by_role("button", name="Retry", exact=True).click()
    dialog = page.get_by_role("dialog", name="Retry 3 jobs?")
    expect(dialog).to_be_visible()
    shoot(page, "jobs-bulk-confirm")
    _accessible(page)
    dialog.get_by_role("button", name="Retry 3 jobs").click()

    expect(page.get_by_text("3 jobs retried, 0 skipped")).to_be_visible()
    expect(_rows(page)).to_have_count(0)  # none is dead any more
    with server.client() as api:
        states = {api.get(f"/jobs/{job_id}").json()["state"] for job_id in dead}
    assert states == {"queued"}
    page.get_by_role("button", name="Clear filters").first.click()
    for job_id in dead:
        expect(_row(page, job_id).get_by_text("queued", exact=True)).to_be_visible()


def test_bulk_cancel_of_every_job_matching_the_filter(
    server: LiveServer, admin: Person, page: Page
) -> None:
    with server.client() as api:
        assert api.patch("/queues/default", json={"paused": True}).status_code == 200
        waiting = [submit(api, "demo.echo", {"n": n}) for n in range(4)]

    sign_in(page, server.url, admin, path="/jobs?state=queued&action=demo.echo")
    expect(_rows(page)).to_have_count(4)
    page.get_by_role("checkbox", name="Select all loaded jobs").check()
    page.get_by_role("button", name="Select all jobs matching the filter").click()
    expect(page.get_by_text("All jobs matching the filter are selected.")).to_be_visible()
    page.get_by_role("button", name="Cancel", exact=True).click()
    dialog = page.get_by_role("dialog", name="Cancel all 4 jobs matching the filter?")
    dialog.get_by_role("button", name="Cancel all").click()

    expect(page.get_by_text("4 jobs cancelled, 0 skipped")).to_be_visible()
    expect(_rows(page)).to_have_count(0)
    with server.client() as api:
        states = {api.get(f"/jobs/{job_id}").json()["state"] for job_id in waiting}
    assert states == {"cancelled"}


def test_a_job_submitted_elsewhere_appears_and_changes_live(
    server: LiveServer, admin: Person, page: Page
) -> None:
    sign_in(page, server.url, admin, path="/jobs")
    expect(page.get_by_role("heading", name="No jobs yet")).to_be_visible()
    expect(page.get_by_text("conveyor submit demo.echo")).to_be_visible()
    shoot(page, "jobs-none-yet")
    _accessible(page)

    with server.client() as api:
        job_id = submit(api, "demo.sleep", {"seconds": 3})
    row = _row(page, job_id)
    expect(row.get_by_role("progressbar")).to_be_visible(timeout=15_000)
    expect(row.get_by_text("running", exact=True)).to_be_visible()
    shoot(page, "jobs-running")
    _accessible(page)
    expect(row.get_by_text("succeeded", exact=True)).to_be_visible(timeout=15_000)
    expect(row.get_by_role("link", name=job_id[-8:])).to_have_attribute("href", f"/jobs/{job_id}")


def test_a_viewer_sees_no_write_buttons(
    server: LiveServer, make_user: Callable[[str], Person], page: Page
) -> None:
    _dead_jobs(server, 1)
    viewer = make_user("viewer")
    sign_in(page, server.url, viewer, path="/jobs")
    expect(_rows(page)).to_have_count(1)
    expect(page.get_by_role("checkbox")).to_have_count(0)
    expect(page.get_by_role("button", name="Retry")).to_have_count(0)
    expect(page.get_by_role("button", name="Cancel")).to_have_count(0)
    expect(page.get_by_role("link", name="New job")).to_have_count(0)
    expect(page.get_by_role("button", name="New job")).to_have_count(0)
