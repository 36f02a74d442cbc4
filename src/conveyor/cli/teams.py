"""``conveyor teams …``: your teams, the current one, members, invitations, requests to join.

The current team is remembered in the saved login (``conveyor teams use``); every
command takes ``--team`` (id or slug) to work in another one for one call.
"""

from __future__ import annotations

from typing import Annotated

import typer

from conveyor.cli import config
from conveyor.cli.output import (
    JSON_HELP,
    console,
    err_console,
    escape,
    fail,
    handles_errors,
    print_json,
    table,
    when,
)
from conveyor.sdk.models import Team

app = typer.Typer(no_args_is_help=True, help="Teams: create, switch, invite, join, members.")

JsonOption = Annotated[bool, typer.Option("--json", help=JSON_HELP)]
TeamOption = Annotated[
    str | None,
    typer.Option("--team", help="Team id or slug [default: the current team].", show_default=False),
]
UseOption = Annotated[bool, typer.Option("--use", help="Make it the current team.")]


def _current() -> str | None:
    saved = config.saved()
    return saved.team if saved is not None else None


def _use(team: Team) -> None:
    saved = config.saved()
    if saved is None:
        raise fail("not logged in: `conveyor login` first (the current team is saved with it)")
    saved.team = team.slug
    config.save(saved)


@app.command("list")
@handles_errors
def list_teams(as_json: JsonOption = False) -> None:
    """Your teams; * marks the current one (else your default, listed first)."""
    with config.client() as client:
        found = client.teams()
        current = client.team
    if as_json:
        print_json(found)
        return
    if not found:
        console.print("You are in no team: `conveyor teams create` or `conveyor teams join`.")
        return
    current = current or found[0].slug
    rows = [
        ["*" if current in (t.slug, str(t.id)) else "", escape(t.slug), escape(t.name),
         escape(t.role or "-"), str(t.id)]
        for t in found
    ]  # fmt: skip
    table(["", "SLUG", "NAME", "ROLE", "ID"], rows, wrap={"NAME"}, optional={"ID"})


@app.command("create")
@handles_errors
def create(
    slug: Annotated[str, typer.Argument(help="Short name: lower-case letters, digits, '-'.")],
    name: Annotated[str | None, typer.Option(help="Display name [default: the slug].")] = None,
    use: UseOption = False,
    as_json: JsonOption = False,
) -> None:
    """Create a team; you are its owner."""
    with config.client() as client:
        team = client.create_team(slug, name or slug)
    if use:
        _use(team)
    if as_json:
        print_json(team)
    else:
        console.print(f"Created team {escape(team.slug)} (id {team.id}); you own it.")


@app.command("use")
@handles_errors
def use(team: Annotated[str, typer.Argument(help="Team id or slug.")]) -> None:
    """Make a team the current one for the CLI and `conveyor.Client()`."""
    with config.client(team=team) as client:
        found = client.get_team(team)
    _use(found)
    console.print(f"Now working in team {escape(found.slug)} as {escape(found.role or '-')}.")


@app.command("show")
@handles_errors
def show(team: TeamOption = None, as_json: JsonOption = False) -> None:
    """A team with your role and permissions there."""
    with config.client(team=team) as client:
        found = client.get_team(team)
    if as_json:
        print_json(found)
        return
    console.print(f"{escape(found.slug)}: {escape(found.name)} (id {found.id})")
    console.print(f"your role: {escape(found.role or '-')}")
    console.print("you may: " + escape(", ".join(found.permissions) or "-"))


@app.command("members")
@handles_errors
def members(team: TeamOption = None, as_json: JsonOption = False) -> None:
    """The team's members and their roles."""
    with config.client(team=team) as client:
        found = client.members(team=team)
    if as_json:
        print_json(found)
        return
    rows = [[escape(m.email), escape(m.role), when(m.joined_at), str(m.user_id)] for m in found]
    table(["EMAIL", "ROLE", "JOINED", "USER ID"], rows, optional={"JOINED"})


@app.command("invite")
@handles_errors
def invite(
    role: Annotated[str, typer.Option(help="The role the code joins with.")] = "viewer",
    max_uses: Annotated[int, typer.Option(help="How many people may use the code.")] = 1,
    unlimited: Annotated[bool, typer.Option(help="Any number of uses until it expires.")] = False,
    expires_in: Annotated[
        int | None, typer.Option(help="Seconds until it expires [default: 7 days].")
    ] = None,
    team: TeamOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create an invitation code and print it once."""
    with config.client(team=team) as client:
        found = client.invite(
            role, max_uses=None if unlimited else max_uses, expires_in_s=expires_in, team=team
        )
    if as_json:
        print_json(found)
        return
    uses = "any number of uses" if found.max_uses is None else f"{found.max_uses} use(s)"
    err_console.print(
        f"Invitation as {escape(found.role)}, {uses}, until {when(found.expires_at)}. "
        "Copy it now: it is not shown again. Join with `conveyor teams join CODE`."
    )
    console.print(found.code or "", markup=False, highlight=False, soft_wrap=True)


@app.command("join")
@handles_errors
def join(
    code: Annotated[str, typer.Argument(help="The invitation code.")],
    use: UseOption = False,
    as_json: JsonOption = False,
) -> None:
    """Join a team with an invitation code."""
    with config.client() as client:
        team = client.join_team(code)
    if use:
        _use(team)
    if as_json:
        print_json(team)
    else:
        console.print(f"Joined team {escape(team.slug)} as {escape(team.role or '-')}.")


@app.command("request")
@handles_errors
def request(
    team: Annotated[str, typer.Argument(help="Team id or slug.")],
    message: Annotated[str, typer.Option(help="A note for the team's admins.")] = "",
) -> None:
    """Ask to join a team; its admins accept or reject."""
    with config.client() as client:
        found = client.request_to_join(team, message)
    console.print(f"Asked to join {escape(team)} (request {found.id}, {found.state}).")


@app.command("requests")
@handles_errors
def requests(team: TeamOption = None, as_json: JsonOption = False) -> None:
    """Open requests to join the team."""
    with config.client(team=team) as client:
        found = client.join_requests(team=team)
    if as_json:
        print_json(found)
        return
    rows = [[str(r.id), escape(r.email), escape(r.message), when(r.created_at)] for r in found]
    table(["ID", "EMAIL", "MESSAGE", "ASKED"], rows, wrap={"MESSAGE"})


@app.command("accept")
@handles_errors
def accept(
    request_id: Annotated[
        str, typer.Argument(help="The request's id (`conveyor teams requests`).")
    ],
    role: Annotated[str, typer.Option(help="The role the user joins with.")] = "viewer",
    team: TeamOption = None,
) -> None:
    """Accept a request to join."""
    with config.client(team=team) as client:
        found = client.accept_join_request(request_id, role, team=team)
    console.print(f"{escape(found.email)} joined as {escape(found.role or role)}.")


@app.command("reject")
@handles_errors
def reject(
    request_id: Annotated[str, typer.Argument(help="The request's id.")], team: TeamOption = None
) -> None:
    """Reject a request to join."""
    with config.client(team=team) as client:
        found = client.reject_join_request(request_id, team=team)
    console.print(f"Rejected the request of {escape(found.email)}.")


@app.command("set-role")
@handles_errors
def set_role(
    user_id: Annotated[
        str, typer.Argument(help="The member's user id (`conveyor teams members`).")
    ],
    role: Annotated[str, typer.Argument(help="A built-in or custom role.")],
    team: TeamOption = None,
) -> None:
    """Change a member's role."""
    with config.client(team=team) as client:
        found = client.set_role(user_id, role, team=team)
    console.print(f"{escape(found.email)} is now {escape(found.role)}.")


@app.command("remove")
@handles_errors
def remove(
    user_id: Annotated[str, typer.Argument(help="The member's user id.")], team: TeamOption = None
) -> None:
    """Remove a member from the team."""
    with config.client(team=team) as client:
        client.remove_member(user_id, team=team)
    console.print(f"Removed {escape(user_id)}.")


@app.command("leave")
@handles_errors
def leave(team: TeamOption = None) -> None:
    """Leave the team (the last owner cannot: transfer ownership first)."""
    with config.client(team=team) as client:
        ref = team or client.team or client.get_team().slug
        client.leave_team(ref)
    if _current() == ref:
        saved = config.saved()
        assert saved is not None
        saved.team = None
        config.save(saved)
    console.print(f"You left {escape(ref)}.")


@app.command("transfer")
@handles_errors
def transfer(
    user_id: Annotated[str, typer.Argument(help="The member who becomes an owner.")],
    team: TeamOption = None,
) -> None:
    """Hand the team over: the member becomes an owner, you an admin."""
    with config.client(team=team) as client:
        client.transfer_team(user_id, team=team)
    console.print(f"{escape(user_id)} now owns the team; you are an admin.")
