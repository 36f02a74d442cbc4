"""Run store operations against SQLite or PostgreSQL.

A store operation is a plain function ``op(tx, ...)`` over a SQLAlchemy
``Connection`` (:mod:`conveyor.store.transaction`); :class:`Database` decides how
it runs: on SQLite through the single writer (group commit, see
:mod:`conveyor.store.sqlite_writer`) and a small pool of readers; on PostgreSQL
as one transaction on the async engine, or one autocommit statement (see
:mod:`conveyor.store.postgresql`), with deadlocks and serialization failures
retried. After commit, what the operation recorded on ``tx`` is published.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar, cast

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.util import greenlet_spawn

from conveyor.errors import StoreError
from conveyor.store import postgresql, sqlite_writer
from conveyor.store.failures import unavailable_as_store_error
from conveyor.store.read_cache import CATALOG, FLOW, TOPICS, ReadCache
from conveyor.store.sqlite_writer import SqliteWriter, sqlite_engine
from conveyor.store.transaction import Op, Publish, Tx, json_dumps

P = ParamSpec("P")
R = TypeVar("R")

_RETRYABLE_PG = {"40001", "40P01"}  # serialization_failure, deadlock_detected


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
        # Metrics: told (kind, operation, seconds) after every store call; None: not timed.
        self.observe: Callable[[str, str, float], None] | None = None
        self.cache = ReadCache(topics=TOPICS if self.dialect == "postgresql" else (CATALOG, FLOW))
        if self.dialect == "sqlite":
            self._writer = SqliteWriter(
                sqlite_engine(self.url, synchronous=sqlite_synchronous, pool_size=1)
            )
            self._read_engine = sqlite_engine(self.url, synchronous=sqlite_synchronous, pool_size=4)
            self._readers = ThreadPoolExecutor(4, thread_name_prefix="conveyor-sqlite-read")
        elif self.dialect == "postgresql":
            # Transactions (write) on one pool; reads and write_statement, which need
            # none, on connections that stay in autocommit. Switching a pooled
            # connection to autocommit and back costs two trips through the event
            # loop per operation (about 0.13 ms, measured), so the two are kept apart.
            self._async_engine = postgresql.pg_engine(self.url, pool_size)
            self._autocommit_engine = postgresql.pg_engine(
                self.url, pool_size, isolation_level="AUTOCOMMIT"
            )
            postgresql.count_statements(self._autocommit_engine)
            postgresql.cache_the_parse_of_every_statement()
        else:
            raise StoreError(f"unsupported database {self.dialect!r}: use sqlite or postgresql")

    def pool_use(self) -> list[tuple[str, int, int]]:
        """(pool, size, connections in use) of each connection pool: for the metrics."""
        names = ("writer", "readers") if self.dialect == "sqlite" else ("transactions", "reads")
        found = []
        for name, engine in zip(names, self.sync_engines(), strict=True):
            pool = engine.pool
            size = pool.size() if isinstance(pool, sa.pool.QueuePool) else 0
            used = pool.checkedout() if isinstance(pool, sa.pool.QueuePool) else 0
            found.append((name, size, used))
        return found

    def sync_engines(self) -> list[Engine]:
        """Every engine whose connections run the store's statements."""
        if self.dialect == "sqlite":
            return [self._writer.engine, self._read_engine]
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
        """Run ``op`` in a write transaction and publish what it recorded after commit.

        A database that cannot be reached raises :class:`StoreUnavailable` (so do
        :meth:`write_statement` and :meth:`read`): see :mod:`conveyor.store.failures`.
        """
        start = time.perf_counter()
        try:
            with unavailable_as_store_error():
                if self.dialect == "sqlite":
                    result, tx = await self._writer.run(op, now, args, kwargs)
                else:
                    result, tx = await self._write_pg(op, now, args, kwargs)
        finally:
            if self.observe is not None:
                self.observe("write", _name(op), time.perf_counter() - start)
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
        start = time.perf_counter()
        try:
            with unavailable_as_store_error():
                done = await self._write_statement_pg(op, now, args, kwargs)
        finally:
            if self.observe is not None:
                self.observe("write", _name(op), time.perf_counter() - start)
        self._published(done[1])
        return done[0]

    async def _write_statement_pg(
        self, op: Op[P, R], now: datetime | None, args: Any, kwargs: Any
    ) -> tuple[R, Tx]:
        engine = self._autocommit_engine.sync_engine
        for attempt in range(5):
            try:
                done: tuple[R, Tx] = await greenlet_spawn(
                    postgresql.write_as_statement, engine, op, now, args, kwargs
                )
            except sa.exc.DBAPIError as exc:
                # A deadlock or serialization failure rolled the statement back: run it
                # again. A dropped connection may have committed it: never retried.
                if getattr(exc.orig, "sqlstate", None) not in _RETRYABLE_PG or attempt == 4:
                    raise
                await asyncio.sleep(0.005 * 2**attempt)
                continue
            return done
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
            progress = postgresql.Progress()
            try:
                return await greenlet_spawn(
                    postgresql.write_in_transaction, engine, progress, op, now, args, kwargs
                )
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
        start = time.perf_counter()
        try:
            with unavailable_as_store_error():
                return await self._read(op, self._now(now), args, kwargs)
        finally:
            if self.observe is not None:
                self.observe("read", _name(op), time.perf_counter() - start)

    async def _read(self, op: Op[P, R], now: datetime | None, args: Any, kwargs: Any) -> R:
        if self.dialect == "sqlite":
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(
                self._readers, sqlite_writer.run_read, self._read_engine, op, now, args, kwargs
            )
        # Autocommit: no BEGIN and ROLLBACK around the reads. Under READ COMMITTED each
        # statement takes its own snapshot either way, so a read sees nothing different.
        for attempt in range(2):
            try:
                return await greenlet_spawn(
                    postgresql.read_in_autocommit,
                    self._autocommit_engine.sync_engine,
                    op,
                    now,
                    args,
                    kwargs,
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


def _name(op: object) -> str:
    """An operation's function name: a bounded label (the store's own functions)."""
    return str(getattr(op, "__name__", "other"))
