"""How commands talk to people and scripts: Rich tables, ``--json``, one-line errors.

Tables and progress go to a terminal; ``--json`` writes plain JSON on stdout and
nothing else there. Every failure is one ``error: ...`` line on stderr and exit
code 1 (usage mistakes: 2, from Typer).
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from conveyor.errors import ConveyorError

P = ParamSpec("P")
R = TypeVar("R")

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

JSON_HELP = "Print JSON for scripts instead of a table."
JsonOption = Annotated[bool, typer.Option("--json", help=JSON_HELP)]
STATE_STYLES = {
    "succeeded": "green",
    "dead": "red",
    "cancelled": "yellow",
    "running": "cyan",
    "queued": "blue",
    "scheduled": "magenta",
    "pending": "dim",
}


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one error line on stderr; raise the returned exit."""
    err_console.print(f"[red]error:[/red] {message}", markup=True, soft_wrap=True)
    return typer.Exit(code)


def handles_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn Conveyor errors into one clear line and exit code 1 (Ctrl-C: 130)."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except ConveyorError as exc:
            raise fail(_say(exc)) from None
        except KeyboardInterrupt:
            raise typer.Exit(130) from None

    return run


def print_json(value: Any) -> None:
    """Plain JSON on stdout (models dumped in their API shape)."""
    sys.stdout.write(json.dumps(jsonable(value), indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return value


NARROW = 110
"""Below this many columns, tables leave out their ``optional`` columns."""


def table(
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    wrap: Collection[str] = (),
    optional: Collection[str] = (),
    title: str | None = None,
) -> None:
    """A Rich table on stdout; cells are plain text unless they are markup we made.

    Only the ``wrap`` columns fold onto several lines on a narrow terminal; the
    others keep one line (an ``ID`` is never cut, so it can be copied), and the
    ``optional`` ones are left out there (``--json`` has every field).
    """
    console.print(build_table(columns, rows, wrap=wrap, optional=optional, title=title))


def build_table(
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    wrap: Collection[str] = (),
    optional: Collection[str] = (),
    title: str | None = None,
) -> Table:
    """The table :func:`table` prints, for a live display to redraw."""
    keep = [i for i, c in enumerate(columns) if console.width >= NARROW or c not in optional]
    out = Table(title=title, header_style="bold", show_edge=False, pad_edge=False)
    for i in keep:
        folds = columns[i] in wrap
        out.add_column(
            columns[i],
            overflow="fold" if folds else "ellipsis",
            no_wrap=not folds,
            min_width=36 if columns[i] == "ID" else None,
        )
    for row in rows:
        out.add_row(*(row[i] for i in keep))
    return out


def state(value: str) -> str:
    style = STATE_STYLES.get(value)
    return f"[{style}]{value}[/{style}]" if style else value


def when(value: datetime | None) -> str:
    """A timestamp in local time, to the second; '-' for none."""
    if value is None:
        return "-"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    local = value.astimezone()
    today = datetime.now(local.tzinfo).date()
    return local.strftime("%H:%M:%S" if local.date() == today else "%Y-%m-%d %H:%M")


def escape(text: object) -> str:
    """Text from the server shown inside Rich markup, literally."""
    from rich.markup import escape as rich_escape

    return rich_escape(str(text))


def _say(exc: ConveyorError) -> str:
    message = exc.message
    problems = exc.details.get("errors") if isinstance(exc.details, dict) else None
    if isinstance(problems, list) and len(problems) > 1:
        extra = "; ".join(
            str(p.get("msg", p)) if isinstance(p, dict) else str(p) for p in problems[1:4]
        )
        message = f"{message} (also: {extra})"
    return message
