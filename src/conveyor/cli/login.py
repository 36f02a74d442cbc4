"""``conveyor login`` / ``logout``: keep a server login for the CLI and the Python client."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from conveyor.cli import config
from conveyor.cli.output import JsonOption, console, fail, handles_errors, print_json
from conveyor.errors import ConveyorError


def read_password(from_stdin: bool, *, confirm: bool = False) -> str:
    """The password from one line of stdin, or typed at a prompt without echo."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=confirm)
    if not password:
        raise fail("the password is empty")
    return password


@handles_errors
def login(
    server: config.ServerOption = None,
    email: Annotated[
        str | None,
        typer.Option(help="Your account's email (asked when missing).", show_default=False),
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin, not a prompt.")
    ] = False,
    team: Annotated[
        str | None,
        typer.Option(
            help="Work in this team (id or slug) [default: your default team].", show_default=False
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Log in to a server; the CLI and `conveyor.Client()` then use this login."""
    previous = config.saved()
    if email is None:
        email = typer.prompt(
            "Email", default=previous.email if previous and previous.email else None
        )
    password = read_password(password_stdin)
    with config.client(server, team=team) as client:
        tokens = client.login(email, password)
        me = client.me()  # checks the team now rather than on the next command
        path = config.remember(client.server, email, tokens, team)
    who = _team_name(me)
    if as_json:
        print_json({"server": client.server, "email": email, "team": who, "saved_to": str(path)})
        return
    console.print(f"Logged in to {client.server} as {email}" + (f" (team {who})" if who else ""))
    console.print(f"Saved to {path}", style="dim")


@handles_errors
def logout(as_json: JsonOption = False) -> None:
    """End the saved login on the server and forget it here."""
    saved = config.saved()
    if saved is None:
        if as_json:
            print_json({"server": None, "logged_out": False})
        else:
            console.print("Not logged in.")
        return
    try:
        with config.client(saved.server) as client:
            client.logout()
    except ConveyorError:
        pass  # the server may be gone or the token spent: forgetting it locally is enough
    config.forget()
    if as_json:
        print_json({"server": saved.server, "logged_out": True})
    else:
        console.print(f"Logged out of {saved.server}.")


def _team_name(me: dict[str, object]) -> str | None:
    team = me.get("team")
    if isinstance(team, dict):
        return str(team.get("slug") or team.get("name") or team.get("id") or "") or None
    return None
