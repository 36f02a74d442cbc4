"""The CLI's side of configuration: a client from flags, environment or the saved login.

The saved login itself (``config.json``, mode 0600, in ``$CONVEYOR_CONFIG_DIR`` or
the user's config directory) is read and written by :mod:`conveyor.sdk.config`,
so ``conveyor.Client()`` in a script uses the same login as the CLI, and both
refresh the access token with the refresh token when the server answers 401.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from conveyor.sdk.client import Client
from conveyor.sdk.config import (
    ClientSettings,
    SavedLogin,
    config_path,
    forget_login,
    load_login,
    save_login,
)
from conveyor.sdk.models import TokenPair

ServerOption = Annotated[
    str | None,
    typer.Option(
        "--server",
        help="Server URL [env: CONVEYOR_SERVER; default: the saved login's]",
        show_default=False,
    ),
]


# ``conveyor --ca-bundle FILE …``: verify the server against these CAs (set by the root command).
CA_BUNDLE: str | None = None
# ``conveyor --team T …``: the team every request of this command works in.
TEAM: str | None = None


def client(server: str | None = None, *, team: str | None = None) -> Client:
    """A client as the person at the terminal: flags, then environment, then saved login."""
    return Client(server, team=team or TEAM, verify=CA_BUNDLE or True)


def remember(server: str, email: str, tokens: TokenPair, team: str | None = None) -> Path:
    """Save a fresh login (replacing any other); returns the file written."""
    login = SavedLogin(
        server=server.rstrip("/"),
        email=email,
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        team=team,
    )
    return save_login(login)


def saved() -> SavedLogin | None:
    return load_login()


def save(login: SavedLogin) -> Path:
    """Write back a changed saved login (the current team)."""
    return save_login(login)


def forget() -> bool:
    return forget_login()


def location() -> Path:
    return config_path(ClientSettings())
