"""Upgrade a database under a lock, and refuse a schema newer than this code.

Migrations are expand/contract so versions N and N+1 run side by side. On
PostgreSQL the run holds a transaction-level advisory lock, so replicas starting
together migrate once; on SQLite BEGIN IMMEDIATE does the same. A schema newer
than this code is refused unless its compatibility record (``store/compat.py``)
says servers of this code's head still run on it: the rolling upgrade's case.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import sqlalchemy as sa
import structlog
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from conveyor.errors import SchemaOutdated, SchemaTooNew
from conveyor.store import compat
from conveyor.store.database import Database

log = structlog.get_logger(__name__)

_LOCK_ID = 7_362_514_098  # arbitrary, constant: "conveyor migrate"


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option(
        "script_location", str(resources.files("conveyor.store").joinpath("migrations"))
    )
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return current_revision_of(conn)


def current_revision_of(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


@dataclass(frozen=True)
class Revision:
    """A migration: its revision id and the first line of its docstring."""

    revision: str
    title: str


def is_known(revision: str) -> bool:
    """Whether this version of Conveyor has the migration ``revision``."""
    scripts = ScriptDirectory.from_config(alembic_config())
    return any(s.revision == revision for s in scripts.walk_revisions())


def pending_revisions(current: str | None) -> list[Revision]:
    """The migrations after ``current`` (None: an empty database), oldest first."""
    scripts = ScriptDirectory.from_config(alembic_config())
    steps = scripts.iterate_revisions("heads", current or "base")
    found = [Revision(s.revision, (s.doc or "").strip().splitlines()[0]) for s in steps]
    return [r for r in reversed(found) if r.revision != current]


@dataclass(frozen=True)
class NewerSchema:
    """A database at a revision this code does not know: a newer Conveyor migrated it."""

    revision: str
    head: str  # this code's newest revision
    oldest_server: str | None  # what the newer Conveyor recorded; None: nothing recorded

    @property
    def compatible(self) -> bool:
        """Whether servers of this code's head may run on it (the newer steps only add)."""
        return self.oldest_server is not None and is_known(self.oldest_server)

    def error(self) -> SchemaTooNew:
        needs = (
            f"which needs a server of schema {self.oldest_server} or newer"
            if self.oldest_server is not None
            else "which records no older server it supports"
        )
        return SchemaTooNew(
            f"the database is at schema revision {self.revision}, newer than this version "
            f"of Conveyor knows (up to {self.head}), {needs}: upgrade Conveyor on this "
            "machine to the version that migrated it",
            revision=self.revision,
            head=self.head,
            oldest_server=self.oldest_server,
        )


def newer_schema(conn: Connection, current: str | None) -> NewerSchema | None:
    """None unless ``current`` is a revision this code does not know."""
    if current is None or is_known(current):
        return None
    return NewerSchema(current, head_revision(), compat.recorded_oldest_server(conn, current))


def check(engine: Engine) -> None:
    """Raise unless the database is at this code's head revision, or at a newer one
    that records this code's head as compatible (then log a warning and go on)."""
    with engine.connect() as conn:
        current = current_revision_of(conn)
        if current == head_revision():
            return
        newer = newer_schema(conn, current)
    if newer is None:
        raise SchemaOutdated(revision=current)
    if not newer.compatible:
        raise newer.error()
    _warn_newer(newer)


def _warn_newer(newer: NewerSchema) -> None:
    log.warning(
        "the database schema is newer than this server's: running on it (a rolling upgrade); "
        "upgrade this server soon",
        revision=newer.revision,
        head=newer.head,
        oldest_server=newer.oldest_server,
    )


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate to ``revision`` (default: the newest), holding the migration lock."""
    _run(engine, lambda cfg: command.upgrade(cfg, revision), check_newer=True)


@dataclass(frozen=True)
class SchemaUpgrade:
    """What :func:`upgrade_schema` did: the schema revision before and after (None: empty)."""

    before: str | None
    after: str | None

    @property
    def migrated(self) -> bool:
        return self.before != self.after


def upgrade_schema(url: str) -> SchemaUpgrade:
    """Upgrade the database at ``url`` to the newest schema (``conveyor migrate``).

    Safe to run from several places at once: see :func:`upgrade`.
    """
    engine = Database.sync_engine_for(url)
    try:
        before = current_revision(engine)
        upgrade(engine)
        return SchemaUpgrade(before, current_revision(engine))
    finally:
        engine.dispose()


def downgrade(engine: Engine, revision: str) -> None:
    _run(engine, lambda cfg: command.downgrade(cfg, revision), check_newer=False)


def _run(engine: Engine, action: object, *, check_newer: bool) -> None:
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
        if check_newer:
            newer = newer_schema(conn, current_revision_of(conn))
            if newer is not None and not newer.compatible:
                raise newer.error()
            if newer is not None:
                return  # nothing to do: a newer Conveyor migrated it further already
        assert callable(action)
        action(alembic_config(conn))
        scripts = ScriptDirectory.from_config(alembic_config())
        compat.record(conn, scripts, current_revision_of(conn))
