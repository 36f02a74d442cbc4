"""The overview pane: throughput, queue depths, agents and busy slots, recent failures."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Label, Sparkline, Static

from conveyor.sdk.stats_models import Stats, StatsMinute
from conveyor.tui.cells import ago, one_line, painted, plain, refill, selected_key, state

DEPTH_STATES = ("queued", "running", "scheduled", "pending", "dead")


def finished(minute: StatsMinute) -> int:
    """Jobs that ended in that minute, whatever the outcome."""
    return minute.succeeded + minute.failed + minute.cancelled


def depth(stats: Stats, state: str) -> int:
    """Jobs in ``state`` now, over all the team's queues."""
    return sum(queue.depth.get(state, 0) for queue in stats.queues)


class OverviewPane(Vertical):
    """Everything here comes from one ``GET /api/v1/stats`` per refresh: the server keeps
    per-minute rollups, so that costs it no scan of the jobs table."""

    DEFAULT_CSS = """
    OverviewPane { height: 1fr; }
    OverviewPane #summary { height: 1; }
    OverviewPane .title { height: 1; color: $text-muted; text-style: bold; }
    OverviewPane Sparkline { height: 2; margin: 0 1; }
    OverviewPane DataTable { height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.stats: Stats | None = None

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

    def show(self, stats: Stats) -> None:
        self.stats = stats
        self.query_one("#summary", Static).update(self._summary(stats))
        per_minute = [finished(m) for m in stats.throughput]
        title = f"Jobs finished per minute, last {stats.window}: {sum(per_minute)}"
        self.query_one("#throughput-title", Label).update(title)
        self.query_one(Sparkline).data = per_minute if any(per_minute) else []
        self._show_queues(stats)
        self._show_failures(stats)

    def selected_failure(self) -> str | None:
        """The job id of the highlighted recent failure, if any."""
        return selected_key(self.query_one("#failures", DataTable))

    def _summary(self, stats: Stats) -> Text:
        agents, totals = stats.agents, stats.totals
        connected = painted(self.app, f"agents {agents.connected}",
                            "success" if agents.connected else "error", bold=True)  # fmt: skip
        return Text.assemble(
            connected, f" · slots busy {agents.slots_busy}/{agents.slots_total}",
            f" · last {stats.window}: submitted {totals.submitted} · ",
            state(self.app, "succeeded"), f" {totals.succeeded} · ",
            painted(self.app, "failed", "error"), f" {totals.failed}",
        )  # fmt: skip

    def _show_queues(self, stats: Stats) -> None:
        rows = []
        for queue in stats.queues:
            p95 = queue.wait_seconds.p95
            wait = "-" if p95 is None else f"{p95:.1f}s"
            counts = [Text(str(queue.depth.get(s, 0))) for s in DEPTH_STATES]
            rows.append((queue.queue, [plain(queue.queue), *counts, Text(wait)]))
        refill(self.query_one("#queues", DataTable), rows)

    def _show_failures(self, stats: Stats) -> None:
        rows = [(str(f.job_id), [Text(ago(f.finished_at)), plain(f.action), plain(f.queue),
                                 plain(one_line(f.error, 120))])
                for f in stats.recent_failures]  # fmt: skip
        refill(self.query_one("#failures", DataTable), rows)
