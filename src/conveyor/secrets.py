"""Secrets from the environment or from files, and the production-mode checks.

A secret ``CONVEYOR_<NAME>`` can instead be given as ``CONVEYOR_<NAME>_FILE``: the
path of a file holding it (a Docker or Kubernetes secret mount), so the value is
never in argv, a unit file or the repository. Giving both is an error: which one
wins would be a guess.

``CONVEYOR_ENV=production`` (or ``conveyor server --production``) turns the
defaults that are convenient on a laptop into refusals: :func:`production_problems`
says which setting is missing or still a default.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

# Values that are known from documentation, examples and habit: never a secret.
WEAK_PASSWORDS = frozenset(
    {"", "admin", "password", "changeme", "change-me", "secret", "conveyor", "postgres", "test"}
)
MIN_ADMIN_PASSWORD = 12


class SecretFileError(ValueError):
    """A ``*_FILE`` variable is unusable (missing file, or given with the plain variable)."""


def read_secret_file(path: str, variable: str) -> str:
    """A secret file's content without the trailing newline editors add."""
    try:
        return Path(path).read_text().rstrip("\r\n")
    except OSError as exc:
        raise SecretFileError(f"{variable}: cannot read {path}: {exc.strerror}") from None


def env_secret(name: str, env: Mapping[str, str] | None = None) -> str | None:
    """``CONVEYOR_<NAME>`` or the content of the file ``CONVEYOR_<NAME>_FILE`` names."""
    env = os.environ if env is None else env
    variable = f"CONVEYOR_{name.upper()}"
    value, file = env.get(variable), env.get(f"{variable}_FILE")
    if value is not None and file is not None:
        raise SecretFileError(f"both {variable} and {variable}_FILE are set: keep one")
    if file is not None:
        return read_secret_file(file, f"{variable}_FILE")
    return value


class FileSecretsSource(PydanticBaseSettingsSource):
    """A settings source reading ``CONVEYOR_<FIELD>_FILE`` for the fields named secret."""

    def __init__(self, settings_cls: type[BaseSettings], fields: frozenset[str]) -> None:
        super().__init__(settings_cls)
        self.fields = fields

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ reads every field at once

    def __call__(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for name in self.fields:
            value = env_secret(name)
            if value is not None and f"CONVEYOR_{name.upper()}" not in os.environ:
                found[name] = value
        return found


def production_problems(
    *,
    database_url: str,
    default_database_url: str,
    tls_cert: str | None,
    tls_key: str | None,
    admin_password: str | None,
) -> list[str]:
    """What stops a server from starting in production; empty when nothing does."""
    from urllib.parse import unquote, urlsplit

    problems: list[str] = []
    if database_url == default_database_url:
        problems.append(
            "CONVEYOR_DATABASE_URL is not set: the default is a SQLite file in the working "
            "directory (set it, or CONVEYOR_DATABASE_URL_FILE)"
        )
    else:
        password = urlsplit(database_url).password
        if password is not None and unquote(password).lower() in WEAK_PASSWORDS:
            problems.append("CONVEYOR_DATABASE_URL uses a default database password")
    if not (tls_cert and tls_key):
        problems.append(
            "TLS is not configured: give --tls-cert and --tls-key "
            "(CONVEYOR_TLS_CERT / CONVEYOR_TLS_KEY)"
        )
    if admin_password is not None and (
        admin_password.lower() in WEAK_PASSWORDS or len(admin_password) < MIN_ADMIN_PASSWORD
    ):
        problems.append(
            "CONVEYOR_ADMIN_PASSWORD is a default or shorter than "
            f"{MIN_ADMIN_PASSWORD} characters: set a strong one (or CONVEYOR_ADMIN_PASSWORD_FILE)"
        )
    return problems


__all__ = [
    "FileSecretsSource",
    "SecretFileError",
    "env_secret",
    "production_problems",
    "read_secret_file",
]
