"""``conveyor top`` headless (Textual's pilot) against a real server and a real agent.

Each test drives the dashboard the way a person would, by keys, and waits on what
the dashboard shows. SVG snapshots go to ``shots/top`` (gitignored) for a person
to look at.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import DataTable, Input, OptionList

from conveyor.sdk.async_client import AsyncClient
from conveyor.tui.app import ConveyorTop
from conveyor.tui.dialogs import ConfirmScreen, FilterScreen, HelpScreen, TeamScreen
from conveyor.tui.logview import LogScreen
from conveyor.tui.overview import depth
from conveyor.tui.source import Source
from tests.e2e.conftest import python_agent
from tests.e2e.test_system import _pid_alive, _read
from tests.helpers.live import LiveServer

SHOTS = Path(__file__).resolve().parents[2] / "shots" / "top"
DEADLINE_S = 30.0


async def until(pilot: Pilot[Any], condition: Callable[[], Any], what: str) -> Any:
    """Let the app run until ``condition()`` holds (it reads the app's state)."""
    deadline = time.monotonic() + DEADLINE_S
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the dashboard never showed {what}")
        await pilot.pause(0.05)
    return value


def dashboard(server: LiveServer) -> ConveyorTop:
    source = Source(lambda team: AsyncClient(server.url, token=server.token, team=team))
    return ConveyorTop(source, interval=5.0)  # the event stream, not the timer, must refresh


def shoot(app: ConveyorTop, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    app.save_screenshot(f"{name}.svg", path=str(SHOTS))


def state_of(app: ConveyorTop, job_id: str) -> str | None:
    job = app.jobs.jobs.get(job_id)
    return job.state.value if job else None


async def test_top_shows_the_fleet_and_acts_on_jobs_agents_and_teams(
    server: LiveServer, agents: list, tmp_path: Path, db_url: str
) -> None:
    """The overview shows the agent and a job from queued to succeeded; cancel stops a running
    job's process; a log, a drain, a team switch; 80x24 and 160x48. One server and agent
    for the whole scenario: starting them is most of its time."""
    dialect = db_url.split(":", 1)[0]
    app = dashboard(server)
    async with (
        AsyncClient(server.url, token=server.token) as sdk,
        app.run_test(size=(80, 24)) as pilot,
    ):
        # The agent's queue, paused: it holds the first job queued until the test resumes it.
        await sdk.pause_queue("default")
        await until(pilot, lambda: app.overview.stats, "its first figures")
        assert app.overview.stats.agents.connected == 0
        agents.append(python_agent(server, "top-agent", wait=False))
        await until(pilot, lambda: app.overview.stats.agents.connected == 1, "the agent")
        assert app.overview.stats.agents.slots_total == 2

        # The overview follows a job from queued to succeeded.
        job_id = str((await sdk.submit("e2e.add", {"a": 1, "b": 2})).id)
        await until(pilot, lambda: depth(app.overview.stats, "queued") == 1, "a queued job")
        await until(pilot, lambda: state_of(app, job_id) == "queued", "the job queued")
        shoot(app, f"overview-80x24-{dialect}")
        await sdk.resume_queue("default")
        await until(pilot, lambda: state_of(app, job_id) == "succeeded", "the job succeeded")
        await until(pilot, lambda: depth(app.overview.stats, "queued") == 0, "no queued job")
        await until(pilot, lambda: app.overview.stats.totals.succeeded == 1, "one succeeded")

        # 80x24 over SSH: every table keeps rows to show.
        for table in app.overview.query(DataTable):
            assert table.region.height >= 3, table.id

        # Cancel from the jobs tab stops the running job's process.
        held = str((await sdk.submit("e2e.hold", {"folder": str(tmp_path)})).id)
        pid = int(await until(pilot, lambda: _read(tmp_path / "1.pid"), "the job's process"))
        await pilot.press("2")
        await until(pilot, lambda: state_of(app, held) == "running", "the job running")
        assert app.jobs.query_one(DataTable).region.height >= 10
        table = app.jobs.query_one(DataTable)
        table.move_cursor(row=table.get_row_index(held))
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        shoot(app, f"cancel-confirm-80x24-{dialect}")
        await pilot.press("y")
        await until(pilot, lambda: state_of(app, held) == "cancelled", "the job cancelled")
        assert not _pid_alive(pid)
        shoot(app, f"jobs-80x24-{dialect}")
        drawn = app.refreshed_at
        app.theme = "textual-light"  # a light terminal's choice: the states are redrawn in it
        await until(pilot, lambda: app.refreshed_at != drawn, "a refresh in the light theme")
        shoot(app, f"jobs-80x24-light-{dialect}")

        # The filter: only the action asked for; then the help, and back.
        await pilot.press("slash")
        await until(pilot, lambda: isinstance(app.screen, FilterScreen), "the filter")
        action = app.screen.query_one("#action", Input)
        action.value = "e2e.add"
        action.focus()
        await pilot.press("enter")
        await until(pilot, lambda: list(app.jobs.jobs) == [job_id], "only the e2e.add job")
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "the help")
        await pilot.press("escape")

        # A finished job's log, to its end.
        table.move_cursor(row=table.get_row_index(job_id))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, LogScreen) and app.screen.ended, "a log")
        assert app.screen.job.state.value == "succeeded"
        await pilot.press("escape")

        # Drain the agent from the agents tab, after a confirmation.
        await pilot.press("3", "d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        await pilot.press("y")
        await until(
            pilot, lambda: app.agents.selected() and app.agents.selected().draining, "drain"
        )

        # Switch to another team: its (empty) job list replaces this one's.
        await sdk.create_team("ops", "Operations")
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, TeamScreen), "the team list")
        app.screen.query_one(OptionList).highlighted = [t.slug for t in app.screen.teams].index(
            "ops"
        )
        await pilot.press("enter")
        await until(pilot, lambda: app.team_name == "ops" and not app.jobs.jobs, "team ops")

        # …and it scales to a large terminal.
        await pilot.press("2")
        await pilot.resize_terminal(160, 48)
        await pilot.pause()
        assert table.region.width > 150
        shoot(app, f"jobs-160x48-{dialect}")
