"""The ``conveyor`` command line (Typer). One module per command group."""

from __future__ import annotations

import typer

from conveyor.cli import migrate

app = typer.Typer(no_args_is_help=True, help="Conveyor: run background work on a fleet of agents.")
app.command("migrate")(migrate.migrate)


@app.callback()
def _root() -> None:
    """Conveyor: run background work on a fleet of agents."""


def main() -> None:
    app()
