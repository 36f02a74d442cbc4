"""The floor under submit -> start: an HTTP request and a durable commit, no Conveyor code.

Conveyor's submit -> start is one authenticated HTTP request whose transaction
commits the job (and, on PostgreSQL, claims it for a waiting agent). Two parts of
that cost the same with any code on top, so they are measured alone, one at a time
like the latency rounds:

- **HTTP request**: the SDK's HTTP client (httpx, async) posting a submit-shaped
  JSON body to a FastAPI app on uvicorn and uvloop (Conveyor's server stack) that
  answers at once (``bench/e2e_floor_app.py``).
- **durable commit**: a one-row INSERT committed on the run's PostgreSQL database
  (psycopg, ``synchronous_commit`` as the server has it).

Their sum is a floor for any submit path made of an HTTP API and a durable commit;
Celery's ``apply_async`` is one in-memory Redis LPUSH, below it.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg

from bench.e2e_conveyor import free_port
from bench.e2e_procs import Proc, wait_until

REPO = Path(__file__).resolve().parents[1]
ROUNDS = 300
WARMUP = 30
STARTUP_S = 30.0


@dataclass(frozen=True)
class Floor:
    http_ms: float  # p50 of one request round trip
    commit_ms: float  # p50 of one durable one-row commit

    @property
    def total_ms(self) -> float:
        return self.http_ms + self.commit_ms

    def describe(self) -> str:
        return (
            f"HTTP request {self.http_ms:.2f} ms + durable commit {self.commit_ms:.2f} ms "
            f"= {self.total_ms:.2f} ms (p50s; FastAPI on uvicorn answering at once, "
            "one-row INSERT on PostgreSQL)"
        )


def measure(pg_url: str, workdir: Path) -> Floor:
    return Floor(http_request_ms(workdir), commit_ms(pg_url))


def http_request_ms(workdir: Path) -> float:
    """p50 of ``POST /jobs`` to the bare app, through httpx's async client."""
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "bench.e2e_floor_app:app", "--host", "127.0.0.1",
            "--port", str(port), "--loop", "uvloop", "--log-level", "warning", "--no-access-log"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = Proc("floor app", argv, env, workdir / "floor-app.log")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _answers(url), STARTUP_S, "the floor app")
        return asyncio.run(_time_requests(url))
    finally:
        proc.stop()


async def _time_requests(url: str) -> float:
    body = {"action": "bench.noop", "params": {}}
    times = []
    async with httpx.AsyncClient(base_url=url) as client:
        for n in range(WARMUP + ROUNDS):
            started = time.perf_counter()
            (await client.post("/jobs", json=body)).raise_for_status()
            if n >= WARMUP:
                times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def commit_ms(pg_url: str) -> float:
    """p50 of one INSERT committed on its own (autocommit), as durable as the server is."""
    times = []
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_floor (id bigserial PRIMARY KEY, body jsonb)"
        )
        try:
            for n in range(WARMUP + ROUNDS):
                started = time.perf_counter()
                conn.execute("INSERT INTO bench_floor (body) VALUES ('{}')")
                if n >= WARMUP:
                    times.append(time.perf_counter() - started)
        finally:
            conn.execute("DROP TABLE bench_floor")
    return statistics.median(times) * 1000


def _answers(url: str) -> bool:
    try:
        httpx.get(f"{url}/docs", timeout=1)
    except httpx.TransportError:
        return False
    return True
