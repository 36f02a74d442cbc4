"""The job page's log in headless Chromium: a 100,000-line log rendered and searched.

What is measured
----------------
A real ``conveyor server`` (SQLite) and one ``conveyor agent`` run a shell action that
prints ``--lines`` lines (100,000 by default; every 10th with an ANSI-coloured level,
every 100th an ``ERROR``), so the log is stored exactly as agents ship it. Debian's
Chromium (headless, through Playwright) signs in as the form does, then for each of
``--runs`` full page loads of the job's page (scripts from the browser's cache):

- **first lines**: from the navigation's start (``timeOrigin``) to the first log row
  on screen;
- **whole log rendered**: to the viewer saying it holds every line (all pages read,
  the end of the log on screen);
- **search**: from typing a query (``error``: 1 line in 100) to its first match
  highlighted and the count shown, measured inside the page;
- **next match**: from pressing Enter to the second match highlighted.

Then scrolling: the log is scrolled from the end to the top in 100 steps, one per
animation frame; the slowest and the median frame are printed with the number of
rows in the DOM (only those on screen are rendered). The medians are printed against
the 1 s target for "rendered and searchable" (never asserted).

Reproduce
---------
    make web && make bench-web                   # every bench/web_*.py
    .venv/bin/python -m bench.web_log --lines 100000 --runs 5
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from playwright.sync_api import Page, sync_playwright

from bench.chromium import CHROMIUM, EMAIL, LAUNCH_ARGS, PASSWORD, free_port, sign_in
from bench.e2e_procs import Proc, wait_until
from conveyor.api.ui import PACKAGED_UI
from conveyor.server.bootstrap import bootstrap

TARGET_S = 1.0
ACTION = "bench.lines"
QUERY = "error"
# Prints argv[1] lines: a level every 10th (coloured), an ERROR every 100th.
PRINTER = r"""
import sys
n = int(sys.argv[1])
w = sys.stdout.write
for i in range(1, n + 1):
    if i % 100 == 0:
        w("\x1b[31mERROR\x1b[0m request %d failed: upstream answered 503 after 30.0 s\n" % i)
    elif i % 10 == 0:
        w("\x1b[32mINFO\x1b[0m  step %d: copied 10,000 rows into the staging table\n" % i)
    else:
        w("line %d: processing batch of records, checksum %08x\n" % (i, i * 2654435761 % 2**32))
"""  # no braces: every argv element is a template ({lines} is the one placeholder)
AGENT_CONFIG = f"""
[actions."{ACTION}"]
description = "Print `lines` log lines (the log benchmark)"
argv = ["{sys.executable}", "-c", '''{PRINTER}''', "{{lines}}"]
timeout_s = 600

[actions."{ACTION}".params.lines]
type = "integer"
"""


@dataclass(frozen=True)
class Config:
    lines: int
    runs: int


def parse_args(argv: Sequence[str] | None = None) -> Config:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=100_000, help="lines in the job's log")
    parser.add_argument("--runs", type=int, default=5, help="page loads")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 10,000 lines, 2 runs")
    args = parser.parse_args(argv)
    if args.quick:
        args.lines, args.runs = 10_000, 2
    return Config(args.lines, args.runs)


def say(line: str = "") -> None:
    print(line, flush=True)


@contextmanager
def fleet(tmp: Path) -> Iterator[str]:
    """A server on SQLite with one agent offering the printing action; yields its URL."""
    url = f"sqlite:///{tmp}/conveyor.db"
    boot = asyncio.run(bootstrap(url, email=EMAIL, password=PASSWORD))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVEYOR_")}
    server_env = env | {"CONVEYOR_DATABASE_URL": url, "CONVEYOR_DATA_DIR": str(tmp)}
    server = Proc("server", [sys.executable, "-m", "conveyor", "server", "--host", "127.0.0.1",
                             "--port", str(port), "--log-level", "warning"],
                  server_env, tmp / "server.log")  # fmt: skip

    def ready() -> bool:
        server.check()
        try:
            return httpx.get(f"{base}/readyz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    agent: Proc | None = None
    try:
        wait_until(ready, 60, "the server to be ready")
        (tmp / "agent.toml").write_text(AGENT_CONFIG)
        agent_env = env | {"CONVEYOR_AGENT_KEY": boot.agent_key, "CONVEYOR_SERVER": base}
        agent = Proc("agent", [sys.executable, "-m", "conveyor", "agent", "--name", "bench",
                               "--config", str(tmp / "agent.toml")],
                     agent_env, tmp / "agent.log")  # fmt: skip
        yield base
    finally:
        if agent is not None:
            agent.stop()
        server.stop()


def run_job(base: str, lines: int) -> str:
    """Submit the printing job, wait for it to succeed; its id."""
    token = httpx.post(f"{base}/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD})
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    with httpx.Client(base_url=f"{base}/api/v1", headers=headers, timeout=30) as api:
        wait_until(lambda: api.get("/actions").json()["items"], 60, "the agent to offer actions")
        job = api.post("/jobs", json={"action": ACTION, "params": {"lines": lines}}).json()
        url = f"/jobs/{job['id']}"
        wait_until(lambda: api.get(url).json()["state"] in {"succeeded", "dead"}, 600, "the job")
        finished = api.get(url).json()
        assert finished["state"] == "succeeded", finished
        started, pages, after = time.perf_counter(), 0, None
        while True:  # what the page reads first, without the browser
            page = api.get(
                f"{url}/logs", params={"limit": 1000, **({"after": after} if after else {})}
            )
            pages, after = pages + 1, page.json()["next_cursor"]
            if len(page.json()["items"]) < 1000:
                break
        say(
            f"  the API reads the whole log in {(time.perf_counter() - started) * 1000:.0f} ms "
            f"({pages} page(s), {len(page.content) / 1e6:.1f} MB in the last)"
        )
        return str(job["id"])


@dataclass(frozen=True)
class Load:
    first_rows_s: float
    rendered_s: float
    search_s: float
    next_s: float
    log_requests_s: float


# The time the page spent waiting for GET /logs answers (request start to last byte).
_LOG_REQUESTS = """() => performance.getEntriesByType('resource')
    .filter((entry) => /\\/logs(\\?|$)/.test(new URL(entry.name).pathname + new URL(entry.name).search))
    .reduce((total, entry) => total + entry.responseEnd - entry.requestStart, 0)"""


_WHOLE_LOG = """(lines) => {
    const status = document.querySelector('[data-testid="log-status"]')
    return status !== null && status.textContent.startsWith(lines) && performance.now()
}"""
_FIRST_ROW = "() => document.querySelector('.log-row') !== null && performance.now()"
# Types the query as a person would (React sees an input event), or presses Enter in
# the search field (next match); then waits for match number ``expected`` to be
# highlighted and counted. Milliseconds, measured in the page.
_SEARCH = """async ([query, expected]) => {
    const input = document.querySelector('input[aria-label="Search the log"]')
    const count = document.querySelector('[data-testid="log-match-count"]')
    const started = performance.now()
    if (query === null) {
        input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }))
    } else {
        Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set.call(input, query)
        input.dispatchEvent(new Event('input', { bubbles: true }))
    }
    const done = () => count.textContent.startsWith(`${expected} of`) && document.querySelector('mark.log-match-current')
    while (!done()) await new Promise(requestAnimationFrame)
    return performance.now() - started
}"""
# Scrolls from the end to the top in 100 steps, one per frame: frame times in ms.
_SCROLL = """async () => {
    const log = document.querySelector('[role="log"]')
    const frames = []
    const step = log.scrollHeight / 100
    let last = performance.now()
    for (let i = 0; i < 100; i += 1) {
        log.scrollTop = log.scrollHeight - (i + 1) * step
        await new Promise(requestAnimationFrame)
        const now = performance.now()
        frames.push(now - last)
        last = now
    }
    return { frames, rows: log.querySelectorAll('.log-row').length }
}"""


def load(page: Page, url: str, lines: int) -> Load:
    page.goto(url)
    count = f"{lines:,}"
    first = page.wait_for_function(_FIRST_ROW, timeout=120_000).json_value()
    whole = page.wait_for_function(_WHOLE_LOG, arg=count, timeout=120_000).json_value()
    search_ms = page.evaluate(_SEARCH, [QUERY, 1])
    next_ms = page.evaluate(_SEARCH, [None, 2])
    requests_ms = page.evaluate(_LOG_REQUESTS)
    return Load(first / 1000, whole / 1000, search_ms / 1000, next_ms / 1000, requests_ms / 1000)


def report(name: str, values: list[float], target: float | None) -> None:
    median, worst = statistics.median(values), max(values)
    verdict = "" if target is None else f"  target {target * 1000:.0f} ms  "
    verdict += "" if target is None else ("PASS" if median <= target else "MISS")
    say(f"  {name:<22} median {median * 1000:6.0f} ms  max {worst * 1000:6.0f} ms{verdict}")


def measure(base: str, job_id: str, cfg: Config) -> None:
    url = f"{base}/jobs/{job_id}"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        sign_in(context, base)
        page = context.new_page()
        load(page, url, cfg.lines)  # fills the cache
        runs = [load(page, url, cfg.lines) for _ in range(cfg.runs)]
        report("first lines", [r.first_rows_s for r in runs], None)
        report("whole log rendered", [r.rendered_s for r in runs], TARGET_S)
        report("  of which GET /logs", [r.log_requests_s for r in runs], None)
        report(f"search {QUERY!r}", [r.search_s for r in runs], TARGET_S)
        report("next match", [r.next_s for r in runs], None)
        report("rendered + searched", [r.rendered_s + r.search_s for r in runs], TARGET_S)
        page.get_by_label("Search the log").fill("")
        scrolled = page.evaluate(_SCROLL)
        frames = scrolled["frames"]
        say(
            f"  scroll end → top, 100 frames: median {statistics.median(frames):.1f} ms, "
            f"slowest {max(frames):.1f} ms; rows in the DOM: {scrolled['rows']} (virtualised)"
        )
        browser.close()


def main(argv: Sequence[str] | None = None) -> None:
    cfg = parse_args(argv)
    if not (PACKAGED_UI / "index.html").is_file():
        sys.exit(f"the UI is not built in {PACKAGED_UI}: run `make web` first")
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} is missing: apt-get install -y chromium")
    say(f"web job log: {cfg.lines:,} lines, {cfg.runs} page loads, Chromium headless, SQLite")
    with (
        tempfile.TemporaryDirectory(prefix="conveyor-bench-log-") as tmp_name,
        fleet(Path(tmp_name)) as base,
    ):
        started = time.perf_counter()
        job_id = run_job(base, cfg.lines)
        say(f"  the job wrote its log in {time.perf_counter() - started:.1f} s")
        measure(base, job_id, cfg)


if __name__ == "__main__":
    main()
