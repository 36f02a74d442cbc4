"""``--log-level`` and ``--log-format``: the same two options on ``server``, ``agent`` and ``up``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from conveyor.settings import LogSettings

LogLevelOption = Annotated[
    str | None,
    typer.Option(
        help="debug, info, warning, error or critical [env: CONVEYOR_LOG_LEVEL; default: info]",
        show_default=False,
    ),
]
LogFormatOption = Annotated[
    str | None,
    typer.Option(
        help="json, console, or auto: console on a terminal, else JSON lines "
        "[env: CONVEYOR_LOG_FORMAT; default: auto]",
        show_default=False,
    ),
]


def log_settings(log_level: str | None, log_format: str | None) -> LogSettings:
    """The options over the environment; a bad value stops the command, naming the option."""
    from pydantic import ValidationError

    from conveyor.settings import LogSettings

    given = {"log_level": log_level, "log_format": log_format}
    try:
        return LogSettings(**{k: v for k, v in given.items() if v is not None})  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"--{str(e['loc'][0]).replace('_', '-')}: {e['msg']}" for e in exc.errors()
        )
        typer.secho(f"error: {problems}", err=True, fg="red")
        raise typer.Exit(2) from None
