"""Encode Python values for the JSON batch parameters of the hot-path SQL.

orjson writes UUIDs (canonical text), enums (their value) and, on PostgreSQL,
datetimes (RFC 3339) itself; on SQLite datetimes become integer microseconds.
One ``orjson.dumps`` per batch, no per-value Python.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

import orjson

from conveyor.store.types import to_micros


def _sqlite_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return to_micros(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def json_text(dialect: str, value: Any) -> str:
    """``value`` as JSON text for ``dialect`` (datetimes as microseconds on SQLite)."""
    if dialect == "sqlite":
        encoded = orjson.dumps(
            value, default=_sqlite_default, option=orjson.OPT_PASSTHROUGH_DATETIME
        )
    else:
        encoded = orjson.dumps(value)
    return encoded.decode()


def items(dialect: str, rows: Iterable[Mapping[str, Any]]) -> str:
    """A JSON array of objects; None values are left out (SQL NULL on both dialects)."""
    return json_text(
        dialect,
        [
            {k: v for k, v in row.items() if v is not None} if None in row.values() else row
            for row in rows
        ],
    )


def array(dialect: str, values: Iterable[Any]) -> Any:
    """A list parameter: a native array on PostgreSQL, JSON text on SQLite."""
    if dialect == "sqlite":
        return json_text(dialect, list(values))
    return [_pg_value(v) for v in values]


def batch_ids(dialect: str, ids: Iterable[Any]) -> dict[str, Any]:
    """The ``:ids`` parameter of PostgreSQL statements that also take a batch as ``:items``.

    The planner guesses every ``jsonb_to_recordset`` at 100 rows, so those statements
    also name their jobs in an array whose length it knows (see claim_apply in
    sql/postgresql.sql). SQLite's statements do not need it: nothing on SQLite.
    """
    return {"ids": [str(i) for i in ids]} if dialect == "postgresql" else {}


def _pg_value(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _same(value: uuid.UUID) -> uuid.UUID:
    return value


def id_key(dialect: str) -> Callable[[uuid.UUID], Any]:
    """How an id looks in the driver's own rows (text on SQLite, a UUID on PostgreSQL),
    to match rows that :meth:`Tx.rows` returns with the UUIDs a caller passed in."""
    return str if dialect == "sqlite" else _same
