"""``conveyor migrate``: bring a database to this version's schema."""

from __future__ import annotations

from typing import Annotated

import typer

from conveyor.cli.output import JsonOption, print_json
from conveyor.errors import ConveyorError
from conveyor.settings import StoreSettings


def migrate(
    database_url: Annotated[
        str | None,
        typer.Option(help="Database URL [env: CONVEYOR_DATABASE_URL]", show_default=False),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Upgrade the database to the newest schema (safe to run from several places at once)."""
    from conveyor.private_files import private_umask
    from conveyor.store import upgrade_schema

    private_umask()  # a SQLite database made here holds the signing keys
    try:
        done = upgrade_schema(database_url or StoreSettings().database_url)
    except ConveyorError as exc:
        typer.secho(f"error: {exc.message}", err=True, fg="red")
        raise typer.Exit(1) from None
    if as_json:
        print_json({"from": done.before, "to": done.after, "migrated": done.migrated})
    elif not done.migrated:
        typer.echo(f"schema is up to date (revision {done.after})")
    else:
        typer.echo(f"migrated schema from {done.before or 'empty'} to {done.after}")
