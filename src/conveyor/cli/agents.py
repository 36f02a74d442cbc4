"""``conveyor agents``: which agents the team has, what they offer, whether they are online."""

from __future__ import annotations

from typing import Annotated

import typer

from conveyor.cli import config
from conveyor.cli.output import JSON_HELP, console, escape, handles_errors, print_json, table, when
from conveyor.sdk.models import Agent


@handles_errors
def agents(as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False) -> None:
    """List the team's agents."""
    with config.client() as client:
        found = client.agents()
    if as_json:
        print_json(found)
        return
    if not found:
        console.print("No agents yet: start one with `conveyor agent --server URL --key KEY`.")
        return
    rows = [
        [escape(a.name), _status(a), str(a.slots), escape(_labels(a.labels)), escape(_actions(a)),
         when(a.last_seen_at)]
        for a in sorted(found, key=lambda a: (not a.connected, a.name))
    ]  # fmt: skip
    columns = ["NAME", "STATUS", "SLOTS", "LABELS", "ACTIONS", "LAST SEEN"]
    table(columns, rows, wrap={"LABELS", "ACTIONS"})


def _status(agent: Agent) -> str:
    if not agent.connected:
        return "[dim]offline[/dim]"
    return "[yellow]draining[/yellow]" if agent.draining else "[green]online[/green]"


def _actions(agent: Agent) -> str:
    names = sorted({str(a.get("name")) for a in agent.actions if a.get("name")})
    return ", ".join(names) or "-"


def _labels(labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or "-"
