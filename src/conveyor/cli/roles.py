"""``conveyor roles list|create|update|delete``: a team's custom roles."""

from __future__ import annotations

from typing import Annotated

import typer

from conveyor.cli import config
from conveyor.cli.output import JSON_HELP, console, escape, handles_errors, print_json, table
from conveyor.cli.teams import TeamOption

app = typer.Typer(no_args_is_help=True, help="Custom roles: a name and its permissions.")

JsonOption = Annotated[bool, typer.Option("--json", help=JSON_HELP)]
PermissionOption = Annotated[
    list[str] | None,
    typer.Option(
        "--permission",
        help="resource:verb, or jobs:create:<action>; repeatable.",
        show_default=False,
    ),
]


@app.command("list")
@handles_errors
def list_roles(team: TeamOption = None, as_json: JsonOption = False) -> None:
    """The built-in roles and the team's custom ones."""
    with config.client(team=team) as client:
        found = client.roles(team=team)
    if as_json:
        print_json(found)
        return
    rows = [
        [escape(r.name), "built-in" if r.builtin else str(r.id), escape(", ".join(r.permissions))]
        for r in found
    ]
    table(["NAME", "ID", "PERMISSIONS"], rows, wrap={"PERMISSIONS"})


@app.command("create")
@handles_errors
def create(
    name: Annotated[str, typer.Argument(help="The role's name.")],
    permission: PermissionOption = None,
    description: Annotated[str, typer.Option(help="What the role is for.")] = "",
    team: TeamOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a custom role (none of its permissions beyond yours)."""
    with config.client(team=team) as client:
        role = client.create_role(name, permission or [], description=description, team=team)
    if as_json:
        print_json(role)
    else:
        console.print(f"Created role {escape(role.name)} (id {role.id}).")


@app.command("update")
@handles_errors
def update(
    role_id: Annotated[str, typer.Argument(help="The role's id (`conveyor roles list`).")],
    name: Annotated[str | None, typer.Option(help="A new name.")] = None,
    permission: PermissionOption = None,
    description: Annotated[str | None, typer.Option(help="A new description.")] = None,
    team: TeamOption = None,
) -> None:
    """Change a custom role; --permission replaces the whole list."""
    with config.client(team=team) as client:
        role = client.update_role(
            role_id, name=name, description=description, permissions=permission, team=team
        )
    console.print(f"Role {escape(role.name)}: {escape(', '.join(role.permissions) or '-')}.")


@app.command("delete")
@handles_errors
def delete(
    role_id: Annotated[str, typer.Argument(help="The role's id.")], team: TeamOption = None
) -> None:
    """Delete a custom role that no member holds."""
    with config.client(team=team) as client:
        client.delete_role(role_id, team=team)
    console.print(f"Deleted role {escape(role_id)}.")
