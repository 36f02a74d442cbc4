"""Commands that need the ``server`` extra say so in one line on an install without it.

The SDK and the agent are the light core (``pip install conveyor-jobs``); the server,
``up``, ``migrate``, ``doctor`` and ``admin`` import the server stack. Without it they
would die in a traceback ending in ``ModuleNotFoundError``; this checks first.
"""

from __future__ import annotations

import importlib.util

import typer

SERVER_COMMANDS = frozenset({"server", "up", "migrate", "doctor", "admin"})
"""The top-level commands that import the server stack."""

SERVER_MODULES = (
    "fastapi", "uvicorn", "sqlalchemy", "alembic", "psycopg", "jwt", "pwdlib",
    "jsonschema", "fastapi_offline", "cronsim", "cryptography", "prometheus_client",
)  # fmt: skip
"""The import names of the ``server`` extra's packages (pyproject.toml)."""

INSTALL_HINT = "pip install 'conveyor-jobs[server]'"


def missing_server_modules() -> list[str]:
    """The server extra's modules this Python cannot import (found, not imported: cheap)."""
    return [name for name in SERVER_MODULES if importlib.util.find_spec(name) is None]


def require_server_extra(command: str) -> None:
    """Exit non-zero with one actionable line when ``command`` needs what is missing."""
    if command in SERVER_COMMANDS and missing_server_modules():
        typer.secho(
            f"conveyor {command} needs the server extra: {INSTALL_HINT}", err=True, fg="red"
        )
        raise typer.Exit(1)
