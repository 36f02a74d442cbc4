"""Run store operations against SQLite or PostgreSQL.

A store operation is a plain function ``op(tx, ...)`` over a SQLAlchemy
``Connection``; this module decides how it runs:

* SQLite: one writer thread owns the write connection. It drains every waiting
  operation into one ``BEGIN IMMEDIATE`` transaction, runs each in its own
  savepoint, commits once and hands each caller its own result or error (group
  commit): callers never see "database is locked", and throughput grows with load.
  Reads run on a small pool of read connections (WAL lets them run beside the
  writer). Other processes on the same file use ``BEGIN IMMEDIATE`` with a busy
  timeout.
* PostgreSQL: each operation is one transaction on the async engine (psycopg 3);
  the few statements that differ use ``SKIP LOCKED``. Deadlocks and serialization
  failures are retried.

After commit, what the operation recorded on ``tx`` is published on the event bus.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import uuid
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

import orjson
import sqlalchemy as sa
import structlog
from psycopg import _queries as psycopg_queries
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.util import greenlet_spawn

from conveyor.errors import StoreError
from conveyor.store.dialects import driver_statement, queries, statement
from conveyor.store.read_cache import CATALOG, TOPICS, ReadCache
from conveyor.store.types import to_micros

log = structlog.get_logger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

_RETRYABLE_PG = {"40001", "40P01"}  # serialization_failure, deadlock_detected


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
        if self.dialect == "sqlite":
            params = {k: _sqlite_param(v) for k, v in params.items()}
        sql = driver_statement(self.dialect, name)
        result = self.conn.exec_driver_sql(sql, params)
        if not result.returns_rows:
            return []
        rows = list(result.cursor.fetchall())
        result.close()
        return rows

    def rows_many(self, name: str, rows: list[tuple[Any, ...]]) -> None:
        """Run a named statement with positional parameters once per row (executemany)."""
        self.conn.exec_driver_sql(driver_statement(self.dialect, name), rows)


Op = Callable[Concatenate[Tx, P], R]
Publish = Callable[[Tx], None]


def _sqlite_param(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return to_micros(value)
    return value


def _pg_engine(url: str, pool_size: int, *, isolation_level: str | None = None) -> AsyncEngine:
    """An engine on psycopg 3 whose connections plan for the tables as they are."""
    options: dict[str, Any] = (
        {} if isolation_level is None else {"isolation_level": isolation_level}
    )
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        # No ping per checkout (a round trip per transaction): a connection found
        # dead is retried instead (see _write_pg), and the pool is then renewed.
        json_serializer=json_dumps,
        json_deserializer=orjson.loads,
        **options,
    )
    plan_for_the_tables_as_they_are(engine)
    return engine


def plan_for_the_tables_as_they_are(engine: AsyncEngine) -> None:
    """Every new connection prices sequential scans out (``enable_seqscan=off``).

    A prepared statement's generic plan is kept for the life of the connection, and
    it is made again only when an ANALYZE (or VACUUM) of its tables invalidates it.
    Where none runs (autovacuum off, or behind a fast-growing queue) a plan made
    while ``jobs`` was small stays a sequential scan as the table grows: measured,
    19,944 scans reading 200 million rows in a 20,000-job cycle at batch 1. Every
    statement of the hot path is written for an index (claim order, ids, leases,
    due times), so with sequential scans priced out a plan uses them whatever the
    size of the table when it was made. A query with no usable index still runs
    (the planner takes a disabled path when it has no other).

    This replaced ``plan_cache_mode=force_custom_plan``, which avoided stale plans
    by planning every execution afresh: 0.2-0.3 ms per statement, about a sixth of
    the engine's throughput at batch 100, and its plans still hashed sequential
    scans for batches it guessed large. Set by a statement on connect, not a
    startup option, which connection poolers such as PgBouncer refuse.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        autocommit = dbapi_conn.autocommit
        dbapi_conn.autocommit = True  # a SET outside any transaction, kept for the session
        cursor = dbapi_conn.cursor()
        cursor.execute("SET enable_seqscan = off")
        cursor.close()
        dbapi_conn.autocommit = autocommit


def cache_the_parse_of_every_statement() -> None:
    """Let psycopg keep its parse of each of our statements, however long.

    psycopg turns a query's ``%(name)s`` placeholders into ``$n`` with a regular
    expression over the whole text, and keeps the result only for queries up to
    4 KiB (its ``MAX_CACHED_STATEMENT_LENGTH``, a guard against ever-different
    generated SQL). ``submit_jobs`` is 7 KiB, so every submit parsed it again: 116 us
    to turn its parameters into a query where a cached parse takes 25 us, measured.
    Our statements are a fixed set, so the limit is raised to the longest of them
    (and never lowered); other long queries keep psycopg's rule.
    """
    longest = max(
        len(driver_statement("postgresql", name).encode()) for name in queries("postgresql")
    )
    limit = max(psycopg_queries.MAX_CACHED_STATEMENT_LENGTH, longest)
    psycopg_queries.MAX_CACHED_STATEMENT_LENGTH = limit


def normalize_url(url: str) -> str:
    """Accept the URLs people write and pick our drivers."""
    if url.startswith(("postgres://", "postgresql://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


class Database:
    """Owns the engines of one store and runs operations on them."""

    dialect: str

    def __init__(self, url: str, *, pool_size: int = 10, sqlite_synchronous: str = "FULL") -> None:
        self.url = normalize_url(url)
        self.sync_url = sa.make_url(self.url)
        self.dialect = self.sync_url.get_backend_name()
        self._publish: Publish | None = None
        self.cache = ReadCache(topics=TOPICS if self.dialect == "postgresql" else (CATALOG,))
        if self.dialect == "sqlite":
            self._writer = _SqliteWriter(
                sqlite_engine(self.url, synchronous=sqlite_synchronous, pool_size=1)
            )
            self._read_engine = sqlite_engine(self.url, synchronous=sqlite_synchronous, pool_size=4)
            self._readers = ThreadPoolExecutor(4, thread_name_prefix="conveyor-sqlite-read")
        elif self.dialect == "postgresql":
            # Transactions (write) on one pool; reads and write_statement, which need
            # none, on connections that stay in autocommit. Switching a pooled
            # connection to autocommit and back costs two trips through the event
            # loop per operation (about 0.13 ms, measured), so the two are kept apart.
            self._async_engine = _pg_engine(self.url, pool_size)
            self._autocommit_engine = _pg_engine(self.url, pool_size, isolation_level="AUTOCOMMIT")
            _count_statements(self._autocommit_engine)
            cache_the_parse_of_every_statement()
        else:
            raise StoreError(f"unsupported database {self.dialect!r}: use sqlite or postgresql")

    def sync_engines(self) -> list[Engine]:
        """Every engine whose connections run the store's statements."""
        if self.dialect == "sqlite":
            return [self._writer._engine, self._read_engine]
        return [self._async_engine.sync_engine, self._autocommit_engine.sync_engine]

    def on_commit(self, publish: Publish) -> None:
        self._publish = publish

    def sync_engine(self) -> Engine:
        """A synchronous engine for migrations and admin tools."""
        return self.sync_engine_for(self.url)

    @staticmethod
    def sync_engine_for(url: str) -> Engine:
        url = normalize_url(url)
        if sa.make_url(url).get_backend_name() == "sqlite":
            return sqlite_engine(url, synchronous="FULL", pool_size=1)
        return sa.create_engine(url, json_serializer=json_dumps, json_deserializer=orjson.loads)

    def _now(self, now: datetime | None) -> datetime | None:
        # SQLite runs in this process: its clock is ours. (Writes read it inside the
        # writer, under the write lock.)
        return now if now is not None or self.dialect != "sqlite" else datetime.now(UTC)

    async def write(
        self, op: Op[P, R], now: datetime | None, /, *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """Run ``op`` in a write transaction and publish what it recorded after commit."""
        if self.dialect == "sqlite":
            result, tx = await self._writer.run(op, now, args, kwargs)
        else:
            result, tx = await self._write_pg(op, now, args, kwargs)
        self._published(tx)
        return result

    async def write_statement(
        self, op: Op[P, R], now: datetime | None, /, *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """Run ``op``, which sends exactly one statement, as its own transaction.

        PostgreSQL only: the statement runs in autocommit, so there is no ``BEGIN``
        before it and no ``COMMIT`` after it, two round trips less than
        :meth:`write`; its result arrives once it is committed. Only an operation
        whose one statement is the whole change may run this way (a second one
        raises :class:`StoreError` before it is sent). What it recorded is then
        published as :meth:`write` does.
        """
        if self.dialect != "postgresql":
            raise StoreError("write_statement runs on PostgreSQL only")
        engine = self._autocommit_engine.sync_engine
        for attempt in range(5):
            try:
                done: tuple[R, Tx] = await greenlet_spawn(
                    _write_pg_statement, engine, op, now, args, kwargs
                )
            except sa.exc.DBAPIError as exc:
                # A deadlock or serialization failure rolled the statement back: run it
                # again. A dropped connection may have committed it: never retried.
                if getattr(exc.orig, "sqlstate", None) not in _RETRYABLE_PG or attempt == 4:
                    raise
                await asyncio.sleep(0.005 * 2**attempt)
                continue
            self._published(done[1])
            return done[0]
        raise AssertionError("unreachable")

    def _published(self, tx: Tx) -> None:
        """After commit: forget what the transaction changed, publish what it recorded."""
        for topic in tx.forget:
            self.cache.forget(topic)
        if self._publish is not None and (tx.last_event_seq or tx.work_available):
            self._publish(tx)

    async def _write_pg(
        self, op: Op[P, R], now: datetime | None, args: Any, kwargs: Any
    ) -> tuple[R, Tx]:
        engine = self._async_engine.sync_engine
        for attempt in range(5):
            progress = _Progress()
            try:
                return await greenlet_spawn(_write_pg_op, engine, progress, op, now, args, kwargs)
            except sa.exc.DBAPIError as exc:
                sqlstate = getattr(exc.orig, "sqlstate", None)
                # A connection that died before COMMIT was sent (a restarted server, a
                # killed backend) wrote nothing: run again on a fresh one. One that died
                # during COMMIT may have written: never retried.
                dropped = exc.connection_invalidated and not progress.ran
                if not (sqlstate in _RETRYABLE_PG or dropped) or attempt == 4:
                    raise
                await asyncio.sleep(0.005 * 2**attempt)
        raise AssertionError("unreachable")

    async def read(
        self, op: Op[P, R], now: datetime | None, /, *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """Run ``op`` in a read-only transaction."""
        now = self._now(now)
        if self.dialect == "sqlite":
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(
                self._readers, _run_sqlite_read, self._read_engine, op, now, args, kwargs
            )
        # Autocommit: no BEGIN and ROLLBACK around the reads. Under READ COMMITTED each
        # statement takes its own snapshot either way, so a read sees nothing different.
        for attempt in range(2):
            try:
                return await greenlet_spawn(
                    _read_pg_op, self._autocommit_engine.sync_engine, op, now, args, kwargs
                )
            except sa.exc.DBAPIError as exc:
                if not exc.connection_invalidated or attempt == 1:
                    raise  # a read on a dropped connection is simply read again
        raise AssertionError("unreachable")

    async def read_cached(
        self, topic: str, key: Hashable, op: Op[P, R], /, *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """``read(op, None, ...)`` through the cache: a copy kept under ``(topic, key)``
        until a write of ``topic`` commits (see read_cache)."""
        found, value = self.cache.get(topic, key)
        if found:
            return cast(R, value)
        generation = self.cache.generation(topic)
        fresh = await self.read(op, None, *args, **kwargs)
        self.cache.put(topic, key, fresh, generation)
        return fresh

    async def close(self) -> None:
        if self.dialect == "sqlite":
            await self._writer.close()
            self._readers.shutdown(wait=True)
            self._read_engine.dispose()
        else:
            await self._async_engine.dispose()
            await self._autocommit_engine.dispose()


# PostgreSQL operations run on the async engine's synchronous face, inside one greenlet
# per operation: checkout, BEGIN, the statements, COMMIT and the return to the pool with
# no trip back to the event loop between them, which ``AsyncConnection`` costs (about
# 0.15 ms per read). ``greenlet_spawn`` is the helper SQLAlchemy's asyncio extension is
# built on (``run_sync`` is this plus those trips); SQLAlchemy is pinned, and the store
# tests exercise it on every operation.


@dataclass
class _Progress:
    ran: bool = False  # the operation's statements all ran; COMMIT was next


def _write_pg_op(
    engine: Engine,
    progress: _Progress,
    op: Op[..., R],
    now: datetime | None,
    args: Any,
    kwargs: Any,
) -> tuple[R, Tx]:
    with engine.begin() as conn:
        done = _run_pg_op(conn, op, now, args, kwargs)
        progress.ran = True
    return done


def _write_pg_statement(
    engine: Engine, op: Op[..., R], now: datetime | None, args: Any, kwargs: Any
) -> tuple[R, Tx]:
    with engine.connect() as conn:  # the autocommit engine
        conn.info[_STATEMENTS_LEFT] = 1
        try:
            return _run_pg_op(conn, op, now, args, kwargs)
        finally:
            del conn.info[_STATEMENTS_LEFT]


_STATEMENTS_LEFT = "conveyor_statements_left"
"""Key in a connection's ``info`` while it runs an operation of ``write_statement``."""


def _count_statements(engine: AsyncEngine) -> None:
    """Refuse a second statement in ``write_statement``: in autocommit it would be a
    transaction of its own, and the operation's change would no longer be atomic."""

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _before(conn: Connection, *_: Any) -> None:
        left = conn.info.get(_STATEMENTS_LEFT)
        if left is not None:
            if left < 1:
                raise StoreError("an operation run as one statement sent a second")
            conn.info[_STATEMENTS_LEFT] = left - 1


def _read_pg_op(engine: Engine, op: Op[..., R], now: datetime | None, args: Any, kwargs: Any) -> R:
    with engine.connect() as conn:
        return op(Tx(conn, "postgresql", now), *args, **kwargs)


def _run_pg_op(
    conn: Connection, op: Op[..., R], now: datetime | None, args: Any, kwargs: Any
) -> tuple[R, Tx]:
    tx = Tx(conn, "postgresql", now)
    result = op(tx, *args, **kwargs)
    told = tx.notified == (tx.last_event_seq, tx.work_available) and not tx.control
    if (tx.last_event_seq or tx.work_available) and not told:
        # One small NOTIFY per transaction; delivered on commit.
        note: dict[str, Any] = {"seq": tx.last_event_seq, "work": tx.work_available}
        if tx.control:
            note["control"] = True
        if tx.forget:
            note["forget"] = sorted(tx.forget)
        payload = json_dumps(note)
        tx.rows("notify", {"payload": payload})
    return result, tx


def _run_sqlite_read(
    engine: Engine, op: Op[..., R], now: datetime | None, args: Any, kwargs: Any
) -> R:
    with engine.connect() as conn:
        try:
            return op(Tx(conn, "sqlite", now), *args, **kwargs)
        finally:
            conn.rollback()


def sqlite_engine(url: str, *, synchronous: str, pool_size: int) -> Engine:
    """A SQLite engine in WAL mode whose transactions start with BEGIN IMMEDIATE.

    Deferred BEGIN upgrades from read to write mid-transaction, and that upgrade
    fails at once with SQLITE_BUSY, ignoring busy_timeout; BEGIN IMMEDIATE takes
    the write lock up front and waits for it.
    """
    if synchronous not in ("FULL", "NORMAL"):
        raise StoreError("sqlite synchronous must be FULL or NORMAL")
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

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


@dataclass
class _Work:
    op: Op[..., Any]
    now: datetime | None
    args: Any
    kwargs: Any
    future: asyncio.Future[tuple[Any, Tx]]
    loop: asyncio.AbstractEventLoop


class _SqliteWriter:
    """The single writer of a SQLite file: group commit on a dedicated thread."""

    max_batch = 512

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
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
        self._engine.dispose()

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
                with self._engine.connect() as conn:
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
