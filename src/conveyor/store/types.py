"""Column types that mean the same thing on SQLite and PostgreSQL.

Timestamps are ``timestamptz`` on PostgreSQL and integer microseconds since the
epoch (UTC) on SQLite, so both compare and sort correctly in SQL. UUIDs are
native on PostgreSQL and their canonical 36-character text on SQLite, so ids read
the same in a shell and in JSON passed to the hot-path SQL.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_micros(value: datetime) -> int:
    if value.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


class Timestamp(sa.TypeDecorator[datetime]):
    """A UTC instant with microseconds."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.BigInteger())
        return dialect.type_descriptor(sa.DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None or dialect.name != "sqlite":
            return value
        return to_micros(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return from_micros(int(value))
        assert isinstance(value, datetime)
        return value.astimezone(UTC)


class GUID(sa.TypeDecorator[uuid.UUID]):
    """A UUID: native on PostgreSQL, canonical text on SQLite."""

    impl = sa.Uuid()
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String(36))
        return dialect.type_descriptor(sa.Uuid())

    def process_bind_param(self, value: uuid.UUID | str | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return str(value)
        return value if isinstance(value, uuid.UUID) else uuid.UUID(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> uuid.UUID | None:
        if value is None or isinstance(value, uuid.UUID):
            return value
        return uuid.UUID(str(value))


class JSONDocument(sa.TypeDecorator[Any]):
    """A JSON document: ``jsonb`` on PostgreSQL, ``TEXT`` on SQLite.

    Not SQLite's ``JSON`` type name: that gives the column NUMERIC affinity, which
    turns the JSON text ``1`` into the integer 1 on the way in.
    """

    impl = sa.JSON()
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.Text())
        return dialect.type_descriptor(postgresql.JSONB())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if dialect.name != "sqlite" or value is None:
            return value
        return orjson.dumps(value).decode()

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if dialect.name != "sqlite" or value is None:
            return value
        return orjson.loads(value)


JSONDoc = JSONDocument()
BigSerial = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # rowid on SQLite


class db_clock(sa.sql.expression.FunctionElement[datetime]):
    """The database's clock: ``now()`` on PostgreSQL, the process clock on SQLite."""

    type = Timestamp()
    inherit_cache = True


@compiles(db_clock, "postgresql")
def _db_clock_pg(element: db_clock, compiler: SQLCompiler, **kw: Any) -> str:
    return "now()"


@compiles(db_clock, "sqlite")
def _db_clock_sqlite(element: db_clock, compiler: SQLCompiler, **kw: Any) -> str:
    return "CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)"


def at(now: datetime | None) -> sa.ColumnElement[datetime]:
    """``now`` when a caller moves time (tests), else the database clock."""
    if now is None:
        return db_clock()
    return sa.literal(now, type_=Timestamp())


class plus_seconds(sa.sql.expression.FunctionElement[datetime]):
    """``instant + seconds`` on either dialect."""

    type = Timestamp()
    inherit_cache = True


@compiles(plus_seconds, "postgresql")
def _plus_pg(element: plus_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    instant, seconds = list(element.clauses)
    return (
        f"({compiler.process(instant, **kw)} + "
        f"make_interval(secs => {compiler.process(seconds, **kw)}))"
    )


@compiles(plus_seconds, "sqlite")
def _plus_sqlite(element: plus_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    instant, seconds = list(element.clauses)
    return (
        f"({compiler.process(instant, **kw)} + "
        f"CAST({compiler.process(seconds, **kw)} * 1000000 AS INTEGER))"
    )
