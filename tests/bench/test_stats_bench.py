"""The stats benchmark still runs: 10,000 jobs on SQLite and PostgreSQL, a real server,
its figures and summary line. Nothing here judges speed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bench.test_e2e import _postgres_up
from tests.conftest import CI, PG_ADMIN_URL

REPO = Path(__file__).resolve().parents[2]
MS = r"[0-9]+ms"
SUMMARY = re.compile(rf"^stats: sqlite hour={MS} day={MS} postgres hour={MS} day={MS}$", re.M)


def test_a_small_run_prints_figures_and_the_summary_line() -> None:
    if not _postgres_up():
        if CI:
            raise RuntimeError(f"PostgreSQL is not reachable at {PG_ADMIN_URL}")
        pytest.skip(f"PostgreSQL is not reachable at {PG_ADMIN_URL}")
    argv = [sys.executable, "-m", "bench.stats", "--jobs", "10000", "--requests", "2",
            "--pg-url", PG_ADMIN_URL]  # fmt: skip
    run = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    out = run.stdout
    assert SUMMARY.search(out), out[-2000:]
    for backend in ("sqlite", "postgres"):
        assert f"{backend}: loaded 10,000 jobs and their rollups" in out
        for window in ("hour", "day"):
            assert re.search(rf"^{backend} +10,000  {window} .*(PASS|MISS)$", out, re.M)
