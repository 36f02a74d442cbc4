"""SQLite: its engines, and the single writer that group-commits every write.

One writer thread owns the write connection. It drains every waiting operation
into one ``BEGIN IMMEDIATE`` transaction, runs each in its own savepoint, commits
once and hands each caller its own result or error (group commit): callers never
see "database is locked", and throughput grows with load. Reads run on a small
pool of read connections (:func:`run_read`), which WAL lets run beside the writer.
"""

from __future__ import annotations

import asyncio
import math
import queue
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import orjson
import sqlalchemy as sa
import structlog
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from conveyor.errors import StoreError
from conveyor.private_files import private_sqlite
from conveyor.store.transaction import Op, Tx, json_dumps

log = structlog.get_logger(__name__)

R = TypeVar("R")


def run_read(engine: Engine, op: Op[..., R], now: datetime | None, args: Any, kwargs: Any) -> R:
    with engine.connect() as conn:
        try:
            return op(Tx(conn, "sqlite", now), *args, **kwargs)
        finally:
            conn.rollback()


def _make_private(url: str) -> None:
    """The database file holds the signing keys: 0600 before SQLite first opens it (its
    WAL and SHM files then get the same mode), whatever the process umask."""
    database = sa.make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if path.parent.is_dir():  # else SQLite itself says it cannot open the file
        private_sqlite(path)


def sqlite_engine(url: str, *, synchronous: str, pool_size: int) -> Engine:
    """A SQLite engine in WAL mode whose transactions start with BEGIN IMMEDIATE.

    Deferred BEGIN upgrades from read to write mid-transaction, and that upgrade
    fails at once with SQLITE_BUSY, ignoring busy_timeout; BEGIN IMMEDIATE takes
    the write lock up front and waits for it.
    """
    if synchronous not in ("FULL", "NORMAL"):
        raise StoreError("sqlite synchronous must be FULL or NORMAL")
    _make_private(url)
    engine = sa.create_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        json_serializer=json_dumps,
        json_deserializer=orjson.loads,
        connect_args={"check_same_thread": False, "timeout": 30},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA temp_store=MEMORY")  # staging tables (submit_stage)
        cursor.close()
        ensure_math_functions(dbapi_conn)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def ensure_math_functions(conn: sqlite3.Connection) -> None:
    """The rollup triggers (revision 0013) call ``log2()`` and ``floor()``, which SQLite
    has only when built with SQLITE_ENABLE_MATH_FUNCTIONS: some Python builds lack them,
    and every claim would then fail. Give such a connection Python's own."""
    try:
        conn.execute("SELECT log2(2), floor(1.5)").fetchone()
    except sqlite3.OperationalError:
        register_math_functions(conn)


def register_math_functions(conn: sqlite3.Connection) -> None:
    conn.create_function("log2", 1, _log2, deterministic=True)
    conn.create_function("floor", 1, _floor, deterministic=True)


def _log2(x: float | None) -> float | None:
    return math.log2(x) if x is not None and x > 0 else None  # SQLite's: NULL outside


def _floor(x: float | None) -> float | None:
    return None if x is None else float(math.floor(x))


@dataclass
class _Work:
    op: Op[..., Any]
    now: datetime | None
    args: Any
    kwargs: Any
    future: asyncio.Future[tuple[Any, Tx]]
    loop: asyncio.AbstractEventLoop


class SqliteWriter:
    """The single writer of a SQLite file: group commit on a dedicated thread."""

    max_batch = 512

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._queue: queue.SimpleQueue[_Work | None] = queue.SimpleQueue()
        self._thread = threading.Thread(
            target=self._loop, name="conveyor-sqlite-writer", daemon=True
        )
        self._thread.start()

    async def run(
        self, op: Op[..., R], now: datetime | None, args: Any, kwargs: Any
    ) -> tuple[R, Tx]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[Any, Tx]] = loop.create_future()
        self._queue.put(_Work(op, now, args, kwargs, future, loop))
        return await future

    async def close(self) -> None:
        self._queue.put(None)
        await asyncio.get_running_loop().run_in_executor(None, self._thread.join)
        self.engine.dispose()

    def _loop(self) -> None:
        # Connect on first use, not at construction: Store.open migrates the file on
        # another connection meanwhile, and two connections switching a fresh file to
        # WAL at once can fail with "database is locked". A connection that fails or
        # breaks fails the callers it was serving, never the thread: the next
        # operation connects again.
        while True:
            first = self._queue.get()
            if first is None:
                return
            try:
                with self.engine.connect() as conn:
                    if not self._serve(conn, first):
                        return
            except Exception as exc:
                log.exception("sqlite writer lost its connection; reconnecting")
                first.loop.call_soon_threadsafe(_settle, first.future, None, exc)

    def _serve(self, conn: Connection, first: _Work) -> bool:
        """Commit batches until the queue says stop (False) or the connection breaks."""
        while True:
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    work = self._queue.get_nowait()
                except queue.Empty:
                    break
                if work is None:
                    self._commit(conn, batch)
                    return False
                batch.append(work)
            self._commit(conn, batch)
            next_work = self._queue.get()
            if next_work is None:
                return False
            first = next_work

    def _commit(self, conn: Connection, batch: list[_Work]) -> None:
        outcomes: list[tuple[_Work, Any, BaseException | None]] = []
        # A lone operation needs no savepoint: if it fails, rolling back the whole
        # transaction undoes exactly its work (the except below hands it its error).
        nested = len(batch) > 1
        try:
            with conn.begin():
                for work in batch:
                    savepoint = conn.begin_nested() if nested else None
                    try:
                        # The clock is read here, holding the write lock, so times
                        # follow commit order even across processes.
                        now = work.now if work.now is not None else datetime.now(UTC)
                        tx = Tx(conn, "sqlite", now)
                        result = work.op(tx, *work.args, **work.kwargs)
                    except Exception as exc:
                        if savepoint is None:
                            raise
                        savepoint.rollback()
                        outcomes.append((work, None, exc))
                    else:
                        if savepoint is not None:
                            savepoint.commit()
                        outcomes.append((work, (result, tx), None))
        except Exception as exc:  # the commit (or a lone op) failed: nobody's work stands
            outcomes = [(work, None, exc) for work in batch]
        for work, value, error in outcomes:
            work.loop.call_soon_threadsafe(_settle, work.future, value, error)


def _settle(future: asyncio.Future[Any], value: Any, error: BaseException | None) -> None:
    if future.done():  # the caller went away
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)
