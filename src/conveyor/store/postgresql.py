"""PostgreSQL: its engines, and how one operation runs on them.

Each operation is one transaction on the async engine's synchronous face (psycopg
3), or one autocommit statement (:func:`write_as_statement`); reads run in
autocommit. :class:`~conveyor.store.database.Database` retries what may be retried.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import orjson
from psycopg import _queries as psycopg_queries
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from conveyor.errors import StoreError
from conveyor.store.dialects import driver_statement, queries
from conveyor.store.transaction import Op, Tx, json_dumps

R = TypeVar("R")


def pg_engine(url: str, pool_size: int, *, isolation_level: str | None = None) -> AsyncEngine:
    """An engine on psycopg 3 whose connections plan for the tables as they are."""
    options: dict[str, Any] = (
        {} if isolation_level is None else {"isolation_level": isolation_level}
    )
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        # No ping per checkout (a round trip per transaction): a connection found
        # dead is retried instead (see Database.write), and the pool is then renewed.
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


# PostgreSQL operations run on the async engine's synchronous face, inside one greenlet
# per operation: checkout, BEGIN, the statements, COMMIT and the return to the pool with
# no trip back to the event loop between them, which ``AsyncConnection`` costs (about
# 0.15 ms per read). ``greenlet_spawn`` is the helper SQLAlchemy's asyncio extension is
# built on (``run_sync`` is this plus those trips); SQLAlchemy is pinned, and the store
# tests exercise it on every operation.


@dataclass
class Progress:
    ran: bool = False  # the operation's statements all ran; COMMIT was next


def write_in_transaction(
    engine: Engine,
    progress: Progress,
    op: Op[..., R],
    now: datetime | None,
    args: Any,
    kwargs: Any,
) -> tuple[R, Tx]:
    with engine.begin() as conn:
        done = run_and_notify(conn, op, now, args, kwargs)
        progress.ran = True
    return done


def write_as_statement(
    engine: Engine, op: Op[..., R], now: datetime | None, args: Any, kwargs: Any
) -> tuple[R, Tx]:
    with engine.connect() as conn:  # the autocommit engine
        conn.info[_STATEMENTS_LEFT] = 1
        try:
            return run_and_notify(conn, op, now, args, kwargs)
        finally:
            del conn.info[_STATEMENTS_LEFT]


_STATEMENTS_LEFT = "conveyor_statements_left"
"""Key in a connection's ``info`` while it runs an operation of ``write_statement``."""


def count_statements(engine: AsyncEngine) -> None:
    """Refuse a second statement in ``write_statement``: in autocommit it would be a
    transaction of its own, and the operation's change would no longer be atomic."""

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _before(conn: Connection, *_: Any) -> None:
        left = conn.info.get(_STATEMENTS_LEFT)
        if left is not None:
            if left < 1:
                raise StoreError("an operation run as one statement sent a second")
            conn.info[_STATEMENTS_LEFT] = left - 1


def read_in_autocommit(
    engine: Engine, op: Op[..., R], now: datetime | None, args: Any, kwargs: Any
) -> R:
    with engine.connect() as conn:
        return op(Tx(conn, "postgresql", now), *args, **kwargs)


def run_and_notify(
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
