"""Jobs API benchmark: the dashboard's job list over a store of 1,000,000 jobs.

What is measured
----------------
A store of one team is filled with ``--jobs`` jobs (1,000,000 by default) in a
realistic mix: mostly finished (succeeded 86 %, dead 4 %, cancelled 2 %), some
waiting or running (queued 5 %, scheduled 2 %, running 1 %), twelve actions of
unequal popularity spread over four queues, created over the last five days,
submitted by the admin (70 %) or a client API key (30 %). The rows are made by
the database itself (``INSERT … SELECT`` over a generated series, in batches of
100,000), through every index of the schema, so the load takes seconds, not the
hours the public API would.

Then a real ``conveyor server`` process serves the store and the benchmark asks it
over HTTP (httpx, one keep-alive connection, logged in as the admin), as the
dashboard does:

* ``first page``: ``GET /api/v1/jobs?limit=50``, the newest 50 jobs;
* ``state + action``: ``GET /api/v1/jobs?state=dead&action=billing.sync_invoices
  &limit=50``, the newest 50 of a filter matching about 0.3 % of the jobs.
* ``rare action``: ``GET /api/v1/jobs?action=ops.yearly_audit&limit=50``, an
  action one job in 5,000 runs (200 of a million): a filter the newest jobs do not
  answer, so without an index on the action it reads the whole team.

Each is asked ``--requests`` times (20) after 3 untimed warm-up requests; p50 and
p95 of the wall time per request (client side: the request, the queries, the JSON)
are printed against the target: p95 under 300 ms (printed as PASS/MISS, never
asserted). ``--explain`` also prints the database's plan of each list query.

The PostgreSQL database is analysed after the load (as autovacuum does within a
minute of such a load); the SQLite file is not (the server runs no ANALYZE).

Reproduce
---------
    make bench-api                                        # 1,000,000 jobs, both backends
    make bench-api BENCH_ARGS="--jobs 100000 --backends sqlite --explain"

PostgreSQL is reached at ``--pg-url`` (default ``$CONVEYOR_BENCH_PG_URL`` or
``postgresql://postgres@127.0.0.1:5432/postgres``); the benchmark creates a
database named ``conveyor_bench_*`` and drops it afterwards. The last line is the
summary ``jobs-api: sqlite first=…ms filtered=…ms rare=…ms postgres first=… …`` (p95s).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa

from bench.e2e_conveyor import ADMIN_EMAIL, ADMIN_PASSWORD, REPO, PgDatabase, free_port
from bench.e2e_procs import Proc, wait_until
from conveyor.server.bootstrap import bootstrap
from conveyor.store import Store
from conveyor.store.schema import jobs as jobs_table

TARGET_MS = 300.0
PAGE = 50
WARMUP = 3
BATCH = 100_000
STARTUP_S = 120.0
SPREAD = timedelta(days=5)  # jobs were created over this long, up to now

# (action, queue, weight in 100): a few actions carry most of the work.
ACTIONS = [
    ("reports.export_csv", "exports", 22),
    ("email.send_digest", "email", 18),
    ("billing.sync_invoices", "billing", 12),
    ("crm.sync_contacts", "default", 10),
    ("reports.daily_summary", "exports", 8),
    ("images.thumbnail", "default", 7),
    ("billing.charge_card", "billing", 6),
    ("email.send_receipt", "email", 6),
    ("search.reindex", "default", 4),
    ("demo.echo", "default", 3),
    ("etl.load_warehouse", "default", 2),
    ("ops.rotate_logs", "default", 2),
]
STATES = [
    ("succeeded", 86),
    ("dead", 4),
    ("cancelled", 2),
    ("queued", 5),
    ("scheduled", 2),
    ("running", 1),
]
FILTERED = {"state": "dead", "action": "billing.sync_invoices"}
RARE = "ops.yearly_audit"
RARE_EVERY = 5_000  # one job in 5,000 runs it: 200 of a million


@dataclass
class Figures:
    """One backend's run: how long the load took, and each request's timings in ms."""

    backend: str
    jobs: int
    load_s: float = 0.0
    timings: dict[str, list[float]] = field(default_factory=dict)
    plans: dict[str, str] = field(default_factory=dict)

    def quantiles(self, name: str) -> tuple[float, float]:
        """p50 and p95 (nearest rank) of one request's timings."""
        values = sorted(self.timings[name])
        rank = max(1, math.ceil(0.95 * len(values)))
        return statistics.median(values), values[rank - 1]


def _slots(weighted: Sequence[tuple[object, ...]]) -> list[tuple[int, tuple[object, ...]]]:
    """100 slots (0…99), each naming one entry, as many as its weight."""
    slots = [entry[:-1] for entry in weighted for _ in range(int(str(entry[-1])))]
    assert len(slots) == 100, len(slots)
    return list(enumerate(slots))


@dataclass(frozen=True)
class Owner:
    """Whose jobs they are: the team, its admin, a client key, an agent that ran them."""

    team_id: uuid.UUID
    user_id: uuid.UUID
    key_id: uuid.UUID
    agent_id: uuid.UUID


async def _prepare(database_url: str) -> Owner:
    """Migrate, make the admin (as ``conveyor up`` does) and a client key."""
    await bootstrap(database_url, email=ADMIN_EMAIL, password=ADMIN_PASSWORD)
    store = await Store.open(database_url)
    try:
        team_id = await store.team_by_slug("default")
        admin = await store.user_by_email(ADMIN_EMAIL)
        assert team_id is not None and admin is not None
        key = await store.api_key_create(
            team_id, kind="client", name="nightly-etl", prefix=f"cvk_{uuid.uuid4().hex[:12]}",
            secret_hash="0" * 64, scopes=["jobs:create"], created_by=admin.id, expires_at=None,
        )  # fmt: skip
        return Owner(team_id, admin.id, key.id, uuid.uuid4())
    finally:
        await store.close()


# the load: the database makes the rows

_COLUMNS = (
    "id, team_id, action, params, params_hash, queue, priority, state, run_at, attempt, "
    "attempt_floor, max_attempts, backoff_base_s, backoff_max_s, lease_s, cancel_grace_s, "
    "labels, agent_id, pending_dependencies, result, error, created_by, created_by_key, "
    "created_at, updated_at, started_at, finished_at"
)
# One statement for both dialects: _DIALECT fills in what differs. Row n gets its action
# and state from the pick tables by two different strides, so they do not correlate.
_INSERT = """
INSERT INTO jobs ({columns})
SELECT {new_id}, {team_id},
    CASE WHEN s.n % {rare_every} = 0 THEN '{rare}' ELSE a.action END,
    {json}('customer_id', s.n % 5000, 'month', '2026-05',
           'email', 'user' || (s.n % 5000) || '@example.com'),
    {params_hash}, a.queue,
    CASE WHEN s.n % 10 = 0 THEN 10 ELSE 0 END, st.state,
    CASE WHEN st.state = 'scheduled' THEN {future} ELSE {created} END,
    CASE WHEN st.state IN ('queued', 'scheduled') THEN 0
         WHEN st.state = 'dead' THEN 3 ELSE 1 END,
    0, 3, 2.0, 600.0, 30.0, 10.0, {empty},
    CASE WHEN st.state NOT IN ('queued', 'scheduled') THEN {agent_id} END,
    0,
    CASE WHEN st.state = 'succeeded' THEN {json}('rows', s.n % 1000) END,
    CASE WHEN st.state = 'dead'
         THEN {json}('type', 'TimeoutError', 'message', 'the upstream API did not answer') END,
    CASE WHEN s.n % 10 < 7 THEN {user_id} END,
    CASE WHEN s.n % 10 >= 7 THEN {key_id} END,
    {created}, {created},
    CASE WHEN st.state NOT IN ('queued', 'scheduled') THEN {started} END,
    CASE WHEN st.state IN ('succeeded', 'dead', 'cancelled') THEN {finished} END
FROM {series}
JOIN bench_actions AS a ON a.slot = (s.n * 37 + s.n / 100) % 100
JOIN bench_states AS st ON st.slot = (s.n * 53 + s.n / 7) % 100
"""
_DIALECT = {
    "sqlite": {  # ids are text, timestamps integer microseconds, JSON text
        "new_id": "lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || "
        "substr(hex(randomblob(2)), 2) || '-a' || substr(hex(randomblob(2)), 2) || '-' || "
        "hex(randomblob(6)))",
        "json": "json_object",
        "empty": "'{}'",
        "params_hash": "lower(hex(randomblob(32)))",
        "future": ":future",
        "created": "(:t0 + s.n * :step)",
        "started": "(:t0 + s.n * :step + 50000)",
        "finished": "(:t0 + s.n * :step + 2000000)",
        "series": "(WITH RECURSIVE r(n) AS (SELECT :first UNION ALL SELECT n + 1 FROM r "
        "WHERE n < :last) SELECT n FROM r) AS s",
        **{name: f":{name}" for name in ("team_id", "user_id", "key_id", "agent_id")},
    },
    "postgres": {
        "new_id": "gen_random_uuid()",
        "json": "jsonb_build_object",
        "empty": "CAST('{}' AS jsonb)",
        "params_hash": "md5(CAST(s.n AS text)) || md5(CAST(s.n + 1 AS text))",
        "future": "CAST(:future AS timestamptz)",
        "created": "(CAST(:t0 AS timestamptz) + make_interval(secs => s.n * :step))",
        "started": "(CAST(:t0 AS timestamptz) + make_interval(secs => s.n * :step + 0.05))",
        "finished": "(CAST(:t0 AS timestamptz) + make_interval(secs => s.n * :step + 2))",
        "series": "generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS s(n)",
        **{name: f"CAST(:{name} AS uuid)" for name in ("team_id", "user_id", "key_id", "agent_id")},
    },
}
_PICKS = [
    "CREATE TEMP TABLE bench_actions (slot INTEGER PRIMARY KEY, action TEXT, queue TEXT)",
    "CREATE TEMP TABLE bench_states (slot INTEGER PRIMARY KEY, state TEXT)",
]


def load(
    backend: str, url: str, owner: Owner, jobs: int, *, over: timedelta = SPREAD,
    sql: dict[str, str] | None = None,
) -> None:  # fmt: skip
    """Insert ``jobs`` jobs (oldest first) created ``over`` the time up to now, a batch per
    transaction; then, on PostgreSQL, ANALYZE (as autovacuum would soon after such a load).
    ``sql`` replaces parts of :data:`_DIALECT` (bench/stats.py varies the times)."""
    now = datetime.now(UTC)
    spread = over.total_seconds() / max(jobs, 1)
    times: dict[str, object] = (
        {"t0": _micros(now - over), "step": int(spread * 1e6),
         "future": _micros(now + timedelta(days=1))}
        if backend == "sqlite"
        else {"t0": now - over, "step": spread, "future": now + timedelta(days=1)}
    )  # fmt: skip
    ids = {"team_id": owner.team_id, "user_id": owner.user_id, "key_id": owner.key_id,
           "agent_id": owner.agent_id}  # fmt: skip
    insert = sa.text(
        _INSERT.format(
            columns=_COLUMNS,
            rare=RARE,
            rare_every=RARE_EVERY,
            **{**_DIALECT[backend], **(sql or {})},
        )
    )
    engine = _engine(backend, url)
    try:
        with engine.connect() as conn:
            for statement in _PICKS:
                conn.execute(sa.text(statement))
            conn.execute(sa.text("INSERT INTO bench_actions VALUES (:slot, :action, :queue)"),
                         [{"slot": i, "action": a, "queue": q} for i, (a, q) in _slots(ACTIONS)])  # fmt: skip
            conn.execute(sa.text("INSERT INTO bench_states VALUES (:slot, :state)"),
                         [{"slot": i, "state": s} for i, (s,) in _slots(STATES)])  # fmt: skip
            conn.commit()
            for first in range(1, jobs + 1, BATCH):
                last = min(first + BATCH - 1, jobs)
                conn.execute(insert, {"first": first, "last": last, **times,
                                      **{k: str(v) for k, v in ids.items()}})  # fmt: skip
                conn.commit()
            if backend == "postgres":
                conn.execute(sa.text("ANALYZE"))
                conn.commit()
    finally:
        engine.dispose()


def _engine(backend: str, url: str) -> sa.Engine:
    """An engine of the benchmark's own (the server's URL names no driver for PostgreSQL)."""
    if backend == "postgres":
        url = sa.make_url(url).set(drivername="postgresql+psycopg").render_as_string(False)
    return sa.create_engine(url, poolclass=sa.pool.NullPool)


def _micros(value: datetime) -> int:
    return int((value - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() * 1_000_000)


# the measurement: a real server, asked over HTTP


@contextmanager
def _server(database_url: str, workdir: Path) -> Iterator[str]:
    """``conveyor server`` on the store; yields its URL once it is ready."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVEYOR_")}
    env |= {"PYTHONPATH": str(REPO), "CONVEYOR_DATABASE_URL": database_url,
            "CONVEYOR_DATA_DIR": str(workdir)}  # fmt: skip
    argv = [sys.executable, "-m", "conveyor", "server", "--host", "127.0.0.1", "--port", str(port)]
    proc = Proc("server", argv, env, workdir / "server.log")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _ready(proc, url), STARTUP_S, "the server")
        yield url
    finally:
        proc.stop()


def _ready(proc: Proc, url: str) -> bool:
    proc.check()
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


REQUESTS: dict[str, dict[str, str | int]] = {
    "first page": {"limit": PAGE},
    "state + action": {**FILTERED, "limit": PAGE},
    "rare action": {"action": RARE, "limit": PAGE},
}


def measure(url: str, requests: int) -> dict[str, list[float]]:
    """Each request of :data:`REQUESTS`, ``requests`` times after a warm-up; ms each."""
    login = httpx.post(f"{url}/api/v1/auth/login",
                       json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}, timeout=60)  # fmt: skip
    login.raise_for_status()
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    timings: dict[str, list[float]] = {}
    with httpx.Client(base_url=f"{url}/api/v1", headers=headers, timeout=120) as api:
        for name, params in REQUESTS.items():
            for _ in range(WARMUP):
                _page(api, params)
            timings[name] = []
            for _ in range(requests):
                started = time.perf_counter()
                _page(api, params)
                timings[name].append((time.perf_counter() - started) * 1000)
    return timings


def _page(api: httpx.Client, params: dict[str, str | int]) -> None:
    answer = api.get("/jobs", params=params)
    answer.raise_for_status()
    if not answer.json()["items"]:  # an empty answer would be fast and prove nothing
        raise RuntimeError(f"GET /jobs {params} answered no job")


def explain(backend: str, url: str, team_id: uuid.UUID) -> dict[str, str]:
    """The database's plan of each list query, shaped as the store's job list builds it
    (``store/queries/listing.py``: team, filters, newest first, one more than a page)."""
    prefix = "EXPLAIN" if backend == "postgres" else "EXPLAIN QUERY PLAN"
    engine = _engine(backend, url)
    plans: dict[str, str] = {}
    try:
        with engine.connect() as conn:
            for name, params in REQUESTS.items():
                query = sa.select(jobs_table).where(jobs_table.c.team_id == team_id)
                if "state" in params:
                    query = query.where(jobs_table.c.state.in_([params["state"]]))
                if "action" in params:
                    query = query.where(jobs_table.c.action == params["action"])
                query = query.order_by(jobs_table.c.seq.desc()).limit(PAGE + 1)
                sql = str(
                    query.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True})
                )
                if backend == "sqlite":  # ids are stored as text there
                    sql = sql.replace(f"'{team_id.hex}'", f"'{team_id}'")
                rows = conn.execute(sa.text(f"{prefix} {sql}")).all()
                plans[name] = "\n".join(" ".join(str(v) for v in row) for row in rows)
    finally:
        engine.dispose()
    return plans


def drop_indexes(backend: str, url: str, names: Sequence[str]) -> None:
    """Drop indexes of the schema after the load, to see what they buy (``--without``)."""
    engine = _engine(backend, url)
    try:
        with engine.begin() as conn:
            for name in names:
                conn.execute(sa.text(f'DROP INDEX "{name}"'))
    finally:
        engine.dispose()
    print(f"{backend}: without {', '.join(names)}", flush=True)


def run_backend(
    backend: str, jobs: int, requests: int, pg_url: str, *, plans: bool, without: Sequence[str]
) -> Figures:
    figures = Figures(backend, jobs)
    with tempfile.TemporaryDirectory(prefix=f"conveyor-bench-api-{backend}-") as tmp:
        workdir = Path(tmp)
        pg = PgDatabase(pg_url) if backend == "postgres" else None
        url = pg.url if pg is not None else f"sqlite:///{workdir / 'conveyor.db'}"
        try:
            owner = asyncio.run(_prepare(url))
            started = time.perf_counter()
            load(backend, url, owner, jobs)
            figures.load_s = time.perf_counter() - started
            print(f"{backend}: loaded {jobs:,} jobs in {figures.load_s:.1f} s", flush=True)
            if without:
                drop_indexes(backend, url, without)
            if plans:
                figures.plans = explain(backend, url, owner.team_id)
            with _server(url, workdir) as server:
                figures.timings = measure(server, requests)
        finally:
            if pg is not None:
                pg.drop()
    return figures


def report(all_figures: list[Figures]) -> None:
    print()
    print(
        f"GET /api/v1/jobs, {PAGE} a page; ms per request (client side), target < {TARGET_MS:.0f}"
    )
    print(f"{'backend':<10} {'jobs':>10}  {'request':<16} {'p50':>8} {'p95':>8}  verdict")
    summary = []
    for figures in all_figures:
        for name in figures.timings:
            p50, p95 = figures.quantiles(name)
            verdict = "PASS" if p95 < TARGET_MS else "MISS"
            print(f"{figures.backend:<10} {figures.jobs:>10,}  {name:<16} {p50:>8.1f} {p95:>8.1f}"
                  f"  {verdict}")  # fmt: skip
        for name, plan in figures.plans.items():
            print(f"\n{figures.backend} plan, {name}:\n{plan}")
        first, filtered, rare = (figures.quantiles(n)[1] for n in REQUESTS)
        summary.append(
            f"{figures.backend} first={first:.0f}ms filtered={filtered:.0f}ms rare={rare:.0f}ms"
        )
    print()
    print("jobs-api: " + " ".join(summary), flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--jobs", type=int, default=1_000_000, help="jobs in the store")
    parser.add_argument("--requests", type=int, default=20, help="timed requests of each kind")
    parser.add_argument("--backends", default="sqlite,postgres", help="comma-separated")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "CONVEYOR_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument("--explain", action="store_true", help="print each query's plan")
    parser.add_argument(
        "--without",
        default="",
        help="comma-separated indexes to drop after the load, to see what they buy "
        "(e.g. ix_jobs_team_seq,ix_jobs_team_action)",
    )
    args = parser.parse_args(argv)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(backends) - {"sqlite", "postgres"}
    if unknown:
        parser.error(f"unknown backends: {', '.join(sorted(unknown))}")
    print(f"jobs API benchmark: {args.jobs:,} jobs, {args.requests} requests each, "
          f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs", flush=True)  # fmt: skip
    without = [name.strip() for name in args.without.split(",") if name.strip()]
    report([run_backend(b, args.jobs, args.requests, args.pg_url, plans=args.explain,
                        without=without) for b in backends])  # fmt: skip


if __name__ == "__main__":
    main()
