"""A job's live log: the lines so far, then new ones as the agent sends them."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Log, Static

from conveyor.errors import ConveyorError
from conveyor.sdk.models import Job
from conveyor.tui.cells import one_line, state
from conveyor.tui.source import Source

LINES_KEPT = 5000  # the screen keeps the newest lines; `conveyor logs ID` prints all of them


class LogScreen(Screen[None]):
    DEFAULT_CSS = """
    LogScreen #log-title { height: auto; max-height: 3; background: $panel; padding: 0 1; }
    LogScreen Log { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "app.pop_screen", "back")]

    def __init__(self, source: Source, job: Job) -> None:
        super().__init__()
        self.source, self.job = source, job
        self.lines_seen = 0
        self.ended = False  # the job is over and its whole log is on screen

    def compose(self) -> ComposeResult:
        yield Static(id="log-title")
        yield Log(max_lines=LINES_KEPT, auto_scroll=True)
        yield Footer()

    def on_mount(self) -> None:
        self._title()
        self.run_worker(self._follow(), exclusive=True)

    async def _follow(self) -> None:
        log = self.query_one(Log)
        try:
            async for line in self.source.follow_log(str(self.job.id)):
                log.write_line(f"[{line.attempt}] {line.text}")
                self.lines_seen += 1
            self.job = await self.source.job(str(self.job.id))
        except ConveyorError as exc:
            log.write_line(f"-- the log stopped: {exc}")
            return
        self._title()
        log.write_line(f"-- end of log: the job is {self.job.state.value}")
        self.ended = True

    def _title(self) -> None:
        job = self.job
        title = Text.assemble(f"{job.action}  {job.id}  ", state(self.app, job.state.value),
                              f"  attempt {job.attempt}/{job.max_attempts}")  # fmt: skip
        if job.error:
            title.append(f"\n{one_line(job.error, 300)}")
        self.query_one("#log-title", Static).update(title)
