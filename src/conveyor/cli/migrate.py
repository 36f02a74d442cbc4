"""``conveyor migrate``: bring a database to this version's schema, or say where it is."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from conveyor.cli.output import JsonOption, print_json
from conveyor.errors import ConveyorError
from conveyor.settings import StoreSettings

if TYPE_CHECKING:
    from conveyor.store import DatabaseProbe

# `conveyor migrate --check` exit codes (docs/operations.md#rolling-upgrades).
CURRENT, BEHIND, AHEAD, UNKNOWN = 0, 1, 2, 3
EXIT_CODES = {"current": CURRENT, "behind": BEHIND, "ahead": AHEAD}


def migrate(
    database_url: Annotated[
        str | None,
        typer.Option(help="Database URL [env: CONVEYOR_DATABASE_URL]", show_default=False),
    ] = None,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Change nothing: say whether the database is current (exit 0), behind "
            "(1: migrations pending), ahead (2: a newer Conveyor migrated it) or could "
            "not be read (3)",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Upgrade the database to the newest schema (safe to run from several places at once)."""
    url = database_url or StoreSettings().database_url
    if check:
        _check(url, as_json)
        return
    from conveyor.private_files import private_umask
    from conveyor.store import migrate as schema
    from conveyor.store import upgrade_schema

    private_umask()  # a SQLite database made here holds the signing keys
    try:
        done = upgrade_schema(url)
    except ConveyorError as exc:
        typer.secho(f"error: {exc.message}", err=True, fg="red")
        raise typer.Exit(1) from None
    if as_json:
        print_json({"from": done.before, "to": done.after, "migrated": done.migrated})
    elif not done.migrated and done.after != schema.head_revision():
        typer.echo(
            f"nothing to migrate: the database is at {done.after}, newer than this version "
            f"({schema.head_revision()}) and compatible with it"
        )
    elif not done.migrated:
        typer.echo(f"schema is up to date (revision {done.after})")
    else:
        typer.echo(f"migrated schema from {done.before or 'empty'} to {done.after}")


def _check(url: str, as_json: bool) -> None:
    """Read-only: classify the database's revision against this version's."""
    from conveyor.store import DatabaseMissing, probe_database
    from conveyor.store import migrate as schema

    try:
        probe: DatabaseProbe | None = probe_database(url)
    except DatabaseMissing:
        probe = None  # `conveyor migrate` would create it: everything is pending
    except ConveyorError as exc:
        typer.secho(f"error: {exc.message}", err=True, fg="red")
        raise typer.Exit(UNKNOWN) from None
    if probe is None:
        revision, head, pending = None, schema.head_revision(), schema.pending_revisions(None)
    else:
        revision, head, pending = probe.revision, probe.head, probe.pending
    newer = probe.newer if probe is not None else None
    state = "ahead" if newer is not None else "behind" if pending else "current"
    report: dict[str, Any] = {
        "state": state,
        "revision": revision,
        "head": head,
        "pending": [{"revision": r.revision, "title": r.title} for r in pending],
        # May a server of this version run on the database as it is, unmigrated?
        "compatible": state == "current" or (newer is not None and newer.compatible),
        "oldest_server": newer.oldest_server if newer is not None else None,
    }
    if as_json:
        print_json(report)
    else:
        typer.echo(_describe(report))
    raise typer.Exit(EXIT_CODES[state])


def _describe(report: dict[str, Any]) -> str:
    at, head = report["revision"] or "empty", report["head"]
    if report["state"] == "current":
        return f"current: the database is at this version's schema ({head})"
    if report["state"] == "behind":
        pending = report["pending"]
        names = ", ".join(f"{p['revision']} {p['title']}" for p in pending)
        if len(pending) > 3:
            names = f"{len(pending)} migrations, {pending[0]['revision']} to {head}"
        return (
            f"behind: the database is at {at}, this version's schema is {head}; "
            f"pending: {names}. Run `conveyor migrate` (the server also migrates when it starts)"
        )
    if report["compatible"]:
        return (
            f"ahead: the database is at {at}, newer than this version knows ({head}), and "
            f"compatible with it (servers from {report['oldest_server']} on): this version "
            "runs on it; upgrade it to finish the rolling upgrade"
        )
    return (
        f"ahead: the database is at {at}, newer than this version knows ({head}), and this "
        "version's server refuses it: upgrade Conveyor on this machine"
    )
