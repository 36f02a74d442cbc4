"""The job page: progress and log live, the CSV downloaded by its button, a shell job
cancelled from its page (and its process gone), screenshots and axe on each."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from conveyor import Client
from tests.browser.helpers import Person, assert_accessible, heading, shoot, sign_in
from tests.helpers.live import LiveServer, wait_until

EXPORT_ROWS = 1_000_000  # about a second of work: a beat at the first batch, more each 0.5 s
COUNTDOWN_S = 3593  # an odd number, to find this job's process among the machine's
LOG_WAIT_MS = 60_000


@pytest.fixture
def sdk(server: LiveServer) -> Iterator[Client]:
    with Client(server.url, token=server.token) as client:
        yield client


def _progress_between(page: Page) -> None:
    """Wait until the bar shows a value strictly between nothing and all (it moved live)."""
    page.wait_for_function(
        """() => {
            const bar = document.querySelector('[role="progressbar"]')
            const now = Number(bar?.getAttribute('aria-valuenow'))
            return bar !== null && now > 0 && now < 100
        }""",
        timeout=LOG_WAIT_MS,
    )


def _accessible_in_both_schemes(page: Page) -> None:
    for scheme in ("dark", "light"):
        page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
        expect(page.locator("html")).to_have_attribute("data-mantine-color-scheme", scheme)
        assert_accessible(page)


def _countdown_pids(seconds: int) -> list[int]:
    """The processes of a demo.countdown job of ``seconds`` (its shell, by its argv)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"countdown" in argv and str(seconds).encode() in argv:
            found.append(int(proc.name))
    return found


def _alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_export_progress_log_and_csv_download(
    server: LiveServer, admin: Person, sdk: Client, page: Page, tmp_path: Path
) -> None:
    sign_in(page, server.url, admin)
    expect(heading(page, "Jobs")).to_be_visible()
    # Starts in a moment: the page is open before the first progress beat.
    start = datetime.now(UTC) + timedelta(seconds=2)
    job = sdk.submit("demo.export_csv", {"rows": EXPORT_ROWS}, run_at=start)
    page.goto(f"{server.url}/jobs/{job.id}")
    expect(heading(page, "demo.export_csv")).to_be_visible()

    _progress_between(page)  # the bar moves with the job's events, no reload
    log = page.get_by_role("log", name="Job log")
    expect(log).to_contain_text(f"wrote {EXPORT_ROWS} rows to export.csv", timeout=LOG_WAIT_MS)
    expect(page.get_by_test_id("job-state")).to_have_text("succeeded", timeout=LOG_WAIT_MS)
    expect(page.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
    done = f"{EXPORT_ROWS:,} / {EXPORT_ROWS:,}"
    expect(page.get_by_test_id("job-progress-text")).to_contain_text(done)
    expect(page.get_by_text(f'"rows": {EXPORT_ROWS}').first).to_be_visible()  # the result

    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download export.csv").click()
    saved = tmp_path / "export.csv"
    download_info.value.save_as(saved)
    with saved.open("rb") as csv:
        lines = sum(1 for _ in csv)
    assert lines == EXPORT_ROWS + 1  # and its header
    assert download_info.value.suggested_filename == "export.csv"

    with page.expect_download() as log_download:
        page.get_by_role("button", name="Download log").click()
    text = Path(log_download.value.path()).read_text()
    assert f"wrote {EXPORT_ROWS} rows to export.csv" in text

    shoot(page, "job-succeeded")
    _accessible_in_both_schemes(page)


def test_cancel_a_shell_job_from_its_page(
    server: LiveServer, admin: Person, sdk: Client, page: Page
) -> None:
    job = sdk.submit("demo.countdown", {"seconds": COUNTDOWN_S})
    sign_in(page, server.url, admin, f"/jobs/{job.id}")
    expect(heading(page, "demo.countdown")).to_be_visible()

    log = page.get_by_role("log", name="Job log")
    expect(log).to_contain_text(f"T-minus {COUNTDOWN_S - 1}", timeout=LOG_WAIT_MS)  # live
    expect(log).to_contain_text(f"T-minus {COUNTDOWN_S - 2}", timeout=LOG_WAIT_MS)
    expect(page.get_by_test_id("job-state")).to_have_text("running")
    pids = wait_until(lambda: _countdown_pids(COUNTDOWN_S), what="the countdown's process")
    shoot(page, "job-running")
    _accessible_in_both_schemes(page)

    page.get_by_role("button", name="Cancel", exact=True).click()
    dialog = page.get_by_role("dialog", name="Cancel this job?")
    expect(dialog).to_have_css("opacity", "1")  # its fade-in is over: colours are final
    _accessible_in_both_schemes(page)
    dialog.get_by_role("button", name="Cancel job").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("job-state")).to_have_text("cancelled", timeout=LOG_WAIT_MS)
    # The agent ended the job's process: it is gone, and no other countdown of it runs.
    wait_until(lambda: not any(_alive(pid) for pid in pids), what="the countdown to end")
    assert not _countdown_pids(COUNTDOWN_S)
    expect(page.get_by_role("button", name="Cancel", exact=True)).to_have_count(0)

    # A cancelled job can run again: a second attempt, its lines after a separator.
    page.get_by_role("button", name="Retry").click()
    page.get_by_role("dialog", name="Run this job again?").get_by_role(
        "button", name="Retry job"
    ).click()
    expect(page.get_by_test_id("job-state")).to_have_text("running", timeout=LOG_WAIT_MS)
    expect(log.get_by_role("separator", name="Attempt 2")).to_be_attached(timeout=LOG_WAIT_MS)
    expect(page.get_by_text("Attempt 2", exact=True)).to_be_visible()  # in the timeline
    sdk.cancel(job.id)
    expect(page.get_by_test_id("job-state")).to_have_text("cancelled", timeout=LOG_WAIT_MS)
    wait_until(lambda: not _countdown_pids(COUNTDOWN_S), what="the second countdown to end")


def test_a_viewer_sees_no_write_buttons(
    server: LiveServer, sdk: Client, make_user: Callable[[str], Person], page: Page
) -> None:
    job = sdk.submit("demo.countdown", {"seconds": COUNTDOWN_S - 1})
    viewer = make_user("viewer")
    sign_in(page, server.url, viewer, f"/jobs/{job.id}")
    expect(heading(page, "demo.countdown")).to_be_visible()
    expect(page.get_by_role("log", name="Job log")).to_contain_text("T-minus", timeout=LOG_WAIT_MS)
    expect(page.get_by_test_id("job-state")).to_have_text("running")
    expect(page.get_by_role("button", name="Download log")).to_be_visible()  # reading is fine
    expect(page.get_by_role("button", name="Cancel", exact=True)).to_have_count(0)
    sdk.cancel(job.id)
    expect(page.get_by_test_id("job-state")).to_have_text("cancelled", timeout=LOG_WAIT_MS)
    expect(page.get_by_role("button", name="Retry")).to_have_count(0)


@pytest.fixture(params=["server", "pg_server"], ids=["sqlite", "postgresql"])
def any_server(request: pytest.FixtureRequest) -> LiveServer:
    """A server with its agents on SQLite, then on PostgreSQL."""
    live: LiveServer = request.getfixturevalue(request.param)
    return live


def test_search_timestamps_and_jump_to_end(
    any_server: LiveServer, admin: Person, page: Page
) -> None:
    with Client(any_server.url, token=any_server.token) as sdk:
        job = sdk.submit("e2e.flood", {"size": 200 * 3000})  # 3,000 lines of 200 characters
        sdk.wait(job.id, timeout=60)
    sign_in(page, any_server.url, admin, f"/jobs/{job.id}")
    expect(page.get_by_test_id("log-status")).to_have_text(re.compile(r"^3,000 lines"))
    log = page.get_by_role("log", name="Job log")
    # A virtual list: a few dozen rows in the page, not 3,000.
    assert log.locator(".log-row").count() < 200

    log.hover()
    page.mouse.wheel(0, -2000)
    jump = page.get_by_role("button", name="Jump to end")
    expect(jump).to_be_visible()
    jump.click()
    expect(jump).to_be_hidden()

    page.get_by_label("Search the log").fill("00000000000000001")  # no such text
    expect(page.get_by_test_id("log-match-count")).to_have_text("No matches")
    page.get_by_label("Search the log").fill("0" * 199)
    expect(page.get_by_test_id("log-match-count")).to_have_text("1 of 3,000")
    expect(log.locator("mark.log-match-current")).to_have_count(1)
    page.get_by_label("Search the log").press("Enter")
    expect(page.get_by_test_id("log-match-count")).to_have_text("2 of 3,000")
    page.get_by_role("button", name="Previous match").click()
    page.get_by_role("button", name="Previous match").click()
    expect(page.get_by_test_id("log-match-count")).to_have_text("3,000 of 3,000")
    assert "find=" in page.url  # the search is in the URL: a reload keeps it

    page.get_by_label("Timestamps").check()
    expect(log.locator(".log-ts").first).to_have_text(re.compile(r"^\d\d:\d\d:\d\d\.\d{3}$"))
    page.reload()
    expect(page.get_by_test_id("log-match-count")).to_have_text("1 of 3,000")
    expect(page.get_by_label("Timestamps")).to_be_checked()
    shoot(page, "job-log-search")
    _accessible_in_both_schemes(page)


def test_log_colours_and_markup_as_text(
    server: LiveServer, admin: Person, sdk: Client, page: Page
) -> None:
    hostile = '<img src=x onerror="window.pwned=1">'
    word = f"\x1b[31mred\x1b[0m \x1b[1;32m{hostile}\x1b[0m plain"
    job = sdk.submit("e2e.say", {"word": word})
    sdk.wait(job.id, timeout=60)
    sign_in(page, server.url, admin, f"/jobs/{job.id}")
    log = page.get_by_role("log", name="Job log")
    expect(log).to_contain_text(f"said red {hostile} plain")  # the markup, as text
    expect(log.locator(".ansi-red-fg")).to_have_text("red")
    expect(log.locator(".ansi-green-fg")).to_have_text(hostile)
    assert log.locator("img").count() == 0
    assert page.evaluate("() => window.pwned") is None
    page.get_by_label("Search the log").fill("IMG SRC")
    expect(log.locator("mark.log-match-current")).to_have_text("img src")
    shoot(page, "job-log-colours")
    _accessible_in_both_schemes(page)


def test_a_missing_job_says_so(server: LiveServer, admin: Person, page: Page) -> None:
    sign_in(page, server.url, admin, "/jobs/01a2504d-0000-7000-8000-000000000000")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("This job cannot be shown")
    expect(alert).to_contain_text("not found", ignore_case=True)
    expect(page.get_by_role("link", name="Back to the jobs")).to_be_visible()
