"""The raw-driver connections of the bare-SQL cycles (bench/engine.py, engine_same_sql.py)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import psycopg


def micros() -> int:
    """Now in integer microseconds: how the engine's SQLite schema stores time."""
    return time.time_ns() // 1000


class SqliteWriter:
    """One sqlite3 connection behind a lock (SQLite has one writer): WAL, ``synchronous=FULL`` (the store's default); one ``BEGIN IMMEDIATE`` per operation."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON"):
            self.conn.execute(f"PRAGMA {pragma}")
        self.lock = asyncio.Lock()

    async def transact(self, body: Callable[[sqlite3.Connection], Any]) -> Any:
        async with self.lock:
            return await asyncio.to_thread(self._transact, body)

    def _transact(self, body: Callable[[sqlite3.Connection], Any]) -> Any:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            result = body(self.conn)
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")
        return result

    async def scalar(self, sql: str) -> int:
        row = self.conn.execute(sql).fetchone()
        return int(row[0])

    async def done(self) -> int:
        """Jobs that ended ``succeeded`` (both bare schemas name the table and state so)."""
        return await self.scalar("SELECT count(*) FROM jobs WHERE state = 'succeeded'")


class PgConnections:
    """Autocommit psycopg connections, one per lane; each statement is a transaction."""

    def __init__(self, url: str, drop: Callable[[], Awaitable[None]]) -> None:
        self.url = url
        self._drop = drop
        self._conns: list[psycopg.AsyncConnection[Any]] = []

    async def connect(self) -> psycopg.AsyncConnection[Any]:
        conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
        self._conns.append(conn)
        return conn

    async def scalar(self, sql: str) -> int:
        cur = await self._conns[0].execute(sql)
        row = await cur.fetchone()
        assert row is not None
        return int(row[0])

    async def done(self) -> int:
        """Jobs that ended ``succeeded``."""
        return await self.scalar("SELECT count(*) FROM jobs WHERE state = 'succeeded'")

    async def close(self) -> None:
        """Close every lane's connection and drop the database."""
        for conn in self._conns:
            await conn.close()
        await self._drop()


class PgLane:
    """One lane's connection and the jobs it holds: ``(job id, lease token)`` pairs."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self.conn = conn
        self.held: list[tuple[Any, uuid.UUID]] = []

    async def claim_with(self, sql: str, params: Any) -> int:
        """Run a claim whose rows start with (job id, lease token); hold them."""
        cur = await self.conn.execute(sql, params)
        self.held = [(row[0], row[1]) for row in await cur.fetchall()]
        return len(self.held)

    def take_held(self) -> tuple[list[Any], list[uuid.UUID]]:
        """The held jobs' ids and tokens, as two arrays; the lane holds nothing after."""
        ids = [job_id for job_id, _ in self.held]
        tokens = [token for _, token in self.held]
        self.held = []
        return ids, tokens

    async def close(self) -> None:
        pass
