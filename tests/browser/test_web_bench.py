"""The dashboard's jobs-page benchmark still runs: a tiny store, its summary line.

It starts its own server and Chromium, so it runs as a process of its own (the sync
Playwright API of this session cannot nest another). Nothing here judges speed.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from conveyor.api.ui import PACKAGED_UI
from tests.browser.helpers import CHROMIUM, REPO
from tests.helpers.needs import need

SUMMARY = re.compile(r"web_jobs_page: slowest median sqlite=(?P<ms>[0-9]+)ms target=1500ms")


def test_the_jobs_page_benchmark_runs() -> None:
    need(Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install -y chromium")
    need((PACKAGED_UI / "index.html").is_file(), "the UI is not built: run `make web`")
    done = subprocess.run(
        [sys.executable, "-m", "bench.web_jobs_page", "--jobs", "300", "--runs", "1",
         "--scroll-rows", "1000", "--backends", "sqlite"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert SUMMARY.search(done.stdout), done.stdout
    scrolled = re.search(r"loaded (\d+) rows by scrolling .* rows in the DOM: (\d+)", done.stdout)
    assert scrolled, done.stdout
    loaded, in_dom = int(scrolled[1]), int(scrolled[2])
    assert loaded == 300  # every page was fetched by scrolling, up to the end
    assert in_dom < loaded  # and only the rows in view are in the page
