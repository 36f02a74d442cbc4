"""``conveyor actions [list]``: what the team's agents can run, and what each action does;
``actions set NAME --concurrency N``: how many of its jobs run at once."""

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
         str(len(a.versions)), str(a.concurrency_limit or "-")]
        for a in found
    ]  # fmt: skip
    table(
        ["NAME", "DESCRIPTION", "OFFERED BY", "VERSIONS", "CONCURRENCY"],
        rows,
        wrap={"DESCRIPTION", "OFFERED BY"},
        optional={"VERSIONS", "CONCURRENCY"},
    )


@app.command("set")
@handles_errors
def set_limit(
    name: Annotated[str, typer.Argument(help="The action's name.", show_default=False)],
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency",
            min=1,
            help="At most this many of its jobs run at once.",
            show_default=False,
        ),
    ] = None,
    no_concurrency: Annotated[
        bool, typer.Option("--no-concurrency", help="Lift the concurrency limit.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Limit how many jobs of an action run at once across the team's agents."""
    if (concurrency is None) == (not no_concurrency):
        raise typer.BadParameter("give --concurrency N or --no-concurrency")
    with config.client() as client:
        action = client.set_action_limit(name, concurrency)
    if as_json:
        print_json(action)
    else:
        limit = action.concurrency_limit
        console.print(
            f"Action {escape(action.name)}: "
            + (f"at most {limit} running." if limit else "no concurrency limit.")
        )
