"""How values look in the tables: states in the current theme's colours, ages, text.

Table cells are Rich text, so a colour is looked up by theme variable name
(``success``, ``error``, ...) at render time: a light or a dark theme each give
their own readable shade, and no colour is written down here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from rich.text import Text
from textual.app import App
from textual.widgets import DataTable

STATE_VARIABLES = {"succeeded": "success", "dead": "error", "cancelled": "warning",
                   "running": "primary"}  # fmt: skip
WAITING = frozenset({"scheduled", "pending"})  # dimmed: they are not due yet


def painted(app: App[Any], text: str, variable: str | None, *, bold: bool = False,
            dim: bool = False) -> Text:  # fmt: skip
    """``text`` in the colour the theme gives ``variable`` (the text colour when none)."""
    colour = app.get_css_variables().get(variable or "", "")
    if not colour.startswith("#") or len(colour) != 7:
        colour = ""  # "auto 60%" and colours with alpha are Textual's, not Rich's
    return Text(text, style=" ".join(s for s in ("bold" * bold, "dim" * dim, colour) if s))


def state(app: App[Any], name: str, suffix: str = "") -> Text:
    """A job state in its colour; ``suffix`` marks e.g. a pending cancel."""
    return painted(app, name + suffix, STATE_VARIABLES.get(name), bold=name == "running",
                   dim=name in WAITING)  # fmt: skip


def plain(value: object) -> Text:
    """Server-supplied text for a cell (a plain ``str`` cell would be read as markup)."""
    return Text(str(value))


def ago(when: datetime | None, now: datetime | None = None) -> str:
    """``12s``, ``5m``, ``3h``, ``2d``: short enough for an 80-column table."""
    if when is None:
        return "-"
    seconds = max(0, int(((now or datetime.now(UTC)) - when).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def one_line(value: object, limit: int = 200) -> str:
    """An error or other free text on one line, cut to ``limit`` characters."""
    text = " ".join(str(value or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def selected_key(table: DataTable[Any]) -> str | None:
    """The key of the table's highlighted row (None when the table is empty)."""
    if not table.row_count:
        return None
    key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
    return str(key) if key is not None else None


def refill(table: DataTable[Any], rows: Iterable[tuple[str, Sequence[Text]]]) -> None:
    """Replace the table's rows, keeping the highlight on the same row when it is still there."""
    keep = selected_key(table)
    table.clear()
    keys = set()
    for key, cells in rows:
        table.add_row(*cells, key=key)
        keys.add(key)
    if keep in keys:
        table.move_cursor(row=table.get_row_index(keep))
