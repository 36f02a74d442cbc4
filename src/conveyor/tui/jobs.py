"""The jobs pane: one page of the team's jobs, newest first, under the chosen filters."""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from conveyor.sdk.models import Job
from conveyor.tui.cells import ago, plain, refill, selected_key, state
from conveyor.tui.source import JobFilters


class JobsPane(Vertical):
    DEFAULT_CSS = """
    JobsPane #jobs-filter { height: 1; color: $text-muted; }
    JobsPane DataTable { height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.filters = JobFilters()
        self.jobs: dict[str, Job] = {}

    def compose(self) -> ComposeResult:
        yield Static(id="jobs-filter", markup=False)
        table: DataTable[Text] = DataTable(id="jobs", cursor_type="row", zebra_stripes=True)
        table.add_columns("ID", "STATE", "ACTION", "QUEUE", "TRY", "AGE", "AGENT")
        yield table

    def show(self, jobs: list[Job], agent_names: Mapping[str, str] | None = None) -> None:
        """``agent_names``: agent id to name, for the AGENT column."""
        self.jobs = {str(j.id): j for j in jobs}
        self.query_one("#jobs-filter", Static).update(
            f"{len(jobs)} newest jobs · filter: {self.filters.describe()}  (/ to change)"
        )
        names = agent_names or {}
        rows = [(str(j.id), self._cells(j, names)) for j in jobs]
        refill(self.query_one(DataTable), rows)

    def selected(self) -> Job | None:
        return self.jobs.get(selected_key(self.query_one(DataTable)) or "")

    def _cells(self, job: Job, agent_names: Mapping[str, str]) -> list[Text]:
        cancelling = "…" if job.cancel_requested and not job.is_terminal else ""
        agent = agent_names.get(str(job.agent_id), str(job.agent_id)[-8:]) if job.agent_id else "-"
        # Ids are UUIDv7: their first characters are a timestamp, the last ones tell jobs apart.
        return [Text("…" + str(job.id)[-8:]), state(self.app, job.state.value, cancelling), plain(job.action),
                plain(job.queue), Text(f"{job.attempt}/{job.max_attempts}"),
                Text(ago(job.created_at)), Text(agent)]  # fmt: skip
