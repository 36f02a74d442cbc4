"""``ConveyorTop``: the dashboard's tabs, keys and live refresh.

A refresh reads the stats, one page of jobs and the agents (three API calls). It
runs every ``interval`` seconds and, sooner, after each change the team's event
stream reports, gathered over a short pause so a burst of events costs one refresh.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, ClassVar, TypeVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.widgets import DataTable, Footer, Static, TabbedContent, TabPane

from conveyor.errors import ConveyorError
from conveyor.sdk.models import Job
from conveyor.tui.agents import AgentsPane
from conveyor.tui.dialogs import ConfirmScreen, FilterScreen, HelpScreen, TeamScreen
from conveyor.tui.jobs import JobsPane
from conveyor.tui.logview import LogScreen
from conveyor.tui.overview import OverviewPane
from conveyor.tui.source import JobFilters, Source

T = TypeVar("T")
BURST_S = 0.1  # after an event, wait this long for the rest of its burst before reading


class ConveyorTop(App[None]):
    TITLE = "conveyor top"
    CSS = """
    #status { height: 1; background: $panel; color: $foreground; padding: 0 1; }
    TabbedContent { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "quit"),
        Binding("question_mark", "help", "help"),
        Binding("1", "tab('overview')", "overview", show=False),
        Binding("2", "tab('jobs')", "jobs", show=False),
        Binding("3", "tab('agents')", "agents", show=False),
        Binding("slash", "filter", "filter"),
        Binding("l", "log", "log"),
        Binding("c", "cancel", "cancel"),
        Binding("r", "retry", "retry"),
        Binding("d", "drain", "drain"),
        Binding("t", "team", "team"),
    ]

    def __init__(self, source: Source, *, interval: float = 2.0) -> None:
        super().__init__()
        self.source = source
        self.interval = interval
        self.team_name = ""
        self.problem: str | None = None  # the last refresh's error, shown until one works
        self.live_problem: str | None = None  # why the event stream stopped, if it did
        self.refreshed_at: datetime | None = None
        self._wake = asyncio.Event()

    def compose(self) -> ComposeResult:
        yield Static(id="status")
        with TabbedContent(initial="overview"):
            with TabPane("1 Overview", id="overview"):
                yield OverviewPane()
            with TabPane("2 Jobs", id="jobs"):
                yield JobsPane()
            with TabPane("3 Agents", id="agents"):
                yield AgentsPane()
        yield Footer()

    @property
    def overview(self) -> OverviewPane:
        return self.query_one(OverviewPane)

    @property
    def jobs(self) -> JobsPane:
        return self.query_one(JobsPane)

    @property
    def agents(self) -> AgentsPane:
        return self.query_one(AgentsPane)

    def on_mount(self) -> None:
        self._show_status()
        self._go_live()
        # Cells carry the theme's colours as they were when drawn: redraw them in the new ones.
        self.theme_changed_signal.subscribe(self, lambda _: self._wake.set())

    async def on_unmount(self) -> None:
        await self.source.close()

    # live refresh

    def _go_live(self) -> None:
        self.run_worker(self._refresh_loop(), group="live")
        self.run_worker(self._listen(), group="live", exit_on_error=False)

    async def _refresh_loop(self) -> None:
        await self._learn_team()
        while True:
            self._wake.clear()
            await self.refresh_now()
            try:
                await asyncio.wait_for(self._wake.wait(), self.interval)
                await asyncio.sleep(BURST_S)
            except TimeoutError:
                pass

    async def _listen(self) -> None:
        """Wake the refresh at each change; the SDK reopens a dropped stream by itself."""
        try:
            async for _ in self.source.changes():
                self._wake.set()
        except ConveyorError as exc:  # e.g. refused: the timer alone refreshes from now on
            self.live_problem = f"no live updates: {exc}"
            self._show_status()

    async def _learn_team(self) -> None:
        try:
            team = await self.source.client.get_team()
        except ConveyorError as exc:
            self.problem = str(exc)
        else:
            self.team_name = team.slug
        self._show_status()

    async def refresh_now(self) -> None:
        """Read everything once; a failing call leaves its pane as it was and says why."""
        problems = [
            await _shown(self.source.stats(), self.overview.show),
            await _shown(self.source.agents(), self.agents.show),
            await _shown(self.source.jobs(self.jobs.filters), self._show_jobs),
        ]
        self.problem = next((p for p in problems if p), None)
        self.refreshed_at = datetime.now()
        self._show_status()

    def _show_jobs(self, jobs: list[Job]) -> None:
        self.jobs.show(jobs, {agent_id: a.name for agent_id, a in self.agents.agents.items()})

    def _show_status(self) -> None:
        parts = [self.source.server, f"team {self.team_name or self.source.team or '…'}"]
        if self.refreshed_at:
            parts.append(f"updated {self.refreshed_at:%H:%M:%S}")
        line = Text("  ·  ".join(parts))
        for problem in (self.problem, self.live_problem):
            if problem:
                line.append(f"  ·  {problem}", style=self.get_css_variables().get("error", ""))
        self.query_one("#status", Static).update(line)

    # keys

    def action_tab(self, name: str) -> None:
        self.query_one(TabbedContent).active = name

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        tables = event.pane.query(DataTable)
        if tables:
            tables.last().focus()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_filter(self) -> None:
        def chosen(filters: JobFilters | None) -> None:
            if filters is not None:
                self.jobs.filters = filters
                self.action_tab("jobs")
                self._wake.set()

        self.push_screen(FilterScreen(self.jobs.filters), chosen)

    async def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id in ("jobs", "failures"):
            await self.action_log()

    async def action_log(self) -> None:
        job = await self._selected_job()
        if job is not None:
            self.push_screen(LogScreen(self.source, job))

    async def action_cancel(self) -> None:
        job = await self._selected_job()
        if job is None:
            return
        if job.is_terminal:
            self.notify(f"The job is already {job.state.value}.", severity="warning")
            return
        question = f"Cancel job {job.action} ({job.id}), {job.state.value}?"
        self._confirm(question, lambda: self.source.cancel(str(job.id)), "Cancel requested")

    async def action_retry(self) -> None:
        job = await self._selected_job()
        if job is not None:
            await self._act(self.source.retry(str(job.id)), f"Retrying {job.action}")

    async def action_drain(self) -> None:
        agent = self.agents.selected() if self._tab() == "agents" else None
        if agent is None:
            self.notify(
                "Drain works on the agents tab (3): highlight an agent.", severity="warning"
            )
            return
        question = f"Drain agent {agent.name}? It finishes its running jobs and takes no new ones."
        self._confirm(question, lambda: self.source.drain(str(agent.id)), f"Draining {agent.name}")

    async def action_team(self) -> None:
        try:
            teams = await self.source.teams()
        except ConveyorError as exc:
            self.notify(str(exc), severity="error")
            return

        async def chosen(team: str | None) -> None:
            if team is None or team == self.source.team:
                return
            self.workers.cancel_group(self, "live")  # before their client is closed
            await self.source.switch_team(team)
            self.team_name, self.live_problem = "", None
            self._go_live()

        self.push_screen(TeamScreen(teams, self.source.team or self.team_name), chosen)

    # helpers

    def _tab(self) -> str:
        return self.query_one(TabbedContent).active

    async def _selected_job(self) -> Job | None:
        """The highlighted job of the jobs tab, or of the overview's recent failures."""
        job: Job | None = None
        if self._tab() == "jobs":
            job = self.jobs.selected()
        elif self._tab() == "overview" and (failed := self.overview.selected_failure()):
            try:
                job = await self.source.job(failed)
            except ConveyorError as exc:
                self.notify(str(exc), severity="error")
                return None
        if job is None:
            self.notify("Highlight a job first (jobs tab: 2).", severity="warning")
        return job

    def _confirm(self, question: str, act: Callable[[], Awaitable[Any]], done: str) -> None:
        async def answered(yes: bool | None) -> None:
            if yes:
                await self._act(act(), done)

        self.push_screen(ConfirmScreen(question), answered)

    async def _act(self, call: Awaitable[Any], done: str) -> None:
        try:
            await call
        except ConveyorError as exc:
            self.notify(str(exc), severity="error")
            return
        self.notify(done)
        self._wake.set()


async def _shown(read: Awaitable[T], show: Callable[[T], None]) -> str | None:
    """Show what ``read`` answers; on an error keep what is shown and return the message."""
    try:
        answer = await read
    except ConveyorError as exc:
        return str(exc)
    with contextlib.suppress(NoMatches):  # the app is closing: its panes are gone
        show(answer)
    return None
