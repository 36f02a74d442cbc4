"""Encode Python values for the JSON batch parameters of the hot-path SQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from conveyor.store.database import json_dumps
from conveyor.store.types import to_micros


def _value(dialect: str, value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return to_micros(value) if dialect == "sqlite" else value.isoformat()
    return value


def items(dialect: str, rows: Iterable[Mapping[str, Any]]) -> str:
    """A JSON array of objects; None values are left out (SQL NULL on both dialects)."""
    return json_dumps(
        [{k: _value(dialect, v) for k, v in row.items() if v is not None} for row in rows]
    )


def array(dialect: str, values: Iterable[Any]) -> Any:
    """A list parameter: a native array on PostgreSQL, JSON text on SQLite."""
    encoded = [_value(dialect, v) for v in values]
    return json_dumps(encoded) if dialect == "sqlite" else encoded
