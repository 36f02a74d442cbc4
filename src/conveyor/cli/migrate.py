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
    from conveyor.store import migrate as migrations
    from conveyor.store.database import Database

    url = database_url or StoreSettings().database_url
    engine = Database.sync_engine_for(url)
    try:
        before = migrations.current_revision(engine)
        migrations.upgrade(engine)
        after = migrations.current_revision(engine)
    except ConveyorError as exc:
        typer.secho(f"error: {exc.message}", err=True, fg="red")
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    if as_json:
        print_json({"from": before, "to": after, "migrated": before != after})
    elif before == after:
        typer.echo(f"schema is up to date (revision {after})")
    else:
        typer.echo(f"migrated schema from {before or 'empty'} to {after}")
