"""``conveyor admin create|reset-password|users|disable|enable``: the operator's break-glass path.

These talk to the database directly (``CONVEYOR_DATABASE_URL`` / ``--database-url``),
not to a server, so they work when no one can log in. Users land in the default
team (slug ``default``), made here if the database has none yet.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated

import typer

from conveyor.cli.login import read_password
from conveyor.cli.output import (
    JsonOption,
    console,
    escape,
    fail,
    handles_errors,
    print_json,
    table,
    when,
)
from conveyor.errors import NotFound
from conveyor.private_files import private_umask

if TYPE_CHECKING:
    from conveyor.auth.service import AuthService
    from conveyor.store import Store
    from conveyor.store.records import User

app = typer.Typer(no_args_is_help=True, help="Operator commands on the database (break-glass).")

DatabaseOption = Annotated[
    str | None,
    typer.Option(help="Database URL [env: CONVEYOR_DATABASE_URL]", show_default=False),
]
EmailOption = Annotated[str, typer.Option(help="The user's email.", show_default=False)]
PasswordStdinOption = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from stdin, not a prompt.")
]


@app.command("create")
@handles_errors
def create(
    email: EmailOption,
    password_stdin: PasswordStdinOption = False,
    role: Annotated[str, typer.Option(help="Role in the default team.")] = "owner",
    superuser: Annotated[
        bool, typer.Option("--superuser", help="Also make the user a superuser of every team.")
    ] = False,
    database_url: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a user in the default team (e.g. the first admin)."""
    password = read_password(password_stdin, confirm=True)

    async def run(store: Store, auth: AuthService) -> None:
        from conveyor.server.bootstrap import ensure_default_team

        team_id = await ensure_default_team(store)
        await auth.create_user(email, password, team_id=team_id, role=role, is_superuser=superuser)

    _run(database_url, run)
    if as_json:
        print_json({"email": email, "role": role, "team": "default", "superuser": superuser})
    else:
        console.print(f"Created user {email} with role {role} in the default team.")


@app.command("reset-password")
@handles_errors
def reset_password(
    email: EmailOption,
    password_stdin: PasswordStdinOption = False,
    database_url: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """Set a user's password (their sessions end: every refresh token is revoked)."""
    password = read_password(password_stdin, confirm=True)

    async def run(store: Store, auth: AuthService) -> None:
        await auth.reset_password(email, password)

    _run(database_url, run)
    if as_json:
        print_json({"email": email, "password_reset": True})
    else:
        console.print(f"Password of {email} reset.")


@app.command("users")
@handles_errors
def users(
    as_json: JsonOption = False,
    database_url: DatabaseOption = None,
) -> None:
    """List every user: email, name, superuser, disabled, created."""
    found: list[User] = []

    async def run(store: Store, auth: AuthService) -> None:
        found.extend(await store.user_list())

    _run(database_url, run)
    if as_json:
        print_json([
            {"id": str(u.id), "email": u.email, "display_name": u.display_name,
             "is_superuser": u.is_superuser,
             "disabled_at": u.disabled_at.isoformat() if u.disabled_at else None,
             "created_at": u.created_at.isoformat()}
            for u in found
        ])  # fmt: skip
        return
    rows = [
        [str(u.id), escape(u.email), escape(u.display_name or "-"),
         "yes" if u.is_superuser else "", "[red]disabled[/red]" if u.disabled else "active",
         when(u.created_at)]
        for u in found
    ]  # fmt: skip
    table(["ID", "EMAIL", "NAME", "SUPERUSER", "STATUS", "CREATED"], rows, wrap={"NAME"})


@app.command("disable")
@handles_errors
def disable(email: EmailOption, database_url: DatabaseOption = None) -> None:
    """Disable a user: their access tokens, refresh tokens, signed URLs and the API keys
    they created stop working at once."""
    _set_disabled(database_url, email, True)
    console.print(f"Disabled {email}: every token and key of theirs is refused from now on.")


@app.command("enable")
@handles_errors
def enable(email: EmailOption, database_url: DatabaseOption = None) -> None:
    """Enable a disabled user again (they log in anew; their keys work again)."""
    _set_disabled(database_url, email, False)
    console.print(f"Enabled {email}.")


def _set_disabled(database_url: str | None, email: str, disabled: bool) -> None:
    async def run(store: Store, auth: AuthService) -> None:
        user = await store.user_by_email(email)
        if user is None:
            raise NotFound(f"no user with email {email.strip().lower()!r}")
        await store.user_set_disabled(user.id, disabled)

    _run(database_url, run)


def _run(database_url: str | None, work: Callable[[Store, AuthService], Awaitable[None]]) -> None:
    """Open the store (migrating a fresh database) and the auth service, run, close."""
    try:
        from conveyor.auth.service import AuthService
        from conveyor.settings import AuthSettings, StoreSettings
        from conveyor.store import Store
    except ImportError as exc:
        raise fail(
            f"admin commands need the server stack: pip install 'conveyor-jobs[server]' ({exc})"
        ) from None

    private_umask()  # a SQLite database made here holds the signing keys

    async def main() -> None:
        store = await Store.open(database_url or StoreSettings().database_url)
        try:
            await work(store, AuthService(store, AuthSettings()))
        finally:
            await store.close()

    asyncio.run(main())
