"""``conveyor backup``: a consistent copy of the database while the server runs.

SQLite: the online backup API (``sqlite3.Connection.backup``) copies every page in
one step under a read transaction; in WAL mode that is a snapshot the server's
writer never waits on. The copy is written beside the destination, checked
(``PRAGMA quick_check``), synced and renamed into place, so a destination is never
half written. PostgreSQL: ``pg_dump --format=custom`` (a consistent snapshot too),
restored with ``pg_restore``; without ``pg_dump`` installed the error says what to
run. Both copies hold the signing keys: the file is made readable by its owner only.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa

from conveyor.errors import InvalidInput, StoreError
from conveyor.store.database import normalize_url

PG_DUMP_TIMEOUT_S = 6 * 3600  # a stuck dump ends; a large one has hours


@dataclass(frozen=True)
class Backup:
    """What :func:`backup_database` wrote."""

    dialect: str
    path: Path
    bytes: int
    seconds: float
    revision: str | None  # the schema revision of the copy (SQLite) or of the source


# Secrets a URL may carry in its query string, and the libpq variables that take them.
SECRET_QUERY_KEYS = {"password": "PGPASSWORD", "sslpassword": "PGSSLPASSWORD"}


def backup_database(url: str, dest: Path, *, force: bool = False) -> Backup:
    """Copy the database at ``url`` to ``dest``; refuse an existing ``dest`` unless ``force``."""
    dest = dest.expanduser().absolute()
    if dest.is_dir():
        raise InvalidInput(f"{dest} is a directory: give the backup file's path")
    if dest.exists() and not force:
        raise InvalidInput(f"{dest} already exists: give --force to overwrite it")
    if not dest.parent.is_dir():
        raise InvalidInput(f"{dest.parent} does not exist: create it first")
    parsed = sa.make_url(normalize_url(url))
    if parsed.get_backend_name() == "sqlite" and _same_file(dest, parsed.database):
        raise InvalidInput(f"{dest} is the database itself: give another path for the backup")
    partial = dest.with_name(f".{dest.name}.partial-{os.getpid()}")
    started = time.monotonic()
    try:
        if parsed.get_backend_name() == "sqlite":
            revision = _sqlite(parsed, partial)
        else:
            revision = _pg_dump(parsed, partial, dest)
        _fsync(partial)
        os.replace(partial, dest)
    finally:
        partial.unlink(missing_ok=True)
    return Backup(
        parsed.get_backend_name(), dest, dest.stat().st_size, time.monotonic() - started, revision
    )


def _same_file(dest: Path, database: str | None) -> bool:
    """Whether ``dest`` is the live SQLite file (or its journal): renaming a copy over it
    would cut the running server off its own writes."""
    if not database or database == ":memory:":
        return False
    source = Path(database).expanduser().absolute().resolve()
    target = dest.resolve()
    return target in (source, Path(f"{source}-wal"), Path(f"{source}-shm"))


def _private(path: Path) -> None:
    """Create ``path`` empty, readable by its owner only (it will hold the signing keys)."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))


def _sqlite(url: sa.URL, partial: Path) -> str | None:
    if not url.database or url.database == ":memory:":
        raise InvalidInput("an in-memory SQLite database cannot be backed up")
    source = Path(url.database).absolute()
    if not source.is_file():
        raise InvalidInput(f"no SQLite database at {source}")
    _private(partial)
    src = sqlite3.connect(f"file:{quote(str(source))}?mode=ro", uri=True, timeout=30)
    try:
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst)  # every page in one step: one consistent snapshot
            if dst.execute("PRAGMA quick_check").fetchone() != ("ok",):
                raise StoreError(f"the copy of {source} failed its integrity check")
            return _revision(dst)
        finally:
            dst.close()
    finally:
        src.close()


def _revision(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:  # not a Conveyor database (yet)
        return None
    return str(row[0]) if row else None


def libpq_url(url: sa.URL) -> str:
    """The URL as ``pg_dump`` / ``pg_restore`` read it, without its password."""
    query = {k: v for k, v in url.query.items() if k not in SECRET_QUERY_KEYS}
    bare = sa.URL.create(
        "postgresql", username=url.username, host=url.host, port=url.port,
        database=url.database, query=query,
    )  # fmt: skip
    return bare.render_as_string(hide_password=False)


def _pg_dump(url: sa.URL, partial: Path, dest: Path) -> str | None:
    target = libpq_url(url)
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise StoreError(
            "pg_dump is not installed here: install the PostgreSQL client tools of your "
            f"server's version (e.g. postgresql-client), or run: pg_dump --format=custom "
            f"--file {dest} '{target}'"
        )
    _private(partial)
    env = dict(os.environ)
    # Never on the command line, where `ps` shows it: in the environment libpq reads.
    for key, variable in SECRET_QUERY_KEYS.items():
        value = url.query.get(key)
        if value:
            env[variable] = value if isinstance(value, str) else value[-1]
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    done = subprocess.run(
        [pg_dump, "--format=custom", "--file", str(partial), "--dbname", target],
        env=env, capture_output=True, text=True, timeout=PG_DUMP_TIMEOUT_S, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise StoreError(f"pg_dump failed: {reason}")
    return _pg_revision(url)


def _pg_revision(url: sa.URL) -> str | None:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("alembic_version"):
                return None
            found: str | None = conn.exec_driver_sql(
                "SELECT version_num FROM alembic_version"
            ).scalar_one_or_none()
            return found
    finally:
        engine.dispose()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
