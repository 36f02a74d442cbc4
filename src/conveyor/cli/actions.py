"""``conveyor actions [list]``: what the team's agents can run, and what each action does."""

from __future__ import annotations

from typing import Annotated

import typer

from conveyor.cli import config
from conveyor.cli.output import JSON_HELP, console, escape, handles_errors, print_json, table

app = typer.Typer(
    invoke_without_command=True,
    help="The team's action catalog: names, descriptions, and the agents offering each.",
)

JsonOption = Annotated[bool, typer.Option("--json", help=JSON_HELP)]


@app.callback(invoke_without_command=True)
def default(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List the team's actions (``conveyor actions`` is ``conveyor actions list``)."""
    if ctx.invoked_subcommand is None:
        list_actions(as_json)


@app.command("list")
@handles_errors
def list_actions(as_json: JsonOption = False) -> None:
    """List the actions agents of the team offer (or offered), with their descriptions."""
    with config.client() as client:
        found = client.actions()
    if as_json:
        print_json(found)
        return
    if not found:
        console.print("No actions yet: they appear when an agent connects and offers them.")
        return
    rows = [
        [escape(a.name), escape(a.description or "-"), escape(", ".join(a.agents) or "-"),
         str(len(a.versions))]
        for a in found
    ]  # fmt: skip
    table(
        ["NAME", "DESCRIPTION", "OFFERED BY", "VERSIONS"],
        rows,
        wrap={"DESCRIPTION", "OFFERED BY"},
        optional={"VERSIONS"},
    )
