"""Which servers may run on a schema: the record that makes rolling upgrades safe.

A server cannot read a migration it does not have, so what a newer migration
promises its elders is written into the database itself. Every migration module
declares it (see docs/operations.md#rolling-upgrades):

- ``expand_only = True``: it only adds (tables, indexes, nullable or defaulted
  columns), so every server that ran on the previous revision runs on this one;
- ``expand_only = False`` (a contract step: a drop, a rename, a new constraint),
  with ``oldest_server = "<revision>"``: the oldest schema head whose servers no
  longer use what it removes (default: the migration itself, no older server).

After each migration run, :func:`record` stores the current revision and the oldest
schema head compatible with it in ``schema_compat``, a bookkeeping table beside
``alembic_version`` (neither is part of the application schema). A server that
finds a revision it does not know reads that row: when it knows the revision the
row names, the newer schema only added to what it uses and it starts; otherwise it
refuses, saying what to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

import sqlalchemy as sa
from alembic.script import Script, ScriptDirectory
from sqlalchemy.engine import Connection

bookkeeping = sa.MetaData()
schema_compat = sa.Table(
    "schema_compat",
    bookkeeping,
    sa.Column("revision", sa.String(32), primary_key=True),
    sa.Column("oldest_server", sa.String(32), nullable=False),
)
TABLES = frozenset({"alembic_version", "schema_compat"})
"""Migration bookkeeping, outside the application schema (``schema.metadata``)."""


class UndeclaredCompatibility(Exception):
    """A migration says neither ``expand_only = True`` nor which servers survive it."""


@dataclass(frozen=True)
class Declaration:
    """What one migration module promises servers of older schema heads."""

    revision: str
    expand_only: bool
    oldest_server: str  # for an expand-only step: its parent's, computed by oldest_server()


def declaration(script: Script) -> Declaration:
    """The module's promise; an undeclared one counts as a contract step (the safe side)."""
    module: ModuleType = script.module
    expand_only = getattr(module, "expand_only", None)
    if script.down_revision is None:  # the first schema: nothing older exists
        return Declaration(script.revision, False, script.revision)
    oldest = getattr(module, "oldest_server", script.revision)
    return Declaration(script.revision, expand_only is True, str(oldest))


def undeclared(scripts: ScriptDirectory) -> list[str]:
    """Revisions after the first that declare no ``expand_only`` (a unit test lists them)."""
    return [
        s.revision
        for s in scripts.walk_revisions()
        if s.down_revision is not None
        and not isinstance(getattr(s.module, "expand_only", None), bool)
    ]


def oldest_server(scripts: ScriptDirectory, revision: str) -> str:
    """The oldest schema head whose servers run on a database at ``revision``: the
    newest contract step at or below it decides (expand-only steps change nothing)."""
    for script in scripts.iterate_revisions(revision, "base"):  # newest first
        found = declaration(script)
        if not found.expand_only:
            return found.oldest_server
    raise AssertionError("the first migration is a contract step")  # pragma: no cover


def record(conn: Connection, scripts: ScriptDirectory, revision: str | None) -> None:
    """Write the compatibility row for ``revision`` (None: down to empty, no table)."""
    if revision is None:
        schema_compat.drop(conn, checkfirst=True)
        return
    schema_compat.create(conn, checkfirst=True)
    conn.execute(sa.delete(schema_compat))
    oldest = oldest_server(scripts, revision)
    conn.execute(sa.insert(schema_compat).values(revision=revision, oldest_server=oldest))


def recorded_oldest_server(conn: Connection, revision: str) -> str | None:
    """The oldest compatible schema head a newer Conveyor recorded for ``revision``."""
    if not sa.inspect(conn).has_table("schema_compat"):
        return None
    query = sa.select(schema_compat.c.oldest_server).where(schema_compat.c.revision == revision)
    found: str | None = conn.execute(query).scalar_one_or_none()
    return found
