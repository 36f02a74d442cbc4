"""The end-to-end benchmark still runs: a tiny run, real processes, its summary line.

Celery takes part when it is installed (the ``bench`` extra) and Redis answers;
otherwise the run is Conveyor-only. Nothing here judges speed.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from bench.e2e_celery import celery_installed

from tests.conftest import CI, PG_ADMIN_URL

REPO = Path(__file__).resolve().parents[2]
NUMBER = r"[0-9]+(?:\.[0-9]+)?"
SUMMARY = re.compile(
    rf"e2e: sqlite=(?P<sqlite>{NUMBER}) postgres=(?P<postgres>{NUMBER}) "
    rf"celery=(?P<celery>{NUMBER}|n/a) p50_ms=(?P<p50>{NUMBER}) p99_ms=(?P<p99>{NUMBER}) "
    rf"celery_p50_ms=(?P<celery_p50>{NUMBER}|n/a) csv_1m_s=(?P<csv>{NUMBER})"
)


def _redis_up() -> bool:
    if not celery_installed():
        return False
    import redis

    try:
        return bool(redis.Redis(socket_connect_timeout=1).ping())
    except redis.ConnectionError:
        return False


def _postgres_up() -> bool:
    import psycopg

    try:
        psycopg.connect(PG_ADMIN_URL, connect_timeout=3).close()
    except psycopg.OperationalError:
        return False
    return True


def test_tiny_run_prints_settings_figures_and_the_summary_line(tmp_path: Path) -> None:
    if not _postgres_up():
        if CI:
            raise RuntimeError(f"PostgreSQL is not reachable at {PG_ADMIN_URL}")
        pytest.skip(f"PostgreSQL is not reachable at {PG_ADMIN_URL}")
    with_celery = _redis_up()
    argv = [sys.executable, "-m", "bench.e2e", "--jobs", "50", "--batch", "20",
            "--latency-jobs", "3", "--rounds", "3", "--csv-rows", "1000", "--slots", "1",
            "--pg-url", PG_ADMIN_URL, "--tmpdir", str(tmp_path)]  # fmt: skip
    if not with_celery:
        argv.append("--skip-celery")
    run = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-5000:]
    lines = run.stdout.strip().splitlines()
    summary = SUMMARY.fullmatch(lines[-1])
    assert summary is not None, lines[-1]
    assert float(summary["sqlite"]) > 0 and float(summary["postgres"]) > 0
    assert float(summary["p99"]) >= float(summary["p50"]) > 0
    assert (summary["celery"] != "n/a") == with_celery
    out = run.stdout
    # Every system's durability is stated before any figure.
    assert "synchronous=FULL" in out and "synchronous_commit=" in out
    if with_celery:
        assert "appendonly=" in out and "worker_prefetch_multiplier" in out
    assert re.search(r"postgres server +\d+\.\d +\d+\.\d +\d\.\d\d", out), out
    assert "demo.export_csv, 1000 rows" in out
    # Each backend also ran with CONVEYOR_METRICS=off, and the metrics' cost is printed.
    for backend in ("sqlite", "postgres"):
        assert re.search(rf"{backend} throughput on {NUMBER} vs off {NUMBER} jobs/s: cost", out)
        assert re.search(rf"{backend} p50 submit->start on {NUMBER} vs off {NUMBER} ms", out)
    # The floor under submit -> start is measured beside the latencies.
    floor = re.search(
        rf"HTTP request ({NUMBER}) ms \+ durable commit ({NUMBER}) ms = ({NUMBER}) ms", out
    )
    assert floor is not None, out
    assert float(floor[1]) > 0 and float(floor[2]) > 0
    assert "info floor (one HTTP request + one durable commit" in out
    # Every process it started is gone, and nothing is left in the temporary directory.
    assert not any(tmp_path.iterdir())
