"""Browser tests: headless Debian Chromium (Playwright) against real processes.

Each test gets a ``conveyor server`` process on a free 127.0.0.1 port (SQLite in a
temporary folder; ``pg_server`` for the one that runs on PostgreSQL) serving the
built UI, two ``conveyor agent`` processes offering the demo actions and the e2e
shell actions, and a fresh browser context. ``shoot`` writes screenshots in light
and dark to ``shots/``; ``assert_accessible`` runs axe-core on the page.

The sync Playwright API leaves an event loop running on the main thread, which
breaks every pytest-asyncio test after it, so these tests run in their own pytest
invocation (``make test``) and, in a mixed run, after every other test
(``pytest_collection_modifyitems`` in ``tests/conftest.py``).

Without Chromium, a built UI or axe-core they fail in CI and skip elsewhere.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, sync_playwright

from conveyor.api.ui import PACKAGED_UI
from tests.browser.helpers import CHROMIUM, LAUNCH_ARGS, Person
from tests.e2e.conftest import SHELL_CONFIG
from tests.helpers.live import ADMIN_EMAIL, ADMIN_PASSWORD, LiveAgent, LiveServer
from tests.helpers.needs import need

VIEWPORT = {"width": 1280, "height": 800}
AGENT_NAMES = ("browser-1", "browser-2")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    need(Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install -y chromium")
    need(
        (PACKAGED_UI / "index.html").is_file(),
        f"the UI is not built in {PACKAGED_UI}: run `make web` (Node.js 20.19+)",
    )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield launched
        launched.close()


def _start_server(database_url: str, data_dir: Path) -> LiveServer:
    """Started on another thread: its bootstrap runs ``asyncio.run``, which cannot run on
    the main thread while Playwright's loop does."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(LiveServer, database_url, data_dir).result()


def _fleet(server: LiveServer) -> Iterator[LiveServer]:
    agents = [
        LiveAgent(server, name, "--demo", "--config", SHELL_CONFIG, labels={"browser": "yes"})
        for name in AGENT_NAMES
    ]
    try:
        yield server
    finally:
        for agent in agents:
            agent.process.stop()
        server.stop()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    """A server on SQLite with two connected agents."""
    yield from _fleet(_start_server(f"sqlite:///{tmp_path}/conveyor.db", tmp_path))


@pytest.fixture
def bare_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A server on SQLite with no agent yet (empty states)."""
    live = _start_server(f"sqlite:///{tmp_path}/conveyor.db", tmp_path)
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture
def pg_server(pg_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    """The same on PostgreSQL (CONVEYOR_TEST_DATABASE_URL), for a test that needs both."""
    yield from _fleet(_start_server(pg_url, tmp_path))


@pytest.fixture
def admin() -> Person:
    return Person(ADMIN_EMAIL, ADMIN_PASSWORD)


@pytest.fixture
def make_user(server: LiveServer) -> Iterator[Callable[[str], Person]]:
    """``make_user("viewer")``: a new person of that role in the default team."""

    def make(role: str = "viewer") -> Person:
        person = Person(f"{role}-{len(made) + 1}@example.com", f"{role} password 12345")
        done = subprocess.run(
            [sys.executable, "-m", "conveyor", "admin", "create", "--email", person.email,
             "--role", role, "--password-stdin", "--database-url", server.database_url],
            input=person.password + "\n", capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        made.append(person)
        return person

    made: list[Person] = []
    yield make


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport=VIEWPORT, accept_downloads=True)  # type: ignore[arg-type]
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    """A tab whose uncaught errors and console errors fail the test."""
    tab = context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))

    def console(message: ConsoleMessage) -> None:
        # A failed request is the app's to show (a 401 before sign-in is normal);
        # Chromium logs each as a console error, which says nothing about the app.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            problems.append(f"console error: {message.text}")

    tab.on("console", console)
    yield tab
    assert not problems, "the page reported errors:\n" + "\n".join(problems)
