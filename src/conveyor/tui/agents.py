"""The agents pane: each agent's status, busy slots, host and version."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable

from conveyor.sdk.models import Agent
from conveyor.tui.cells import ago, painted, plain, refill, selected_key


class AgentsPane(Vertical):
    DEFAULT_CSS = """
    AgentsPane DataTable { height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.agents: dict[str, Agent] = {}

    def compose(self) -> ComposeResult:
        table: DataTable[Text] = DataTable(id="agents", cursor_type="row", zebra_stripes=True)
        table.add_columns("NAME", "STATUS", "BUSY", "HOST", "VERSION", "SEEN")
        yield table

    def show(self, agents: list[Agent]) -> None:
        self.agents = {str(a.id): a for a in agents}
        rows = [(str(a.id), [plain(a.name), self._status(a), Text(f"{a.slots_busy}/{a.slots}"),
                             plain(a.host or "-"), plain(a.version or "-"),
                             Text(ago(a.last_seen_at))])
                for a in sorted(agents, key=lambda a: (not a.connected, a.name))]  # fmt: skip
        refill(self.query_one(DataTable), rows)

    def selected(self) -> Agent | None:
        return self.agents.get(selected_key(self.query_one(DataTable)) or "")

    def _status(self, agent: Agent) -> Text:
        if agent.connected and agent.draining:
            return painted(self.app, "draining", "warning")
        if agent.connected:
            return painted(self.app, "online", "success")
        return painted(self.app, "offline" + " (draining)" * agent.draining, None, dim=True)
