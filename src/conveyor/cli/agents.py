"""``conveyor agents [list]``, ``agents drain ID``: the team's agents, and draining one."""

from __future__ import annotations

from typing import Annotated

import typer

from conveyor.cli import config
from conveyor.cli.output import JSON_HELP, console, escape, handles_errors, print_json, table, when
from conveyor.sdk.models import Agent

app = typer.Typer(
    invoke_without_command=True,
    help="The team's agents: list them (the default) or drain one.",
)

JsonOption = Annotated[bool, typer.Option("--json", help=JSON_HELP)]


@app.callback(invoke_without_command=True)
def default(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List the team's agents (``conveyor agents`` is ``conveyor agents list``)."""
    if ctx.invoked_subcommand is None:
        list_agents(as_json)


@app.command("list")
@handles_errors
def list_agents(as_json: JsonOption = False) -> None:
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
        [str(a.id), escape(a.name), _status(a), f"{a.slots_busy}/{a.slots}",
         escape(a.host or "-"), escape(a.version or "-"), escape(_labels(a.labels)),
         escape(_actions(a)), when(a.last_seen_at)]
        for a in sorted(found, key=lambda a: (not a.connected, a.name))
    ]  # fmt: skip
    columns = ["ID", "NAME", "STATUS", "BUSY", "HOST", "VERSION", "LABELS", "ACTIONS", "LAST SEEN"]
    table(columns, rows, wrap={"LABELS", "ACTIONS"}, optional={"ID", "VERSION", "LABELS", "HOST"})


@app.command("drain")
@handles_errors
def drain(
    agent_id: Annotated[str, typer.Argument(help="The agent's id (see `conveyor agents --json`).")],
    as_json: JsonOption = False,
) -> None:
    """Drain an agent: it finishes its running jobs and takes no new ones (even after a reconnect)."""
    with config.client() as client:
        agent = client.drain(agent_id)
    if as_json:
        print_json(agent)
    else:
        console.print(
            f"Draining agent {escape(agent.name)} ({agent.id}): "
            "it finishes its running jobs and takes no new ones."
        )


def _status(agent: Agent) -> str:
    if not agent.connected:
        return "[dim]offline[/dim]" + (" [yellow](draining)[/yellow]" if agent.draining else "")
    return "[yellow]draining[/yellow]" if agent.draining else "[green]online[/green]"


def _actions(agent: Agent) -> str:
    names = sorted({str(a.get("name")) for a in agent.actions if a.get("name")})
    return ", ".join(names) or "-"


def _labels(labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or "-"
