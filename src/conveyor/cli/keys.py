"""``conveyor keys create``: API keys for agents and scripts, shown once."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from conveyor.cli import config
from conveyor.cli.output import JSON_HELP, console, err_console, escape, handles_errors, print_json

app = typer.Typer(no_args_is_help=True, help="Manage API keys for agents and scripts.")


class KeyKind(StrEnum):
    agent = "agent"
    client = "client"


@app.command("create")
@handles_errors
def create(
    kind: Annotated[KeyKind, typer.Option(help="`agent` to run an agent, `client` for scripts.")],
    name: Annotated[str, typer.Option(help="What the key is for (shown in lists and audit).")],
    scope: Annotated[
        list[str] | None,
        typer.Option(
            "--scope",
            help="A permission the key gets, e.g. jobs:create; repeatable [default: the kind's].",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Create an API key and print it once: it cannot be shown again."""
    with config.client() as client:
        key = client.create_key(kind.value, name, scopes=scope)
    if as_json:
        print_json(key)
        return
    scopes = ", ".join(key.scopes) or "-"
    err_console.print(
        f"Created {escape(key.kind)} key {escape(key.name)} (id {key.id}, scopes: {escape(scopes)}).\n"
        "Copy it now: it is not shown again."
    )
    console.print(key.secret or "", markup=False, highlight=False, soft_wrap=True)
