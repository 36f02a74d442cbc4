"""Stats benchmark: ``GET /api/v1/stats`` over a store of 1,000,000 jobs from the last day.

What is measured
----------------
A store of one team is filled with ``--jobs`` jobs (1,000,000 by default) created
over the last day, in bench/jobs_api.py's mix (twelve actions on four queues; 86 %
succeeded, 4 % dead, 2 % cancelled, 8 % still waiting or running), made by the
database itself (``INSERT … SELECT``). Their wait times spread over 0-3 s and their
run times over 0-60 s, so each queue's minutes fill many log-scale buckets. The
rollup triggers count the inserts as submits; then the rollups the jobs imply (what
the triggers would have written as they ran: submits, outcomes, wait and run time
buckets) are rebuilt from the jobs table with one grouped ``INSERT … SELECT``, and the
minutes before the previous hour are folded into hours, as the server's retention does.
PostgreSQL is then vacuumed and analysed, as autovacuum would be soon after.

Then a real ``conveyor server`` process serves the store and the benchmark asks
``GET /api/v1/stats?window=hour`` and ``?window=day`` over HTTP (httpx, one keep-alive
connection, as the admin), ``--requests`` times each after 3 untimed warm-ups. The
median and p95 of the wall time per request (client side) are printed against the
target: median under 100 ms (PASS/MISS, never asserted).

Reproduce
---------
    make bench-stats                                       # 1,000,000 jobs, both backends
    .venv/bin/python -m bench.stats --jobs 100000 --backends sqlite

The last line is ``stats: sqlite hour=…ms day=…ms postgres hour=…ms day=…ms`` (medians).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa

from bench.e2e_conveyor import ADMIN_EMAIL, ADMIN_PASSWORD, PgDatabase
from bench.jobs_api import _engine, _prepare, _server, load
from conveyor.store import Store

TARGET_MS = 100.0
WARMUP = 3
DAY = timedelta(days=1)
WINDOWS = ("hour", "day")

# Waits of 0-3 s and runs of 0-60 s, by two strides that do not correlate.
TIMES = {
    "sqlite": {
        "started": "(:t0 + s.n * :step + (s.n % 1000) * 3000)",
        "finished": "(:t0 + s.n * :step + (s.n % 1000) * 3000 + (s.n % 997) * 61000 + 1000)",
    },
    "postgres": {
        "started": "(CAST(:t0 AS timestamptz) + make_interval(secs => s.n * :step"
        " + (s.n % 1000) * 0.003))",
        "finished": "(CAST(:t0 AS timestamptz) + make_interval(secs => s.n * :step"
        " + (s.n % 1000) * 0.003 + (s.n % 997) * 0.061 + 0.001))",
    },
}

# The rollups the loaded jobs imply, as the triggers of revision 0013 count them.
_MINUTE = {
    "sqlite": "({t} - {t} % 60000000)",
    "postgres": "date_trunc('minute', {t})",
}
_BUCKET = {
    "sqlite": "max(0, min(159, CAST(floor(4 * log2(max({us}, 1000) / 1000.0)) AS INTEGER)))",
    "postgres": "conveyor_rollup_bucket(extract(epoch FROM {us}))",
}
_DUE = {"sqlite": "max(created_at, run_at)", "postgres": "greatest(created_at, run_at)"}
_COUNTS = """
INSERT INTO job_minutes (team_id, minute, queue, submitted, succeeded, failed, cancelled)
SELECT team_id, minute, queue, sum(sub), sum(ok), sum(dead), sum(gone) FROM (
    SELECT team_id, {created} AS minute, queue, 1 AS sub, 0 AS ok, 0 AS dead, 0 AS gone
    FROM jobs
    UNION ALL
    SELECT team_id, {finished}, queue, 0, CASE WHEN state = 'succeeded' THEN 1 ELSE 0 END,
        CASE WHEN state = 'dead' THEN 1 ELSE 0 END, CASE WHEN state = 'cancelled' THEN 1 ELSE 0 END
    FROM jobs WHERE finished_at IS NOT NULL
) AS c GROUP BY team_id, minute, queue
"""
_TIMES = """
INSERT INTO job_minute_times (team_id, minute, queue, kind, bucket, count)
SELECT team_id, minute, queue, kind, bucket, count(*) FROM (
    SELECT team_id, {started} AS minute, queue, 'wait' AS kind, {wait} AS bucket
    FROM jobs WHERE started_at IS NOT NULL
    UNION ALL
    SELECT team_id, {finished}, queue, 'run', {run}
    FROM jobs WHERE started_at IS NOT NULL AND finished_at IS NOT NULL
) AS t GROUP BY team_id, minute, queue, kind, bucket
"""


def rebuild_rollups(backend: str, url: str) -> None:
    """Replace the rollups with those the jobs imply (all as minutes, not yet folded)."""
    minute, bucket = _MINUTE[backend], _BUCKET[backend]
    parts = {
        "created": minute.format(t="created_at"),
        "started": minute.format(t="started_at"),
        "finished": minute.format(t="finished_at"),
        "wait": bucket.format(us=f"started_at - {_DUE[backend]}"),
        "run": bucket.format(us="finished_at - started_at"),
    }
    engine = _engine(backend, url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM job_minutes"))
            conn.execute(sa.text("DELETE FROM job_minute_times"))
            conn.execute(sa.text(_COUNTS.format(**parts)))
            conn.execute(sa.text(_TIMES.format(**parts)))
            if backend == "postgres":
                conn.execute(sa.text("ANALYZE job_minutes"))
    finally:
        engine.dispose()


async def _fold(url: str) -> None:
    """Fold the minutes into hours, as the server's retention has done all day."""
    store = await Store.open(url)
    try:
        while await store.stats_fold():
            pass
    finally:
        await store.close()


def _vacuum(backend: str, url: str) -> None:
    """PostgreSQL: VACUUM ANALYZE, as autovacuum does soon after such a load. Without it
    the visibility map is empty and the depths' index-only count reads every unfinished
    job's heap page (about a second at a million jobs instead of tens of milliseconds)."""
    if backend != "postgres":
        return
    engine = _engine(backend, url).execution_options(isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
    finally:
        engine.dispose()


def _time_rows(backend: str, url: str) -> int:
    engine = _engine(backend, url)
    try:
        with engine.begin() as conn:
            return sum(
                int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())
                for table in ("job_minute_times", "job_hour_times")
            )
    finally:
        engine.dispose()


@dataclass
class Figures:
    """One backend's run: the load, and each window's request timings in ms."""

    backend: str
    jobs: int
    load_s: float = 0.0
    time_rows: int = 0
    timings: dict[str, list[float]] = field(default_factory=dict)

    def median(self, window: str) -> float:
        return statistics.median(self.timings[window])

    def p95(self, window: str) -> float:
        values = sorted(self.timings[window])
        return values[max(0, round(0.95 * len(values)) - 1)]


def measure(url: str, requests: int, jobs: int) -> dict[str, list[float]]:
    """Each window ``requests`` times after a warm-up; ms each."""
    login = httpx.post(f"{url}/api/v1/auth/login",
                       json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}, timeout=60)  # fmt: skip
    login.raise_for_status()
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    timings: dict[str, list[float]] = {}
    with httpx.Client(base_url=f"{url}/api/v1", headers=headers, timeout=120) as api:
        for window in WINDOWS:
            for _ in range(WARMUP):
                _stats(api, window, jobs)
            timings[window] = []
            for _ in range(requests):
                started = time.perf_counter()
                _stats(api, window, jobs)
                timings[window].append((time.perf_counter() - started) * 1000)
    return timings


def _stats(api: httpx.Client, window: str, jobs: int) -> None:
    answer = api.get("/stats", params={"window": window})
    answer.raise_for_status()
    body = answer.json()
    # Every job was submitted within the day (the oldest minute may fall just outside).
    if window == "day" and body["totals"]["submitted"] < jobs * 0.99:
        raise RuntimeError(f"the day counts {body['totals']['submitted']} of {jobs} jobs")


def run_backend(backend: str, jobs: int, requests: int, pg_url: str) -> Figures:
    figures = Figures(backend, jobs)
    with tempfile.TemporaryDirectory(prefix=f"conveyor-bench-stats-{backend}-") as tmp:
        workdir = Path(tmp)
        pg = PgDatabase(pg_url) if backend == "postgres" else None
        url = pg.url if pg is not None else f"sqlite:///{workdir / 'conveyor.db'}"
        try:
            owner = asyncio.run(_prepare(url))
            started = time.perf_counter()
            load(backend, url, owner, jobs, over=DAY, sql=TIMES[backend])
            rebuild_rollups(backend, url)
            asyncio.run(_fold(url))
            _vacuum(backend, url)
            figures.time_rows = _time_rows(backend, url)
            figures.load_s = time.perf_counter() - started
            print(f"{backend}: loaded {jobs:,} jobs and their rollups "
                  f"({figures.time_rows:,} time bucket rows) in {figures.load_s:.1f} s",
                  flush=True)  # fmt: skip
            with _server(url, workdir) as server:
                figures.timings = measure(server, requests, jobs)
        finally:
            if pg is not None:
                pg.drop()
    return figures


def report(all_figures: list[Figures]) -> str:
    print()
    print(f"GET /api/v1/stats; ms per request (client side), target median < {TARGET_MS:.0f}")
    print(f"{'backend':<10} {'jobs':>10}  {'window':<6} {'median':>8} {'p95':>8}  verdict")
    summary = []
    for f in all_figures:
        for window in WINDOWS:
            median = f.median(window)
            verdict = "PASS" if median < TARGET_MS else "MISS"
            print(f"{f.backend:<10} {f.jobs:>10,}  {window:<6} {median:>8.1f} "
                  f"{f.p95(window):>8.1f}  {verdict}")  # fmt: skip
        summary.append(f"{f.backend} hour={f.median('hour'):.0f}ms day={f.median('day'):.0f}ms")
    line = "stats: " + " ".join(summary)
    print()
    print(line, flush=True)
    return line


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--jobs", type=int, default=1_000_000, help="jobs in the store")
    parser.add_argument("--requests", type=int, default=15, help="timed requests per window")
    parser.add_argument("--backends", default="sqlite,postgres", help="comma-separated")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "CONVEYOR_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args(argv)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(backends) - {"sqlite", "postgres"}
    if unknown:
        parser.error(f"unknown backends: {', '.join(sorted(unknown))}")
    print(f"stats benchmark: {args.jobs:,} jobs over the last day, {args.requests} requests "
          f"per window, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs", flush=True)  # fmt: skip
    report([run_backend(b, args.jobs, args.requests, args.pg_url) for b in backends])


if __name__ == "__main__":
    main()
