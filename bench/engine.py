"""Engine benchmark: job throughput and claim latency on SQLite and PostgreSQL.

What is measured
----------------
1. Throughput of the full cycle submit -> claim -> complete through the public
   store API (``Store.job_submit_many``, ``Store.job_claim``, ``Store.job_report``
   with ``Outcome.SUCCEEDED``; events, attempts and the outbox are always written).
   Submission overlaps the drain: ``--submitters`` tasks submit while ``--workers``
   tasks claim and complete, all on one asyncio loop. "Batch size" is the number
   of jobs per submit call and the claim limit (so also the report batch). Each
   run starts on a fresh database: a SQLite file in a temporary directory
   (WAL, ``synchronous=FULL``, the store's default) or a PostgreSQL database cloned
   from a migrated template (``synchronous_commit`` as the server has it: ``on`` by
   default). On PostgreSQL a ``CHECKPOINT`` precedes every timed run.
2. The same cycle as bare SQL, twice, with the same task layout:
   * "sql" (bench/engine_same_sql.py), the reference of the ratio target: the
     engine's durable writes hand-written on the raw driver (``sqlite3`` /
     ``psycopg``) on the engine's migrated schema: each job inserted with its
     outbox event; a claim (``UPDATE ... RETURNING``, plus ``FOR UPDATE SKIP
     LOCKED`` on PostgreSQL) opens the attempts and writes the events; a
     completion fenced by the lease token closes the attempts and writes the
     events; one NOTIFY per PostgreSQL transaction. The ratio engine/sql is what
     the engine's own layers cost (API, validation, pool, candidate selection,
     group commit, the in-process bus).
   * "sql-min": the least any queue could write: one small ``jobs`` table with
     one index, no attempts, events or NOTIFY. engine/sql-min is printed too, as
     information: it is the price of the history and outbox as well.
   On SQLite the lanes share one connection behind a lock (SQLite has one
   writer), on PostgreSQL each lane has its own autocommit connection.
3. Claim latency (median and p99, one claim = one ``job_claim`` call with limit
   ``--claim-limit``, 1 by default) on one database that first churned through
   ``--churn`` jobs (submit + claim + complete at batch 1,000, no manual VACUUM;
   autovacuum stays as the server has it), with ``--blocked`` unrunnable jobs at
   the head of the queue: priority 10 and labels ``{"gpu": "a100"}`` that the
   benchmark agent (labels ``{"os": "linux"}``) does not have. Measured with 1,000
   and then ``--queued`` runnable jobs queued. Each timed claim is followed
   (untimed) by completing the claimed job and submitting a replacement, so the
   queue size stays constant. The bulk load to ``--queued`` goes through the store
   API (``job_submit_many``, batches of 1,000, two concurrent submitters).

4. Flow control (bench/engine_flow.py): ``--flow-jobs`` jobs queued, then drained by
   ``--workers`` agents at batch 100 (claim, then report), once per variant: plain,
   and with a queue rate limit, a queue concurrency limit, an action concurrency
   limit, a rate key on every job, a fair queue over 10 fair keys; each variant's
   jobs/s beside the plain claim's, measured in the same run.

Targets (printed as PASS/MISS, never asserted): at batch 1,000 at least 10,000
jobs/s per backend; at batch 100 the engine reaches at least 0.6x "sql"; claim
p99 with ``--queued`` jobs is at most 1.5x the p99 with 1,000; with flow limits
switched on, the drain is at most 1.5x slower than the plain claim's.

Reproduce
---------
    make bench-engine                                   # the issue's sizes (slow)
    make bench-engine BENCH_ARGS=--quick                # smoke run, about a minute
    .venv/bin/python -m bench.engine --backends sqlite --jobs 20000 --batches 100
    .venv/bin/python -m bench.engine --only flow        # the flow-control lines alone

PostgreSQL is reached at ``--pg-url`` (default ``$CONVEYOR_BENCH_PG_URL`` or
``postgresql://postgres@127.0.0.1:5432/postgres``); the benchmark creates and
drops databases named ``conveyor_bench_*``. The last line of output is the
summary ``engine: sqlite=... postgres=... sqlite_vs_sql=... postgres_vs_sql=...``.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import psycopg
import sqlalchemy as sa

from bench.bare_driver import PgConnections, PgLane, SqliteWriter, micros
from bench.engine_flow import flow_header, measure_flow
from bench.engine_same_sql import PgSameWrites, SqliteSameWrites
from conveyor.store import ClaimRequest, JobSpec, Outcome, Report, Store
from conveyor.store.records import ClaimedJob
from conveyor.store.transaction import Tx

ACTION = "bench.noop"
QUEUE = "default"
AGENT_LABELS = {"os": "linux"}
BLOCKED_LABELS = {"gpu": "a100"}  # no benchmark agent has it
BLOCKED_PRIORITY = 10
SMALL_QUEUE = 1_000
CHURN_BATCH = 1_000
LOAD_BATCH = 1_000
WARMUP_CLAIMS = 20
IDLE_WAIT_S = 0.05
BACKENDS = ("sqlite", "postgresql")

# Targets from the issue.
MIN_JOBS_PER_S = 10_000
MIN_RATIO_VS_SQL = 0.6
MAX_P99_GROWTH = 1.5
TARGET_BATCH = 1_000
RATIO_BATCH = 100


# configuration


@dataclass(frozen=True)
class Config:
    backends: tuple[str, ...]
    jobs: int
    batches: tuple[int, ...]
    workers: int
    submitters: int
    queued: int
    churn: int
    claims: int
    claim_limit: int
    blocked: int
    pg_url: str
    tmpdir: str | None
    flow_jobs: int = 20_000
    only: str | None = None


def parse_args(argv: Sequence[str] | None = None) -> Config:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated subset")
    p.add_argument("--jobs", type=int, default=50_000, help="jobs per throughput run")
    p.add_argument("--batches", default="1,100,1000", help="batch sizes, comma-separated")
    p.add_argument("--workers", type=int, default=4, help="claim/complete tasks")
    p.add_argument("--submitters", type=int, default=1, help="submit tasks")
    p.add_argument("--queued", type=int, default=1_000_000, help="big queue for latency")
    p.add_argument("--churn", type=int, default=1_000_000, help="jobs churned before latency")
    p.add_argument("--claims", type=int, default=500, help="timed claims per queue size")
    p.add_argument("--claim-limit", type=int, default=1, help="limit of each timed claim")
    p.add_argument("--blocked", type=int, default=100, help="unrunnable jobs at the head")
    p.add_argument(
        "--pg-url",
        default=os.environ.get(
            "CONVEYOR_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="PostgreSQL server (admin database) where conveyor_bench_* databases are made",
    )
    p.add_argument("--tmpdir", default=None, help="where the SQLite files go")
    p.add_argument("--flow-jobs", type=int, default=20_000, help="jobs per flow-control run")
    p.add_argument("--only", choices=("flow",), default=None, help="run one section alone")
    p.add_argument("--quick", action="store_true", help="small smoke run (overrides sizes)")
    a = p.parse_args(argv)
    if a.quick:
        a.jobs, a.queued, a.churn, a.claims, a.flow_jobs = 2_000, 20_000, 20_000, 200, 2_000
    backends = tuple(b.strip() for b in a.backends.split(",") if b.strip())
    unknown = set(backends) - set(BACKENDS)
    if unknown:
        p.error(f"unknown backend(s) {sorted(unknown)}; choose from {BACKENDS}")
    return Config(
        backends=backends,
        jobs=a.jobs,
        batches=tuple(int(b) for b in a.batches.split(",")),
        workers=a.workers,
        submitters=a.submitters,
        queued=a.queued,
        churn=a.churn,
        claims=a.claims,
        claim_limit=a.claim_limit,
        blocked=a.blocked,
        pg_url=a.pg_url,
        tmpdir=a.tmpdir,
        flow_jobs=a.flow_jobs,
        only=a.only,
    )


def say(line: str = "") -> None:
    print(line, flush=True)


# the work: lanes and targets


class Lane(Protocol):
    """One task's handle on a database: submit no-op jobs, claim some, complete them."""

    async def submit(self, n: int) -> None: ...

    async def claim(self, limit: int) -> int:
        """Claim up to ``limit`` jobs and hold them; returns how many."""
        ...

    async def complete(self) -> None:
        """Report every held job as succeeded."""
        ...

    async def close(self) -> None: ...


class Target(Protocol):
    """A database prepared for one run."""

    async def lane(self) -> Lane: ...

    async def done(self) -> int:
        """How many jobs finished successfully."""
        ...

    async def scalar(self, sql: str) -> int:
        """A count read from the run's database through the target's own connection."""
        ...

    async def close(self) -> None: ...


class EngineLane:
    """A submitter or an agent using the public store API."""

    def __init__(self, store: Store, team: uuid.UUID) -> None:
        self.store = store
        self.team = team
        self.agent_id = uuid.uuid4()
        self.held: list[ClaimedJob] = []

    async def submit(self, n: int) -> None:
        await self.store.job_submit_many(self.team, [JobSpec(ACTION) for _ in range(n)])

    async def claim(self, limit: int) -> int:
        request = ClaimRequest(
            agent_id=self.agent_id,
            queues=[QUEUE],
            actions={ACTION: []},
            labels=AGENT_LABELS,
            limit=limit,
        )
        self.held = await self.store.job_claim(self.team, request)
        return len(self.held)

    async def complete(self) -> None:
        reports = [Report(j.id, j.lease_token, Outcome.SUCCEEDED) for j in self.held]
        self.held = []
        await self.store.job_report(self.team, reports)

    async def close(self) -> None:
        pass


class EngineTarget:
    def __init__(self, store: Store, team: uuid.UUID, drop: Callable[[], Awaitable[None]]) -> None:
        self.store = store
        self.team = team
        self.drop = drop

    @classmethod
    async def open(cls, url: str, drop: Callable[[], Awaitable[None]]) -> EngineTarget:
        store = await Store.open(url)
        team = await store.team_create("bench", "Bench")
        return cls(store, team, drop)

    async def lane(self) -> Lane:
        return EngineLane(self.store, self.team)

    async def done(self) -> int:
        counts = await self.store.job_count_by_state(self.team)
        return counts.get("succeeded", 0)

    async def scalar(self, sql: str) -> int:
        def read(tx: Tx) -> int:
            return int(tx.conn.exec_driver_sql(sql).scalar_one())

        return await self.store.db.read(read, None)

    async def side_rows(self) -> tuple[int, int]:
        """(events, attempts) rows: proof the outbox and attempt history were written."""
        events = await self.scalar("SELECT count(*) FROM events")
        return events, await self.scalar("SELECT count(*) FROM job_attempts")

    async def close(self) -> None:
        await self.store.close()
        await self.drop()


# bare SQL on SQLite

SQLITE_BARE_SCHEMA = """
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY, queue TEXT NOT NULL, action TEXT NOT NULL,
    priority INTEGER NOT NULL, state TEXT NOT NULL, run_at INTEGER NOT NULL,
    params TEXT NOT NULL, lease_token TEXT, started_at INTEGER, finished_at INTEGER
);
CREATE INDEX jobs_claim ON jobs (queue, priority DESC, run_at, id) WHERE state = 'queued';
"""
SQLITE_BARE_INSERT = (
    "INSERT INTO jobs (queue, action, priority, state, run_at, params) "
    "VALUES (?, ?, 0, 'queued', ?, ?)"
)
SQLITE_BARE_CLAIM = """
UPDATE jobs SET state = 'running', lease_token = lower(hex(randomblob(16))), started_at = ?
WHERE id IN (SELECT id FROM jobs WHERE state = 'queued' AND queue = ? AND action = ?
             ORDER BY priority DESC, run_at, id LIMIT ?)
RETURNING id, lease_token, params
"""
SQLITE_BARE_DONE = (
    "UPDATE jobs SET state = 'succeeded', finished_at = ? "
    "WHERE id = ? AND lease_token = ? AND state = 'running'"
)


class SqliteBare(SqliteWriter):
    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.conn.executescript(SQLITE_BARE_SCHEMA)

    async def lane(self) -> Lane:
        return SqliteBareLane(self)

    async def close(self) -> None:
        self.conn.close()
        remove_sqlite(self.path)


class SqliteBareLane:
    def __init__(self, db: SqliteBare) -> None:
        self.db = db
        self.held: list[tuple[int, str]] = []

    async def submit(self, n: int) -> None:
        now = micros()
        rows = [(QUEUE, ACTION, now, "{}") for _ in range(n)]
        await self.db.transact(lambda c: c.executemany(SQLITE_BARE_INSERT, rows))

    async def claim(self, limit: int) -> int:
        args = (micros(), QUEUE, ACTION, limit)
        rows = await self.db.transact(lambda c: c.execute(SQLITE_BARE_CLAIM, args).fetchall())
        self.held = [(row[0], row[1]) for row in rows]
        return len(self.held)

    async def complete(self) -> None:
        now = micros()
        rows = [(now, job_id, token) for job_id, token in self.held]
        self.held = []
        await self.db.transact(lambda c: c.executemany(SQLITE_BARE_DONE, rows))

    async def close(self) -> None:
        pass


# bare SQL on PostgreSQL

PG_BARE_SCHEMA = """
CREATE TABLE jobs (
    id bigserial PRIMARY KEY, queue text NOT NULL, action text NOT NULL,
    priority smallint NOT NULL, state text NOT NULL, run_at timestamptz NOT NULL,
    params jsonb NOT NULL, lease_token uuid, started_at timestamptz, finished_at timestamptz
);
CREATE INDEX jobs_claim ON jobs (queue, priority DESC, run_at, id) WHERE state = 'queued';
"""
PG_BARE_INSERT = """
INSERT INTO jobs (queue, action, priority, state, run_at, params)
SELECT %s, %s, 0, 'queued', now(), p::jsonb FROM unnest(%s::text[]) AS p
"""
PG_BARE_CLAIM = """
UPDATE jobs SET state = 'running', lease_token = gen_random_uuid(), started_at = now()
WHERE id IN (SELECT id FROM jobs WHERE state = 'queued' AND queue = %s AND action = %s
             ORDER BY priority DESC, run_at, id LIMIT %s FOR UPDATE SKIP LOCKED)
RETURNING id, lease_token, params
"""
PG_BARE_DONE = """
UPDATE jobs SET state = 'succeeded', finished_at = now()
FROM unnest(%s::bigint[], %s::uuid[]) AS v(id, token)
WHERE jobs.id = v.id AND jobs.lease_token = v.token AND jobs.state = 'running'
"""


class PgBare(PgConnections):
    @classmethod
    async def open(cls, url: str, drop: Callable[[], Awaitable[None]]) -> PgBare:
        self = cls(url, drop)
        conn = await self.connect()
        await conn.execute(PG_BARE_SCHEMA)
        return self

    async def lane(self) -> Lane:
        return PgBareLane(await self.connect())


class PgBareLane(PgLane):
    async def submit(self, n: int) -> None:
        await self.conn.execute(PG_BARE_INSERT, (QUEUE, ACTION, ["{}"] * n))

    async def claim(self, limit: int) -> int:
        return await self.claim_with(PG_BARE_CLAIM, (QUEUE, ACTION, limit))

    async def complete(self) -> None:
        await self.conn.execute(PG_BARE_DONE, self.take_held())


# databases


def remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def pg_url_for(admin_url: str, database: str) -> str:
    return sa.make_url(admin_url).set(database=database).render_as_string(hide_password=False)


def libpq_url(url: str) -> str:
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class PgServer:
    """Creates and drops ``conveyor_bench_*`` databases; clones a migrated template."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.prefix = f"conveyor_bench_{os.getpid()}"
        self.template = f"{self.prefix}_tpl"
        self._count = 0

    async def admin(self, *statements: str) -> None:
        async with await psycopg.AsyncConnection.connect(
            libpq_url(self.admin_url), autocommit=True
        ) as conn:
            for sql in statements:
                await conn.execute(sql)

    async def start(self) -> None:
        await self.admin(f'CREATE DATABASE "{self.template}"')
        store = await Store.open(pg_url_for(self.admin_url, self.template))  # migrates
        await store.close()

    async def stop(self) -> None:
        await self.admin(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')

    async def fresh(self, *, migrated: bool) -> tuple[str, Callable[[], Awaitable[None]]]:
        """A new database's URL and the coroutine function that drops it."""
        self._count += 1
        name = f"{self.prefix}_{self._count}"
        template = f' TEMPLATE "{self.template}"' if migrated else ""
        await self.admin(f'CREATE DATABASE "{name}"{template}')

        async def drop() -> None:
            await self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        return pg_url_for(self.admin_url, name), drop

    async def checkpoint(self) -> None:
        await self.admin("CHECKPOINT")


@dataclass
class Databases:
    """Where each run's fresh database comes from."""

    tmpdir: Path
    pg: PgServer | None
    _count: int = 0

    def sqlite_path(self, kind: str) -> Path:
        self._count += 1
        return self.tmpdir / f"{kind}-{self._count}.db"

    async def engine(self, backend: str) -> EngineTarget:
        if backend == "sqlite":
            path = self.sqlite_path("engine")

            async def drop() -> None:
                remove_sqlite(path)

            return await EngineTarget.open(f"sqlite:///{path}", drop)
        assert self.pg is not None
        url, drop_pg = await self.pg.fresh(migrated=True)
        return await EngineTarget.open(url, drop_pg)

    async def same_writes(self, backend: str) -> Target:
        """The engine's migrated schema and a team, written by hand-written SQL."""
        engine = await self.engine(backend)
        team, url = engine.team, engine.store.db.url
        await engine.store.close()  # the database stays; engine.close would drop it
        if backend == "sqlite":
            return SqliteSameWrites(Path(sa.make_url(url).database or ""), team, engine.drop)
        return PgSameWrites(libpq_url(url), team, engine.drop)

    async def bare(self, backend: str) -> Target:
        if backend == "sqlite":
            return SqliteBare(self.sqlite_path("bare"))
        assert self.pg is not None
        url, drop = await self.pg.fresh(migrated=False)
        return await PgBare.open(libpq_url(url), drop)

    async def settle(self, backend: str) -> None:
        """Start each timed run from the same point: no dirty buffers from the last one."""
        if backend == "postgresql" and self.pg is not None:
            await self.pg.checkpoint()


# the cycle


@dataclass
class Progress:
    total: int
    assigned: int = 0
    submitted: int = 0
    claimed: int = 0
    completed: int = 0
    empty_claims: int = 0
    max_backlog: int = 0
    submit_done_s: float = 0.0


class Doorbell:
    """Wakes idle claimers when jobs were submitted; no lost wake-ups."""

    def __init__(self) -> None:
        self.rings = 0
        self._event = asyncio.Event()

    def ring(self) -> None:
        self.rings += 1
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, seen: int) -> None:
        """Return once rung after ``seen`` rings, or after a short idle wait."""
        if self.rings != seen:
            return
        with suppress(TimeoutError):
            async with asyncio.timeout(IDLE_WAIT_S):
                await self._event.wait()


async def submit_loop(
    lane: Lane, progress: Progress, batch: int, bell: Doorbell, started: float
) -> None:
    while progress.assigned < progress.total:
        n = min(batch, progress.total - progress.assigned)
        progress.assigned += n
        await lane.submit(n)
        progress.submitted += n
        progress.max_backlog = max(progress.max_backlog, progress.submitted - progress.claimed)
        bell.ring()
    progress.submit_done_s = time.perf_counter() - started


async def drain_loop(lane: Lane, progress: Progress, batch: int, bell: Doorbell) -> None:
    while progress.claimed < progress.total:
        seen = bell.rings
        n = await lane.claim(batch)
        if n == 0:
            progress.empty_claims += 1
            await bell.wait(seen)
            continue
        progress.claimed += n
        if progress.claimed >= progress.total:
            bell.ring()  # let idle claimers see that the run is over
        await lane.complete()
        progress.completed += n


@dataclass(frozen=True)
class CycleResult:
    jobs: int
    batch: int
    seconds: float
    submit_done_s: float
    empty_claims: int
    max_backlog: int

    @property
    def rate(self) -> float:
        return self.jobs / self.seconds


async def run_cycle(
    target: Target, jobs: int, batch: int, workers: int, submitters: int
) -> CycleResult:
    lanes = [await target.lane() for _ in range(submitters + workers)]
    progress = Progress(total=jobs)
    bell = Doorbell()
    started = time.perf_counter()
    async with asyncio.TaskGroup() as tg:
        for lane in lanes[:submitters]:
            tg.create_task(submit_loop(lane, progress, batch, bell, started))
        for lane in lanes[submitters:]:
            tg.create_task(drain_loop(lane, progress, batch, bell))
    seconds = time.perf_counter() - started
    for lane in lanes:
        await lane.close()
    done = await target.done()
    if done != jobs or progress.completed != jobs:
        raise RuntimeError(f"expected {jobs} succeeded jobs, found {done}")
    return CycleResult(
        jobs, batch, seconds, progress.submit_done_s, progress.empty_claims, progress.max_backlog
    )


# throughput


@dataclass(frozen=True)
class Throughput:
    backend: str
    variant: str  # "engine", "sql" (same writes) or "sql-min" (one table)
    result: CycleResult


def throughput_header() -> None:
    say(
        f"{'backend':<11} {'variant':<7} {'batch':>5} {'jobs':>8} {'seconds':>8} "
        f"{'jobs/s':>8} {'submitted@':>10} {'backlog':>8} {'idle':>6}  notes"
    )


def throughput_line(t: Throughput, notes: str = "") -> str:
    r = t.result
    return (
        f"{t.backend:<11} {t.variant:<7} {r.batch:>5} {r.jobs:>8} {r.seconds:>8.2f} "
        f"{r.rate:>8.0f} {r.submit_done_s:>9.2f}s {r.max_backlog:>8} {r.empty_claims:>6}  {notes}"
    )


async def measure_throughput(cfg: Config, dbs: Databases, backend: str) -> list[Throughput]:
    out: list[Throughput] = []
    for batch in cfg.batches:
        engine = await dbs.engine(backend)
        try:
            await dbs.settle(backend)
            result = await run_cycle(engine, cfg.jobs, batch, cfg.workers, cfg.submitters)
            events, attempts = await engine.side_rows()
        finally:
            await engine.close()
        out.append(Throughput(backend, "engine", result))
        say(throughput_line(out[-1], f"events={events} attempts={attempts}"))

        for variant, open_target in (("sql", dbs.same_writes), ("sql-min", dbs.bare)):
            target = await open_target(backend)
            try:
                await dbs.settle(backend)
                result = await run_cycle(target, cfg.jobs, batch, cfg.workers, cfg.submitters)
            finally:
                await target.close()
            out.append(Throughput(backend, variant, result))
            say(throughput_line(out[-1]))
    return out


# claim latency


@dataclass(frozen=True)
class Latency:
    backend: str
    queued: int
    samples: list[float]

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.samples) * 1000

    @property
    def p99_ms(self) -> float:
        ordered = sorted(self.samples)
        return ordered[math.ceil(0.99 * len(ordered)) - 1] * 1000  # nearest rank


async def timed_claims(lane: Lane, claims: int, limit: int) -> list[float]:
    """Claim, then (untimed) complete and submit replacements so the queue keeps its size."""
    samples: list[float] = []
    for i in range(WARMUP_CLAIMS + claims):
        started = time.perf_counter()
        n = await lane.claim(limit)
        elapsed = time.perf_counter() - started
        if n == 0:
            raise RuntimeError("the queue ran dry during the latency measurement")
        if i >= WARMUP_CLAIMS:
            samples.append(elapsed)
        await lane.complete()
        await lane.submit(n)
    return samples


async def bulk_submit(target: EngineTarget, jobs: int, lanes: int = 2) -> float:
    """Queue ``jobs`` runnable jobs through the store API; returns jobs/s."""
    progress = Progress(total=jobs)
    bell = Doorbell()
    started = time.perf_counter()
    async with asyncio.TaskGroup() as tg:
        for _ in range(lanes):
            lane = await target.lane()
            tg.create_task(submit_loop(lane, progress, LOAD_BATCH, bell, started))
    return jobs / max(time.perf_counter() - started, 1e-9)


async def submit_blocked(target: EngineTarget, n: int) -> None:
    specs = [JobSpec(ACTION, priority=BLOCKED_PRIORITY, labels=BLOCKED_LABELS) for _ in range(n)]
    for start in range(0, n, LOAD_BATCH):
        await target.store.job_submit_many(target.team, specs[start : start + LOAD_BATCH])


async def table_stats(target: EngineTarget) -> str:
    """What PostgreSQL's statistics say about the jobs table (dead tuples, vacuums)."""
    if target.store.dialect != "postgresql":
        return ""

    def read(tx: Tx) -> str:
        row = tx.conn.execute(
            sa.text(
                "SELECT n_live_tup, n_dead_tup, autovacuum_count, autoanalyze_count,"
                " pg_size_pretty(pg_total_relation_size('jobs'))"
                " FROM pg_stat_user_tables WHERE relname = 'jobs'"
            )
        ).one()
        return (
            f"live={row[0]} dead={row[1]} autovacuums={row[2]} autoanalyzes={row[3]} size={row[4]}"
        )

    return await target.store.db.read(read, None)


async def measure_latency(cfg: Config, dbs: Databases, backend: str) -> list[Latency]:
    target = await dbs.engine(backend)
    try:
        churn = await run_cycle(target, cfg.churn, CHURN_BATCH, cfg.workers, cfg.submitters)
        say(
            f"{backend}: churned {churn.jobs} jobs in {churn.seconds:.1f}s "
            f"({churn.rate:.0f} jobs/s at batch {CHURN_BATCH}) {await table_stats(target)}"
        )
        await submit_blocked(target, cfg.blocked)
        lane = await target.lane()
        results = []
        queued = 0
        for size in (min(SMALL_QUEUE, cfg.queued), cfg.queued):
            rate = await bulk_submit(target, size - queued)
            queued = size
            await dbs.settle(backend)
            samples = await timed_claims(lane, cfg.claims, cfg.claim_limit)
            results.append(Latency(backend, size, samples))
            say(
                f"{latency_line(results[-1])}   (loaded at {rate:.0f} jobs/s) "
                f"{await table_stats(target)}"
            )
        return results
    finally:
        await target.close()


def latency_line(lat: Latency) -> str:
    return (
        f"{lat.backend:<11} claim latency with {lat.queued:>9} queued (+ blocked head): "
        f"p50={lat.p50_ms:.2f} ms  p99={lat.p99_ms:.2f} ms  over {len(lat.samples)} claims"
    )


# configuration report


def fsync_probe(directory: Path, rounds: int = 50) -> float:
    """Median milliseconds of a 4 KiB write + fsync in ``directory``."""
    path = directory / "fsync-probe"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    times = []
    try:
        for _ in range(rounds):
            os.write(fd, b"x" * 4096)
            started = time.perf_counter()
            os.fsync(fd)
            times.append(time.perf_counter() - started)
    finally:
        os.close(fd)
        path.unlink()
    return statistics.median(times) * 1000


SYNCHRONOUS_NAMES = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}


async def sqlite_settings(dbs: Databases) -> str:
    """PRAGMAs as read back on the store's own writer connection."""
    target = await dbs.engine("sqlite")

    def read(tx: Tx) -> tuple[Any, Any]:
        sync = tx.conn.exec_driver_sql("PRAGMA synchronous").scalar()
        mode = tx.conn.exec_driver_sql("PRAGMA journal_mode").scalar()
        return sync, mode

    try:
        sync, mode = await target.store.db.write(read, None)
    finally:
        await target.close()
    return (
        f"SQLite {sqlite3.sqlite_version}: journal_mode={mode} "
        f"synchronous={SYNCHRONOUS_NAMES.get(sync, sync)} ({sync}), read back from the "
        f"store's writer connection; files in {dbs.tmpdir}"
    )


PG_SETTINGS = (
    "synchronous_commit",
    "fsync",
    "full_page_writes",
    "wal_sync_method",
    "commit_delay",
    "autovacuum",
    "shared_buffers",
    "max_wal_size",
)


async def pg_settings(dbs: Databases) -> str:
    """Server version and durability settings as a store connection sees them."""
    target = await dbs.engine("postgresql")

    def read(tx: Tx) -> list[str]:
        version = tx.conn.exec_driver_sql("SHOW server_version").scalar()
        shown = [f"{n}={tx.conn.exec_driver_sql(f'SHOW {n}').scalar()}" for n in PG_SETTINGS]
        return [f"PostgreSQL {version}:", *shown]

    try:
        parts = await target.store.db.read(read, None)
    finally:
        await target.close()
    return " ".join(parts) + " (read back on a store connection)"


async def print_configuration(cfg: Config, dbs: Databases) -> None:
    say("# Conveyor engine benchmark")
    say(
        f"machine: {os.cpu_count()} cores, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}"
    )
    say(f"fsync probe: {fsync_probe(dbs.tmpdir):.2f} ms median (4 KiB write + fsync)")
    if "sqlite" in cfg.backends:
        say(await sqlite_settings(dbs))
    if "postgresql" in cfg.backends:
        say(await pg_settings(dbs))
    say(
        f"runs: jobs={cfg.jobs} batches={','.join(map(str, cfg.batches))} "
        f"submitters={cfg.submitters} workers={cfg.workers} (one asyncio loop); "
        "engine = Store API with events, attempts and outbox; sql = raw driver, the same "
        "writes on the same schema; sql-min = raw driver, one table"
    )
    say(
        f"latency: churn={cfg.churn} then {cfg.blocked} blocked head jobs (priority "
        f"{BLOCKED_PRIORITY}, labels {BLOCKED_LABELS} the agent lacks), queues of "
        f"{min(SMALL_QUEUE, cfg.queued)} and {cfg.queued} loaded via job_submit_many "
        f"(batches of {LOAD_BATCH}); claim limit={cfg.claim_limit}, {cfg.claims} timed "
        f"claims after {WARMUP_CLAIMS} warm-up"
    )


# verdicts and summary


def rate_at(results: list[Throughput], backend: str, variant: str, batch: int) -> float | None:
    for t in results:
        if (t.backend, t.variant, t.result.batch) == (backend, variant, batch):
            return t.result.rate
    return None


def ratio_at(
    results: list[Throughput], backend: str, batch: int, reference: str = "sql"
) -> float | None:
    engine = rate_at(results, backend, "engine", batch)
    bare = rate_at(results, backend, reference, batch)
    return engine / bare if engine is not None and bare else None


def verdict(ok: bool | None) -> str:
    return "n/a " if ok is None else ("PASS" if ok else "MISS")


def target_lines(cfg: Config, results: list[Throughput], latencies: list[Latency]) -> Iterator[str]:
    for backend in cfg.backends:
        rate = rate_at(results, backend, "engine", TARGET_BATCH)
        shown = f"{rate:.0f}" if rate is not None else "not measured"
        yield (
            f"{verdict(None if rate is None else rate >= MIN_JOBS_PER_S)} {backend:<11} "
            f"throughput at batch {TARGET_BATCH}: {shown} jobs/s (target >= {MIN_JOBS_PER_S})"
        )
        for batch in cfg.batches:
            ratio = ratio_at(results, backend, batch)
            if ratio is None:
                continue
            gated = batch == RATIO_BATCH
            yield (
                f"{verdict(ratio >= MIN_RATIO_VS_SQL) if gated else 'info'} {backend:<11} "
                f"engine/sql at batch {batch}: {ratio:.2f}"
                + (f" (target >= {MIN_RATIO_VS_SQL})" if gated else "")
            )
            minimal = ratio_at(results, backend, batch, reference="sql-min")
            if minimal is not None:
                yield f"info {backend:<11} engine/sql-min at batch {batch}: {minimal:.2f}"
        lats = [lat for lat in latencies if lat.backend == backend]
        if len(lats) == 2:
            small, big = lats
            growth = big.p99_ms / small.p99_ms
            yield (
                f"{verdict(growth <= MAX_P99_GROWTH)} {backend:<11} claim p99 "
                f"{big.queued} vs {small.queued} queued: {big.p99_ms:.2f} / "
                f"{small.p99_ms:.2f} ms = {growth:.2f}x (target <= {MAX_P99_GROWTH}x)"
            )


def summary_line(results: list[Throughput]) -> str:
    def rate(backend: str) -> str:
        value = rate_at(results, backend, "engine", TARGET_BATCH)
        return "n/a" if value is None else f"{value:.0f}"

    def ratio(backend: str) -> str:
        value = ratio_at(results, backend, RATIO_BATCH)
        return "n/a" if value is None else f"{value:.2f}"

    return (
        f"engine: sqlite={rate('sqlite')} postgres={rate('postgresql')} "
        f"sqlite_vs_sql={ratio('sqlite')} postgres_vs_sql={ratio('postgresql')}"
    )


# main


@asynccontextmanager
async def databases(cfg: Config) -> AsyncIterator[Databases]:
    with tempfile.TemporaryDirectory(prefix="conveyor-bench-", dir=cfg.tmpdir) as tmp:
        pg = PgServer(cfg.pg_url) if "postgresql" in cfg.backends else None
        if pg is not None:
            await pg.start()
        try:
            yield Databases(Path(tmp), pg)
        finally:
            if pg is not None:
                await pg.stop()


async def run_flow(cfg: Config, dbs: Databases) -> None:
    say("## flow control: claim + complete at batch 100, limits switched on vs plain")
    say(flow_header())
    for backend in cfg.backends:
        await measure_flow(dbs, backend, cfg.flow_jobs, RATIO_BATCH, cfg.workers, say)


async def run(cfg: Config) -> None:
    async with databases(cfg) as dbs:
        await print_configuration(cfg, dbs)
        say()
        if cfg.only == "flow":
            await run_flow(cfg, dbs)
            return
        say("## throughput: submit -> claim -> complete, submission overlapping the drain")
        say("(submitted@ = when the last submit returned; backlog = most jobs queued at once;")
        say(" idle = claims that found nothing)")
        throughput_header()
        results: list[Throughput] = []
        for backend in cfg.backends:
            results += await measure_throughput(cfg, dbs, backend)
        say()
        await run_flow(cfg, dbs)
        say()
        say("## claim latency")
        latencies: list[Latency] = []
        for backend in cfg.backends:
            latencies += await measure_latency(cfg, dbs, backend)
        say()
        say("## targets")
        for line in target_lines(cfg, results, latencies):
            say(line)
        say(summary_line(results))


def main(argv: Sequence[str] | None = None) -> None:
    cfg = parse_args(argv)
    try:
        asyncio.run(run(cfg))
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
