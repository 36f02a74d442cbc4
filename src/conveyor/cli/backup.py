"""``conveyor backup``: copy the database while the server runs (docs/operations.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from conveyor.cli.output import JsonOption, print_json
from conveyor.errors import ConveyorError
from conveyor.settings import StoreSettings


def backup(
    dest: Annotated[Path, typer.Argument(help="The backup file to write", show_default=False)],
    database_url: Annotated[
        str | None,
        typer.Option(help="Database URL [env: CONVEYOR_DATABASE_URL]", show_default=False),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite DEST when it exists")] = False,
    as_json: JsonOption = False,
) -> None:
    """Back up the database: SQLite with its online backup API, PostgreSQL with
    `pg_dump --format=custom` (restore with `pg_restore`). Safe while servers run."""
    from conveyor.private_files import private_umask
    from conveyor.store import backup_database

    private_umask()  # the copy holds the signing keys
    try:
        done = backup_database(database_url or StoreSettings().database_url, dest, force=force)
    except ConveyorError as exc:
        typer.secho(f"error: {exc.message}", err=True, fg="red")
        raise typer.Exit(1) from None
    if as_json:
        print_json(
            {"dialect": done.dialect, "path": str(done.path), "bytes": done.bytes,
             "seconds": round(done.seconds, 3), "revision": done.revision}
        )  # fmt: skip
        return
    restore = (
        "stop the server and copy it over the database file (delete its -wal and -shm files)"
        if done.dialect == "sqlite"
        else f"pg_restore --no-owner --dbname <new database> {done.path}"
    )
    typer.echo(
        f"backed up {done.dialect} schema {done.revision or 'empty'} to {done.path} "
        f"({done.bytes:,} bytes, {done.seconds:.1f} s); to restore: {restore}"
    )
