"""The overview pane: throughput, queue depths, agents and busy slots, recent failures."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Label, Sparkline, Static

from conveyor.tui.cells import ago, one_line, painted, plain, refill, selected_key, state
from conveyor.tui.figures import DEPTH_STATES, Figures


class OverviewPane(Vertical):
    """Everything here comes from one ``GET /api/v1/stats`` per refresh."""

    DEFAULT_CSS = """
    OverviewPane { height: 1fr; }
    OverviewPane #summary { height: 1; }
    OverviewPane .title { height: 1; color: $text-muted; text-style: bold; }
    OverviewPane Sparkline { height: 2; margin: 0 1; }
    OverviewPane DataTable { height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.figures: Figures | None = None

    def compose(self) -> ComposeResult:
        yield Static("connecting…", id="summary")
        yield Label("Jobs finished per minute", id="throughput-title", classes="title")
        yield Sparkline([], id="throughput")
        yield Label("Queues", classes="title")
        queues: DataTable[Text] = DataTable(id="queues", cursor_type="none", zebra_stripes=True)
        queues.add_columns("QUEUE", *(s.upper() for s in DEPTH_STATES), "WAIT p95")
        yield queues
        yield Label("Recent failures", classes="title")
        failures: DataTable[Text] = DataTable(id="failures", cursor_type="row")
        failures.add_columns("WHEN", "ACTION", "QUEUE", "ERROR")
        yield failures

    def show(self, figures: Figures) -> None:
        self.figures = figures
        self.query_one("#summary", Static).update(self._summary(figures))
        title = f"Jobs finished per minute ({figures.window or 'recent'})"
        self.query_one("#throughput-title", Label).update(title)
        self.query_one(Sparkline).data = list(figures.finished_per_minute) or [0]
        self._show_queues(figures)
        self._show_failures(figures)

    def selected_failure(self) -> str | None:
        """The job id of the highlighted recent failure, if any."""
        return selected_key(self.query_one("#failures", DataTable))

    def _summary(self, figures: Figures) -> Text:
        agents = painted(self.app, f"{figures.agents_connected} agents", "success"
                         if figures.agents_connected else "error", bold=True)  # fmt: skip
        return Text.assemble(
            agents, f" · slots {figures.slots_busy}/{figures.slots_total} busy · ",
            f"{figures.submitted} submitted, ", state(self.app, "succeeded"),
            f" {figures.succeeded}, ", painted(self.app, "failed", "error"), f" {figures.failed}",
        )  # fmt: skip

    def _show_queues(self, figures: Figures) -> None:
        rows = []
        for queue in figures.queues:
            wait = "-" if queue.wait_p95_s is None else f"{queue.wait_p95_s:.1f}s"
            counts = [Text(str(queue.depth.get(s, 0))) for s in DEPTH_STATES]
            rows.append((queue.name, [plain(queue.name), *counts, Text(wait)]))
        refill(self.query_one("#queues", DataTable), rows)

    def _show_failures(self, figures: Figures) -> None:
        rows = [(f.job_id, [Text(ago(f.finished_at)), plain(f.action), plain(f.queue),
                            plain(one_line(f.error, 120))]) for f in figures.failures]  # fmt: skip
        refill(self.query_one("#failures", DataTable), rows)
