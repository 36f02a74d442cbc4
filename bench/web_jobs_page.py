"""The jobs page in headless Chromium: from navigation to a rendered table, with many jobs.

What is measured
----------------
A store is filled with ``--jobs`` jobs (100,000 by default) through the store API
(``Store.job_submit_many``, 1,000 a call; three actions, two queues, all queued since no
agent runs), then a real ``conveyor server`` serves it and the built dashboard. Debian's
Chromium (headless, through Playwright) signs in as the form does (the refresh token in
its HttpOnly cookie); then each timed run is a full page load of a jobs URL in the same
tab: the JavaScript and CSS
come from the browser's cache as they would for a returning user, the access token is
fetched again with the refresh cookie, then ``/me`` and the first page of jobs. The
figure is the page's own ``performance.mark("conveyor:jobs-table")``, set when the
first rows are on screen, measured from the navigation's start (``timeOrigin``).
URLs: all jobs, a state filter, a state + action filter. Each is loaded ``--runs``
times; the median and the slowest are printed against the 1.5 s target (never
asserted), and the last line gives each backend's slowest median. A first load in a fresh browser context (nothing cached) is printed on its
own.

Then the table's virtualisation: ``--scroll-rows`` rows are loaded by scrolling (the
page fetches the next page as the end comes near), and the number of rows in the DOM
is printed (only those in view are rendered), with the time to load them; then the
table is scrolled from top to bottom, 600 px a frame, and the frame times (p95, max)
are printed: smooth means about one display frame (16.7 ms).

Reproduce
---------
    make web && make bench-web                       # every bench/web_*.py
    .venv/bin/python -m bench.web_jobs_page --jobs 100000 --backends sqlite,postgres

PostgreSQL is reached at ``--pg-url`` (default ``$CONVEYOR_BENCH_PG_URL`` or
``postgresql://postgres@127.0.0.1:5432/postgres``); the benchmark creates and drops a
database named ``conveyor_bench_web_<pid>``.
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
import psycopg
import sqlalchemy as sa
from playwright.sync_api import Page, sync_playwright

from bench.chromium import CHROMIUM, EMAIL, LAUNCH_ARGS, PASSWORD, free_port, sign_in
from bench.e2e_procs import Proc, wait_until
from conveyor.api.ui import PACKAGED_UI
from conveyor.server.bootstrap import DEFAULT_TEAM_SLUG, bootstrap
from conveyor.store import JobSpec, Store

TARGET_S = 1.5
MARK = "conveyor:jobs-table"
ROW = "tr[data-job-id]"
ACTIONS = ("demo.echo", "demo.sleep", "demo.export_csv")
QUEUES = ("default", "exports")
BATCH = 1000
URLS = {
    "all jobs": "/jobs",
    "state": "/jobs?state=queued",
    "state + action": "/jobs?state=queued&action=demo.echo",
}


@dataclass(frozen=True)
class Config:
    jobs: int
    runs: int
    scroll_rows: int
    backends: list[str]
    pg_url: str


def parse_args(argv: Sequence[str] | None = None) -> Config:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=100_000, help="jobs in the store")
    parser.add_argument("--runs", type=int, default=5, help="page loads per URL")
    parser.add_argument("--scroll-rows", type=int, default=3000, help="rows loaded by scrolling")
    parser.add_argument("--backends", default="sqlite", help="sqlite,postgres")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "CONVEYOR_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run: 5,000 jobs, 2 runs")
    args = parser.parse_args(argv)
    if args.quick:
        args.jobs, args.runs, args.scroll_rows = 5000, 2, 1000
    return Config(args.jobs, args.runs, args.scroll_rows, args.backends.split(","), args.pg_url)


def say(line: str = "") -> None:
    print(line, flush=True)


async def fill(url: str, jobs: int) -> float:
    """The admin, then ``jobs`` jobs; returns the seconds the jobs took to insert."""
    await bootstrap(url, email=EMAIL, password=PASSWORD)
    store = await Store.open(url)
    try:
        team = await store.team_by_slug(DEFAULT_TEAM_SLUG)
        assert team is not None
        started = time.perf_counter()
        for start in range(0, jobs, BATCH):
            specs = [
                JobSpec(ACTIONS[n % len(ACTIONS)], {"n": n}, queue=QUEUES[n % len(QUEUES)])
                for n in range(start, min(jobs, start + BATCH))
            ]
            await store.job_submit_many(team, specs)
        return time.perf_counter() - started
    finally:
        await store.close()


@contextmanager
def serving(database_url: str, tmp: Path) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVEYOR_")}
    env |= {"CONVEYOR_DATABASE_URL": database_url, "CONVEYOR_DATA_DIR": str(tmp)}
    argv = [sys.executable, "-m", "conveyor", "server", "--host", "127.0.0.1",
            "--port", str(port), "--log-level", "warning"]  # fmt: skip
    server = Proc("server", argv, env, tmp / "server.log")
    base = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        server.check()
        try:
            return httpx.get(f"{base}/readyz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(ready, 60, "the server to be ready")
        yield base
    finally:
        server.stop()


def load(page: Page, url: str) -> float:
    """A full page load of ``url``; seconds from navigation start to rows on screen."""
    page.goto(url)
    page.wait_for_selector(ROW, timeout=60_000)  # the mark is set in the same commit
    started: float = page.evaluate(f"performance.getEntriesByName({MARK!r})[0].startTime")
    return started / 1000


# In the page (page.evaluate is not subject to its Content-Security-Policy, unlike
# wait_for_function): scroll to the end until `target` rows are loaded, one frame a step.
_LOAD_BY_SCROLLING = """async (target) => {
  const region = document.querySelector('[role=region][aria-label="Jobs table"]')
  const footer = () => document.querySelector('[data-loaded]')
  const loaded = () => Number(footer().dataset.loaded)
  const started = performance.now()
  while (loaded() < target && footer().dataset.more === 'true') {
    region.scrollTop = region.scrollHeight
    await new Promise(requestAnimationFrame)
  }
  return [performance.now() - started, loaded()]
}"""

# Then scroll from the top to the bottom, `step` pixels a frame, timing every frame.
_SCROLL_THROUGH = """async (step) => {
  const region = document.querySelector('[role=region][aria-label="Jobs table"]')
  region.scrollTop = 0
  await new Promise(requestAnimationFrame)
  const frames = []
  let last = performance.now()
  while (region.scrollTop + region.clientHeight < region.scrollHeight - 1) {
    region.scrollTop += step
    await new Promise(requestAnimationFrame)
    const now = performance.now()
    frames.push(now - last)
    last = now
  }
  return frames
}"""
SCROLL_STEP_PX = 600


@dataclass(frozen=True)
class Scrolled:
    seconds: float
    loaded: int
    in_dom: int
    frames_ms: list[float]


def scroll(page: Page, rows: int) -> Scrolled:
    """Load ``rows`` by scrolling, then scroll through all of them, timing the frames."""
    millis, loaded = page.evaluate(_LOAD_BY_SCROLLING, rows)
    in_dom = page.locator(ROW).count()
    frames: list[float] = page.evaluate(_SCROLL_THROUGH, SCROLL_STEP_PX)
    return Scrolled(millis / 1000, loaded, in_dom, frames)


def measure(base: str, cfg: Config, backend: str) -> float:
    """Print every figure of one backend; returns the slowest median of its URLs."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        viewport = {"width": 1280, "height": 800}
        cold = browser.new_context(viewport=viewport)  # type: ignore[arg-type]
        sign_in(cold, base)
        first = load(cold.new_page(), base + URLS["all jobs"])
        cold.close()
        say(f"  {backend} all jobs, empty cache     {first * 1000:6.0f} ms")
        context = browser.new_context(viewport=viewport)  # type: ignore[arg-type]
        sign_in(context, base)
        page = context.new_page()
        load(page, base + URLS["all jobs"])  # fills the cache
        medians = {}
        for name, path in URLS.items():
            times = [load(page, base + path) for _ in range(cfg.runs)]
            median, worst = statistics.median(times), max(times)
            medians[name] = median
            verdict = "PASS" if median <= TARGET_S else "MISS"
            say(
                f"  {backend} {name:<15} median {median * 1000:6.0f} ms  "
                f"max {worst * 1000:6.0f} ms  target {TARGET_S * 1000:.0f} ms  {verdict}"
            )
        page.goto(base + "/jobs")
        page.wait_for_selector(ROW)
        done = scroll(page, cfg.scroll_rows)
        frames = sorted(done.frames_ms)
        p95 = frames[min(len(frames) - 1, int(len(frames) * 0.95))] if frames else 0.0
        say(
            f"  {backend} loaded {done.loaded} rows by scrolling in {done.seconds:.1f} s; "
            f"rows in the DOM: {done.in_dom} (virtualised)"
        )
        say(
            f"  {backend} scrolling through them ({len(frames)} frames, {SCROLL_STEP_PX} px each): "
            f"frame p95 {p95:.0f} ms, max {max(frames, default=0):.0f} ms"
        )
        browser.close()
        return max(medians.values())


def database_for(backend: str, cfg: Config, tmp: Path) -> tuple[str, str | None]:
    if backend == "sqlite":
        return f"sqlite:///{tmp}/conveyor.db", None
    name = f"conveyor_bench_web_{os.getpid()}"
    admin = sa.make_url(cfg.pg_url).set(drivername="postgresql")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return sa.make_url(cfg.pg_url).set(database=name).render_as_string(hide_password=False), name


def drop(cfg: Config, name: str) -> None:
    admin = sa.make_url(cfg.pg_url).set(drivername="postgresql")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main(argv: Sequence[str] | None = None) -> None:
    cfg = parse_args(argv)
    if not (PACKAGED_UI / "index.html").is_file():
        sys.exit(f"the UI is not built in {PACKAGED_UI}: run `make web` first")
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} is missing: apt-get install -y chromium")
    say(f"web jobs page: {cfg.jobs:,} jobs, {cfg.runs} loads per URL, Chromium headless")
    slowest: dict[str, float] = {}
    for backend in cfg.backends:
        with tempfile.TemporaryDirectory(prefix="conveyor-bench-web-") as tmp_name:
            tmp = Path(tmp_name)
            url, pg_name = database_for(backend, cfg, tmp)
            try:
                inserted = asyncio.run(fill(url, cfg.jobs))
                say(f"  {backend}: {cfg.jobs:,} jobs inserted in {inserted:.1f} s")
                with serving(url, tmp) as base:
                    slowest[backend] = measure(base, cfg, backend)
            finally:
                if pg_name:
                    drop(cfg, pg_name)
    figures = " ".join(f"{name}={seconds * 1000:.0f}ms" for name, seconds in slowest.items())
    say(f"web_jobs_page: slowest median {figures} target={TARGET_S * 1000:.0f}ms")


if __name__ == "__main__":
    main()
