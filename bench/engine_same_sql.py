"""The engine's cycle as bare SQL with the same writes: the reference for the ratio.

``bench/engine.py`` compares the engine with two hand-written versions of the
cycle submit -> claim -> complete on the raw driver (``sqlite3`` / ``psycopg``):

* "minimal" (in engine.py): one small ``jobs`` table with one index, nothing else;
  the least any queue could write.
* "same writes" (here): the same durable writes as the engine, on the engine's
  own migrated schema (the ``jobs`` table and its indexes, ``job_attempts``,
  ``events``), written the way a careful engineer would write them by hand:
  every job inserted with its outbox event; a claim marks the jobs running,
  opens their attempts and writes their events; a completion, fenced by the lease
  token, marks them succeeded, closes their attempts and writes their events; on
  PostgreSQL each transaction also sends one NOTIFY, as the engine does.

What the engine adds on top of "same writes" is its own cost: the Python API,
validation, the connection pool and SQLAlchemy, group commit, candidate
selection (labels, schema versions, paused queues, concurrency keys), events on
the in-process bus. That is what the 0.6 target of the issue measures.
"""

from __future__ import annotations

import hashlib
import sqlite3
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import psycopg

from bench.bare_driver import PgConnections, PgLane, SqliteWriter, micros
from conveyor.store.queries.submit import (
    DEFAULT_BACKOFF_BASE_S,
    DEFAULT_BACKOFF_MAX_S,
    DEFAULT_CANCEL_GRACE_S,
    DEFAULT_LEASE_S,
    DEFAULT_MAX_ATTEMPTS,
)

ACTION = "bench.noop"
QUEUE = "default"
PARAMS = "{}"
PARAMS_HASH = hashlib.sha256(PARAMS.encode()).hexdigest()


# SQLite: one connection behind a lock (one writer), BEGIN IMMEDIATE per operation.

SQLITE_INSERT_JOB = """
INSERT INTO jobs (id, team_id, action, params, params_hash, queue, priority, state, run_at,
    max_attempts, backoff_base_s, backoff_max_s, lease_s, cancel_grace_s, labels,
    created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, 0, 'queued', ?, ?, ?, ?, ?, ?, '{}', ?, ?)
"""
SQLITE_INSERT_EVENT = (
    "INSERT INTO events (team_id, kind, object_id, data, created_at) VALUES (?, 'job', ?, ?, ?)"
)
SQLITE_CLAIM = """
UPDATE jobs SET state = 'running', attempt = attempt + 1,
    lease_token = lower(hex(randomblob(16))),
    lease_expires_at = ? + CAST(lease_s * 1000000 AS INTEGER),
    agent_id = ?, started_at = ?, updated_at = ?
WHERE id IN (SELECT id FROM jobs WHERE team_id = ? AND state = 'queued' AND queue = ?
             ORDER BY priority DESC, run_at, seq LIMIT ?)
RETURNING id, lease_token, attempt, params
"""
SQLITE_INSERT_ATTEMPT = """
INSERT INTO job_attempts (job_id, attempt, team_id, agent_id, lease_token, outcome, started_at)
VALUES (?, ?, ?, ?, ?, 'running', ?)
"""
SQLITE_COMPLETE = """
UPDATE jobs SET state = 'succeeded', lease_token = NULL, lease_expires_at = NULL,
    finished_at = ?, updated_at = ?
WHERE id = ? AND lease_token = ? AND state = 'running'
"""
SQLITE_CLOSE_ATTEMPT = """
UPDATE job_attempts SET outcome = 'succeeded', finished_at = ? WHERE job_id = ? AND attempt = ?
"""


class SqliteSameWrites(SqliteWriter):
    """The engine's migrated SQLite file, written through one sqlite3 connection."""

    def __init__(self, path: Path, team_id: uuid.UUID, drop: Callable[[], Awaitable[None]]) -> None:
        super().__init__(path)
        self.team = str(team_id)
        self._drop = drop

    async def lane(self) -> SqliteSameWritesLane:
        return SqliteSameWritesLane(self)

    async def close(self) -> None:
        self.conn.close()
        await self._drop()


class SqliteSameWritesLane:
    def __init__(self, db: SqliteSameWrites) -> None:
        self.db = db
        self.agent = str(uuid.uuid4())
        self.held: list[tuple[str, str, int]] = []  # (job id, lease token, attempt)

    async def submit(self, n: int) -> None:
        team, now = self.db.team, micros()
        ids = [str(uuid.uuid4()) for _ in range(n)]
        jobs = [
            (job_id, team, ACTION, PARAMS, PARAMS_HASH, QUEUE, now,
             DEFAULT_MAX_ATTEMPTS, DEFAULT_BACKOFF_BASE_S, DEFAULT_BACKOFF_MAX_S,
             DEFAULT_LEASE_S, DEFAULT_CANCEL_GRACE_S, now, now)
            for job_id in ids
        ]  # fmt: skip
        data = f'{{"state": "queued", "queue": "{QUEUE}"}}'
        events = [(team, job_id, data, now) for job_id in ids]

        def body(c: sqlite3.Connection) -> None:
            c.executemany(SQLITE_INSERT_JOB, jobs)
            c.executemany(SQLITE_INSERT_EVENT, events)

        await self.db.transact(body)

    async def claim(self, limit: int) -> int:
        team, agent, now = self.db.team, self.agent, micros()

        def body(c: sqlite3.Connection) -> list[tuple[str, str, int]]:
            args = (now, agent, now, now, team, QUEUE, limit)
            held = [(row[0], row[1], row[2]) for row in c.execute(SQLITE_CLAIM, args)]
            c.executemany(
                SQLITE_INSERT_ATTEMPT,
                [(job_id, attempt, team, agent, token, now) for job_id, token, attempt in held],
            )
            c.executemany(
                SQLITE_INSERT_EVENT,
                [
                    (team, job_id, f'{{"state": "running", "attempt": {attempt}}}', now)
                    for job_id, _, attempt in held
                ],
            )
            return held

        self.held = await self.db.transact(body)
        return len(self.held)

    async def complete(self) -> None:
        team, held, now = self.db.team, self.held, micros()
        self.held = []

        def body(c: sqlite3.Connection) -> None:
            won = []
            for job_id, token, attempt in held:  # fenced one by one: a stale token loses
                if c.execute(SQLITE_COMPLETE, (now, now, job_id, token)).rowcount == 1:
                    won.append((job_id, attempt))
            c.executemany(SQLITE_CLOSE_ATTEMPT, [(now, job_id, a) for job_id, a in won])
            c.executemany(
                SQLITE_INSERT_EVENT,
                [
                    (team, job_id, f'{{"state": "succeeded", "attempt": {a}}}', now)
                    for job_id, a in won
                ],
            )

        await self.db.transact(body)

    async def close(self) -> None:
        pass


# PostgreSQL: one autocommit connection per lane; each operation is one statement
# (data-modifying CTEs), so one round trip and one transaction.

PG_SUBMIT = """
WITH inserted AS (
    INSERT INTO jobs (id, team_id, action, params, params_hash, queue, priority, state, run_at,
        max_attempts, backoff_base_s, backoff_max_s, lease_s, cancel_grace_s, labels,
        created_at, updated_at)
    SELECT id, %(team)s, %(action)s, %(params)s::jsonb, %(hash)s, %(queue)s, 0, 'queued', now(),
        %(max_attempts)s, %(base)s, %(max)s, %(lease)s, %(grace)s, '{}', now(), now()
    FROM unnest(%(ids)s::uuid[]) AS id
    RETURNING id, team_id
), announced AS (
    INSERT INTO events (team_id, kind, object_id, data, created_at)
    SELECT team_id, 'job', id, jsonb_build_object('state', 'queued', 'queue', %(queue)s), now()
    FROM inserted
)
SELECT pg_notify('conveyor_bench', 'work')
"""
PG_CLAIM = """
WITH claimed AS (
    UPDATE jobs SET state = 'running', attempt = attempt + 1, lease_token = gen_random_uuid(),
        lease_expires_at = now() + make_interval(secs => lease_s), agent_id = %(agent)s,
        started_at = now(), updated_at = now()
    WHERE id IN (SELECT id FROM jobs WHERE team_id = %(team)s AND state = 'queued'
                 AND queue = %(queue)s ORDER BY priority DESC, run_at, seq
                 LIMIT %(limit)s FOR UPDATE SKIP LOCKED)
    RETURNING id, team_id, attempt, agent_id, lease_token, started_at, params
), started AS (
    INSERT INTO job_attempts (job_id, attempt, team_id, agent_id, lease_token, outcome, started_at)
    SELECT id, attempt, team_id, agent_id, lease_token, 'running', started_at FROM claimed
), announced AS (
    INSERT INTO events (team_id, kind, object_id, data, created_at)
    SELECT team_id, 'job', id, jsonb_build_object('state', 'running', 'attempt', attempt), now()
    FROM claimed
)
SELECT id, lease_token, attempt, params, pg_notify('conveyor_bench', 'claimed') FROM claimed
"""
PG_COMPLETE = """
WITH finished AS (
    UPDATE jobs SET state = 'succeeded', lease_token = NULL, lease_expires_at = NULL,
        finished_at = now(), updated_at = now()
    FROM unnest(%(ids)s::uuid[], %(tokens)s::uuid[]) AS v(id, token)
    WHERE jobs.id = v.id AND jobs.lease_token = v.token AND jobs.state = 'running'
    RETURNING jobs.id, jobs.team_id, jobs.attempt
), closed AS (
    UPDATE job_attempts SET outcome = 'succeeded', finished_at = now()
    FROM finished f WHERE job_attempts.job_id = f.id AND job_attempts.attempt = f.attempt
), announced AS (
    INSERT INTO events (team_id, kind, object_id, data, created_at)
    SELECT team_id, 'job', id, jsonb_build_object('state', 'succeeded', 'attempt', attempt), now()
    FROM finished
)
SELECT count(*), pg_notify('conveyor_bench', 'done') FROM finished
"""


class PgSameWrites(PgConnections):
    """A database cloned from the engine's migrated template, written through psycopg."""

    def __init__(self, url: str, team_id: uuid.UUID, drop: Callable[[], Awaitable[None]]) -> None:
        super().__init__(url, drop)
        self.team = team_id

    async def lane(self) -> PgSameWritesLane:
        return PgSameWritesLane(await self.connect(), self.team)


class PgSameWritesLane(PgLane):
    def __init__(self, conn: psycopg.AsyncConnection[Any], team: uuid.UUID) -> None:
        super().__init__(conn)
        self.team = team
        self.agent = uuid.uuid4()

    async def submit(self, n: int) -> None:
        await self.conn.execute(
            PG_SUBMIT,
            {
                "team": self.team, "action": ACTION, "params": PARAMS, "hash": PARAMS_HASH,
                "queue": QUEUE, "max_attempts": DEFAULT_MAX_ATTEMPTS,
                "base": DEFAULT_BACKOFF_BASE_S, "max": DEFAULT_BACKOFF_MAX_S,
                "lease": DEFAULT_LEASE_S, "grace": DEFAULT_CANCEL_GRACE_S,
                "ids": [uuid.uuid4() for _ in range(n)],
            },
        )  # fmt: skip

    async def claim(self, limit: int) -> int:
        params = {"agent": self.agent, "team": self.team, "queue": QUEUE, "limit": limit}
        return await self.claim_with(PG_CLAIM, params)

    async def complete(self) -> None:
        ids, tokens = self.take_held()
        cur = await self.conn.execute(PG_COMPLETE, {"ids": ids, "tokens": tokens})
        row = await cur.fetchone()
        assert row is not None and row[0] == len(ids), "a fenced completion lost"
