"""``conveyor audit``: read the team's audit log (who changed what, when, from where)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from conveyor.cli import config
from conveyor.cli.output import JSON_HELP, console, escape, fail, handles_errors, print_json, table
from conveyor.sdk.models import AuditEvent


def _time(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise fail(f"{option} takes an ISO time like 2026-01-31T12:00:00Z, not {value!r}") from None
    if parsed.tzinfo is None:
        raise fail(f"{option} needs a time zone (e.g. a trailing Z for UTC)")
    return parsed


@handles_errors
def audit(
    actor: Annotated[str | None, typer.Option(help="A user id or key id.")] = None,
    action: Annotated[
        str | None, typer.Option(help='An action (jobs.cancel) or a prefix ending in "." (jobs.).')
    ] = None,
    object_type: Annotated[
        str | None, typer.Option(help="job, agent, queue, api_key, user…")
    ] = None,
    object_id: Annotated[str | None, typer.Option(help="The object's id (or queue name).")] = None,
    since: Annotated[str | None, typer.Option(help="From this ISO time on.")] = None,
    until: Annotated[str | None, typer.Option(help="Before this ISO time.")] = None,
    outcome: Annotated[
        str | None, typer.Option(help="success, failure, or an error code (permission_denied).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many rows.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Show the team's audit log, newest first (needs the audit:read permission)."""
    start, end = _time(since, "--since"), _time(until, "--until")
    with config.client() as client:
        found = client.audit(
            actor=actor, action=action, object_type=object_type, object_id=object_id,
            since=start, until=end, outcome=outcome, limit=limit,
        )  # fmt: skip
    if as_json:
        print_json(found)
        return
    if not found:
        console.print("No audit entries match.")
        return
    rows = [_row(event) for event in found]
    columns = ["WHEN", "ACTOR", "ACTION", "OBJECT", "OUTCOME", "FROM"]
    table(columns, rows, wrap={"ACTOR", "OBJECT"}, optional={"FROM"})


def _row(event: AuditEvent) -> list[str]:
    target = f"{event.object_type}:{event.object_id}" if event.object_type else "-"
    if event.object_type and not event.object_id:
        target = f"{event.object_type} x{(event.details or {}).get('count', '?')}"
    outcome = (
        "[green]success[/green]"
        if event.outcome == "success"
        else f"[red]{escape(event.outcome)}[/red] ({event.status})"
    )
    return [
        event.at.isoformat(timespec="seconds"),
        escape(event.actor_display or str(event.actor_id or "-")),
        escape(event.action),
        escape(target),
        outcome,
        escape(event.client_addr or "-"),
    ]
