"""A store operation's transaction: :class:`Tx`, what every query function takes.

A store operation is a plain function ``op(tx, ...)``; :mod:`conveyor.store.database`
decides how it runs. ``Tx`` carries the connection, the operation's clock, and what
the operation recorded for publishing after commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from conveyor.errors import StoreError
from conveyor.store.dialects import driver_statement, statement
from conveyor.store.types import to_micros

P = ParamSpec("P")
R = TypeVar("R")


def json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


@dataclass
class Tx:
    """One operation's view of its transaction, and what it publishes on commit."""

    conn: Connection
    dialect: str
    now: datetime | None
    last_event_seq: int = 0
    work_available: bool = False
    control: bool = False  # an agent must be told something (cancel, drain): see hub
    changed_jobs: list[Any] = field(default_factory=list)
    # PostgreSQL: the statements that write job events may send the transaction's
    # NOTIFY themselves (a round trip saved) when the operation changes nothing after
    # them; ``notified`` is the (seq, work) such a statement sent.
    notify_in_statement: bool = True
    notified: tuple[int, bool] | None = None
    forget: set[str] = field(default_factory=set)  # read-cache topics this changes
    # A claim under a rate limit: in how many seconds a start leaves its window, so a
    # job passed over now may start then (queries/flow.py; the dispatcher's timer).
    retry_in_s: float | None = None

    def q(self, name: str) -> sa.TextClause:
        return statement(self.dialect, name)

    def rows(self, name: str, params: dict[str, Any]) -> list[Any]:
        """Run a named hot-path statement and return the driver's own rows.

        The hot path's fast lane: no compilation, bind or result processing, so a
        row is a tuple of what the driver returns (on SQLite: ids as text,
        timestamps as integer microseconds, JSON as text; on PostgreSQL: UUIDs,
        datetimes and decoded JSON). Callers convert the few values they hand on.
        The statement still runs through this connection (its events, its
        transaction).
        """
        result = self._run(name, params)
        if not result.returns_rows:
            return []
        rows = list(result.cursor.fetchall())
        result.close()
        return rows

    def named_rows(self, name: str, params: dict[str, Any], shape: type[Row]) -> list[Row]:
        """:meth:`rows`, each row as ``shape``, a NamedTuple of the statement's columns.

        The first run of each statement checks ``shape``'s fields against the column
        names the database returns (see :func:`check_columns`); after that a row
        costs one tuple construction.
        """
        result = self._run(name, params)
        key = (self.dialect, name, shape)
        if key not in _CHECKED:
            check_columns(name, [column[0] for column in result.cursor.description], shape)
            _CHECKED.add(key)
        rows = [shape(*row) for row in result.cursor.fetchall()]
        result.close()
        return rows

    def _run(self, name: str, params: dict[str, Any]) -> sa.CursorResult[Any]:
        if self.dialect == "sqlite":
            params = {k: _sqlite_param(v) for k, v in params.items()}
        return self.conn.exec_driver_sql(driver_statement(self.dialect, name), params)

    def rows_many(self, name: str, rows: list[tuple[Any, ...]]) -> None:
        """Run a named statement with positional parameters once per row (executemany)."""
        self.conn.exec_driver_sql(driver_statement(self.dialect, name), rows)


Row = TypeVar("Row", bound=tuple[Any, ...])
_CHECKED: set[tuple[str, str, type[Any]]] = set()  # (dialect, statement, shape) checked


def check_columns(name: str, columns: list[str], shape: type[Any]) -> None:
    """Refuse a row type whose fields are not the statement's columns, in order.

    Fields past the columns are allowed only with a default: a statement's columns
    that the other dialect's version returns.
    """
    fields: tuple[str, ...] = shape._fields
    defaults: dict[str, Any] = shape._field_defaults
    missing = [f for f in fields[len(columns) :] if f not in defaults]
    if tuple(columns) != fields[: len(columns)] or missing:
        raise StoreError(
            f"{name} returns columns {columns}, but {shape.__name__} reads {list(fields)}"
        )


Op = Callable[Concatenate[Tx, P], R]


class Committed(Protocol):
    """What a committed write announces to :meth:`Store.on_commit`'s callback."""

    @property
    def last_event_seq(self) -> int:
        """The newest outbox seq it wrote (0: none)."""

    @property
    def work_available(self) -> bool:
        """It made jobs claimable: wake the agents' claims."""

    @property
    def control(self) -> bool:
        """An agent must be told something (cancel, drain)."""


Publish = Callable[[Committed], None]


def _sqlite_param(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return to_micros(value)
    return value
