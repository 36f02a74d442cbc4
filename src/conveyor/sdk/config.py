"""Where a client finds its server and credentials: arguments, environment, saved login.

``conveyor login`` saves the server URL, the access and refresh tokens and the
current team in ``config.json`` in ``$CONVEYOR_CONFIG_DIR`` (else the user's config
directory, e.g. ``~/.config/conveyor``), readable by its owner only (mode 0600).
:class:`conveyor.Client` reads the same file, so a script runs as whoever logged in.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

CONFIG_FILE = "config.json"


class ClientSettings(BaseSettings):
    """The client's environment: ``CONVEYOR_SERVER``, ``CONVEYOR_TOKEN``, ``CONVEYOR_TEAM``,
    ``CONVEYOR_CONFIG_DIR``, ``CONVEYOR_CA_BUNDLE`` (CA certificates that replace the
    system trust store when verifying the server)."""

    model_config = SettingsConfigDict(env_prefix="CONVEYOR_", extra="ignore")

    server: str | None = None
    token: str | None = None
    team: str | None = None
    config_dir: str | None = None
    ca_bundle: str | None = None


class SavedLogin(BaseModel):
    """What ``conveyor login`` remembers (one server at a time)."""

    model_config = ConfigDict(extra="ignore")

    server: str
    email: str | None = None
    access_token: str | None = None
    refresh_token: str | None = None
    team: str | None = None


def config_dir(settings: ClientSettings | None = None) -> Path:
    settings = settings or ClientSettings()
    if settings.config_dir:
        return Path(settings.config_dir).expanduser()
    import click  # typer's own dependency; knows each platform's config directory

    return Path(click.get_app_dir("conveyor"))


def config_path(settings: ClientSettings | None = None) -> Path:
    return config_dir(settings) / CONFIG_FILE


def load_login(settings: ClientSettings | None = None) -> SavedLogin | None:
    """The saved login, or None when there is none (or it is unreadable)."""
    path = config_path(settings)
    try:
        return SavedLogin.model_validate_json(path.read_bytes())
    except (FileNotFoundError, ValidationError):
        return None


def save_login(login: SavedLogin, settings: ClientSettings | None = None) -> Path:
    """Write the login atomically, readable by its owner only; returns the file's path."""
    path = config_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = login.model_dump_json(indent=2).encode() + b"\n"
    fd, tmp = tempfile.mkstemp(prefix=".config-", dir=path.parent)  # created with mode 0600
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def forget_login(settings: ClientSettings | None = None) -> bool:
    """Delete the saved login; False when there was none."""
    try:
        config_path(settings).unlink()
    except FileNotFoundError:
        return False
    return True
