"""A read-only look at a database for ``conveyor doctor``: reachable, which version,
its clock, its schema revision, its signing keys.

Unlike :meth:`Store.open` it never migrates, never creates a SQLite file and
never changes a file's mode: a diagnosis must not repair what it looks at, nor
hide what it found.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa

from conveyor.errors import StoreError
from conveyor.store import migrate
from conveyor.store.database import normalize_url
from conveyor.store.failures import is_unavailable
from conveyor.store.schema import signing_keys

CONNECT_TIMEOUT_S = 5


class DatabaseMissing(StoreError):
    """The SQLite file the URL names does not exist (yet)."""


@dataclass(frozen=True)
class DatabaseProbe:
    """What :func:`probe_database` saw."""

    dialect: str  # "sqlite" or "postgresql"
    version: str
    where: str  # the URL without its password; a SQLite file's path
    round_trip_s: float
    # The database clock minus this machine's, and how precisely it is known (half the
    # round trip). None on SQLite: it runs in this process, on this machine's clock.
    clock_skew_s: float | None
    clock_uncertainty_s: float
    revision: str | None  # None: an empty database
    head: str
    pending: list[migrate.Revision]  # oldest first; empty when at head or too new
    too_new: bool  # a revision this code does not know
    newer: migrate.NewerSchema | None  # when too new: whether this code may run on it
    signing_keys: int | None  # keys that sign (not retired); None before the schema
    signing_key_created: datetime | None  # when the current one was made
    sqlite_path: Path | None  # the database file, for its permissions


def probe_database(url: str) -> DatabaseProbe:
    """Look at the database at ``url``; :class:`DatabaseMissing` for an absent SQLite
    file, :class:`StoreUnavailable`-like :class:`StoreError` when it cannot be reached."""
    where = sa.make_url(url).render_as_string(hide_password=True)  # as the operator wrote it
    url = normalize_url(url)
    parsed = sa.make_url(url)
    sqlite_path: Path | None = None
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise StoreError("an in-memory SQLite database has nothing to check")
        sqlite_path = Path(parsed.database).resolve()
        if not sqlite_path.exists():
            raise DatabaseMissing(f"no SQLite database at {sqlite_path}")
        where = str(sqlite_path)
        # Read-only: no file, WAL or mode is created or changed by looking.
        ro_uri = f"file:{quote(str(sqlite_path))}?mode=ro"
        engine = sa.create_engine("sqlite://", creator=lambda: sqlite3.connect(ro_uri, uri=True))
    else:
        engine = sa.create_engine(url, connect_args={"connect_timeout": CONNECT_TIMEOUT_S})
    try:
        with engine.connect() as conn:
            return _probe(conn, where, sqlite_path)
    except sa.exc.SQLAlchemyError as exc:
        if not is_unavailable(exc):
            raise
        raise StoreError(f"cannot reach the database at {where}: {_first_line(exc)}") from None
    finally:
        engine.dispose()


def _probe(conn: sa.Connection, where: str, sqlite_path: Path | None) -> DatabaseProbe:
    dialect = conn.dialect.name
    before = time.time()
    if dialect == "postgresql":
        row = conn.exec_driver_sql(
            "SELECT current_setting('server_version'), clock_timestamp()"
        ).one()
        version, db_now = f"PostgreSQL {row[0]}", row[1]
    else:
        version, db_now = f"SQLite {sqlite3.sqlite_version}", None
        conn.exec_driver_sql("SELECT 1").one()
    after = time.time()
    skew = None
    if db_now is not None:
        skew = db_now.astimezone(UTC).timestamp() - (before + after) / 2
    revision = migrate.current_revision_of(conn)
    head = migrate.head_revision()
    newer = migrate.newer_schema(conn, revision)
    too_new = newer is not None
    pending = [] if too_new else migrate.pending_revisions(revision)
    keys, created = None, None
    if sa.inspect(conn).has_table("signing_keys"):
        current = signing_keys.c.retired_at.is_(None)
        keys = conn.execute(sa.select(sa.func.count()).where(current)).scalar_one()
        newest = sa.select(sa.func.max(signing_keys.c.created_at)).where(current)
        created = conn.execute(newest).scalar_one()
    return DatabaseProbe(
        dialect=dialect, version=version, where=where, round_trip_s=after - before,
        clock_skew_s=skew, clock_uncertainty_s=(after - before) / 2,
        revision=revision, head=head, pending=pending, too_new=too_new, newer=newer,
        signing_keys=keys, signing_key_created=created, sqlite_path=sqlite_path,
    )  # fmt: skip


def _first_line(exc: BaseException) -> str:
    """The driver's own reason, without SQLAlchemy's background link."""
    cause = getattr(exc, "orig", None) or exc
    return str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
