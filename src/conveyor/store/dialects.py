"""Load the named hot-path SQL of each dialect and type its parameters.

``sql/<dialect>.sql`` holds blocks headed ``-- name: <query>``. Parameters named
below get their column type bound, so timestamps and ids are converted the same
way as in Core queries.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import psycopg

from conveyor.store.types import GUID, Timestamp

DIALECTS = ("postgresql", "sqlite")
_NAME = re.compile(r"^-- name: (\w+)\s*$", re.MULTILINE)

# Statements written once in the SQL and run in a second form without one clause:
# {name: (the statement, the line it lacks)}. submit_jobs_new inserts jobs whose
# idempotency keys must all be new: a held key fails the whole statement (a unique
# violation) instead of being skipped, so nothing of the batch is written.
_WITHOUT_LINE = {"submit_jobs_new": ("submit_jobs", "ON CONFLICT DO NOTHING")}

_BIND_TYPES: dict[str, sa.types.TypeEngine[Any]] = {
    "now": Timestamp(),
    "team_id": GUID(),
    "agent_id": GUID(),
}


def parse_queries(text: str) -> dict[str, str]:
    """Split a file of ``-- name:`` blocks into {name: sql}, comments kept."""
    parts = _NAME.split(text)
    queries: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        if name in queries:
            raise ValueError(f"query {name!r} is defined twice")
        queries[name] = body.strip()
    return queries


@cache
def queries(dialect: str) -> dict[str, str]:
    if dialect not in DIALECTS:
        raise ValueError(f"unsupported dialect {dialect!r}")
    source = resources.files("conveyor.store").joinpath("sql", f"{dialect}.sql")
    found = parse_queries(source.read_text(encoding="utf-8"))
    for name, (of, line) in _WITHOUT_LINE.items():
        if of in found:
            found[name] = _without_line(found[of], line)
    return found


def _without_line(sql: str, line: str) -> str:
    """``sql`` without its one line reading ``line``; refuses a text that has none or
    several, so an edit of the statement cannot silently change the other form."""
    lines = sql.splitlines()
    if lines.count(line) != 1:
        raise ValueError(f"expected the line {line!r} once in the statement")
    return "\n".join(text for text in lines if text != line)


@cache
def statement(dialect: str, name: str) -> sa.TextClause:
    """The named query as a text clause with typed binds (cached per dialect)."""
    clause = sa.text(queries(dialect)[name])
    binds = [sa.bindparam(k, type_=t) for k, t in _BIND_TYPES.items() if k in clause._bindparams]
    return clause.bindparams(*binds) if binds else clause


@cache
def driver_statement(dialect: str, name: str) -> str:
    """The named query as the driver takes it, for :meth:`Tx.rows`.

    SQLite's driver takes ``:name`` parameters as written; on PostgreSQL the clause is
    compiled once into psycopg's ``%(name)s`` form (with the casts of the typed binds).
    """
    if dialect == "sqlite":
        return queries(dialect)[name]
    return str(statement(dialect, name).compile(dialect=psycopg.dialect()))  # type: ignore[no-untyped-call]
