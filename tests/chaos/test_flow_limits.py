"""Flow limits on a real server and real agents (two agents, four slots each), checked
on the attempts table afterwards: a queue rate limit in every window, a concurrency key
and an action limit never exceeded while other jobs keep flowing, and a fair queue
that does not starve a small key behind a flood (docs/flow-control.md).

Small in ``make test``; ``make chaos`` runs the issue's sizes (200 jobs at 20/s over
10 s, 200 keyed jobs, a flood of 10,000).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from conveyor.store.database import Database
from conveyor.store.schema import job_attempts
from tests.chaos.conftest import size
from tests.e2e.conftest import python_agent, wait_states
from tests.helpers.live import LiveAgent, LiveServer

SLOTS = 4


@pytest.fixture
def fleet(db_url: str, tmp_path: Path) -> Iterator[tuple[LiveServer, list[LiveAgent]]]:
    server = LiveServer(db_url, tmp_path)
    started: list[LiveAgent] = []
    try:
        yield server, started
    finally:
        for agent in started:
            agent.process.kill()
        server.stop()


def _agents(server: LiveServer, started: list[LiveAgent], *queues: str) -> None:
    args = [arg for queue in queues for arg in ("--queue", queue)]
    for n in range(2):
        started.append(python_agent(server, f"flow-{n}", *args, slots=SLOTS))


def _submit_all(api: httpx.Client, jobs: list[dict[str, Any]]) -> list[str]:
    ids: list[str] = []
    for start in range(0, len(jobs), 1000):
        done = api.post("/jobs/batch", json={"jobs": jobs[start : start + 1000]})
        assert done.status_code == 201, done.text
        ids += [job["id"] for job in done.json()["items"]]
    return ids


def _spans(db_url: str, ids: list[str]) -> list[tuple[datetime, datetime | None, str]]:
    """(started, finished, job id) of every attempt of ``ids``, by start."""
    engine = Database.sync_engine_for(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    job_attempts.c.started_at, job_attempts.c.finished_at, job_attempts.c.job_id
                ).where(job_attempts.c.job_id.in_([uuid.UUID(i) for i in ids]))
            ).all()
    finally:
        engine.dispose()
    return sorted(((row[0], row[1], str(row[2])) for row in rows), key=lambda r: (r[0], r[2]))


def _peak(spans: list[tuple[datetime, datetime | None, str]]) -> int:
    """The most attempts running at once (one ending as another starts is no overlap)."""
    edges = sorted(
        [(end, -1) for _, end, _ in spans if end is not None] + [(s, 1) for s, _, _ in spans]
    )
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    return peak


def test_a_queue_rate_limit_holds_in_every_window(
    fleet: tuple[LiveServer, list[LiveAgent]], db_url: str
) -> None:
    server, started = fleet
    count = size(50, 200)
    with server.client() as api:
        limited = api.patch("/queues/paced", json={"rate_limit": {"count": 20, "interval_s": 1}})
        assert limited.status_code == 200, limited.text
        _agents(server, started, "paced")
        jobs = [{"action": "e2e.add", "params": {"a": i, "b": 1}, "queue": "paced"}
                for i in range(count)]  # fmt: skip
        ids = _submit_all(api, jobs)
        assert wait_states(api, ids, timeout=60 + count / 10) == dict.fromkeys(ids, "succeeded")
    starts = [s for s, _, _ in _spans(db_url, ids)]
    assert len(starts) == count  # every job ran once
    window = timedelta(seconds=1)
    busiest = max(sum(1 for t in starts[i:] if t < s + window) for i, s in enumerate(starts))
    assert busiest <= 20 + 1, busiest  # +1 at the boundary
    assert busiest >= 20  # the limit was reached: the check was not vacuous
    assert starts[-1] - starts[0] >= (count // 20 - 1) * window


@pytest.mark.parametrize("kind", ["concurrency_key", "action"])
def test_a_concurrency_limit_holds_while_others_flow(
    fleet: tuple[LiveServer, list[LiveAgent]], db_url: str, kind: str
) -> None:
    server, started = fleet
    count, limit = size(30, 200), 1 if kind == "concurrency_key" else 3
    with server.client() as api:
        _agents(server, started, "default")
        if kind == "action":
            limited = api.patch("/actions/e2e.nap", json={"concurrency_limit": limit})
            assert limited.status_code == 200, limited.text
            keyed = [{"action": "e2e.nap", "params": {"ms": 60}} for _ in range(count)]
            others = [{"action": "e2e.add", "params": {"a": i, "b": 0}} for i in range(count)]
        else:
            key = {"concurrency_key": "sync:customer-42", "concurrency_limit": 1}
            keyed = [{"action": "e2e.nap", "params": {"ms": 20}, **key} for _ in range(count)]
            others = [{"action": "e2e.nap", "params": {"ms": 20}, "concurrency_key": f"c{i}"}
                      for i in range(count)]  # fmt: skip
        limited_ids = _submit_all(api, keyed)
        other_ids = _submit_all(api, others)
        ids = limited_ids + other_ids
        assert wait_states(api, ids, timeout=120) == dict.fromkeys(ids, "succeeded")
    spans = _spans(db_url, limited_ids)
    assert len(spans) == count
    assert _peak(spans) == limit  # never more, and reached
    # The others were not held behind the limited ones: all done before those are.
    last_other = max(end for _, end, _ in _spans(db_url, other_ids) if end is not None)
    assert last_other < max(end for _, end, _ in spans if end is not None)


def test_a_fair_queue_starts_a_small_key_among_a_flood(
    fleet: tuple[LiveServer, list[LiveAgent]], db_url: str
) -> None:
    server, started = fleet
    flood = size(400, 10_000)
    with server.client() as api:
        api.patch("/queues/shared", json={"paused": True, "fair": True}).raise_for_status()
        _agents(server, started, "shared")
        a_ids = _submit_all(api, [
            {"action": "e2e.nap", "params": {"ms": 10}, "queue": "shared", "fair_key": "A"}
            for _ in range(flood)
        ])  # fmt: skip
        b_ids = _submit_all(api, [
            {"action": "e2e.nap", "params": {"ms": 10}, "queue": "shared", "fair_key": "B"}
            for _ in range(10)
        ])  # fmt: skip
        api.patch("/queues/shared", json={"paused": False}).raise_for_status()
        assert wait_states(api, b_ids, timeout=60) == dict.fromkeys(b_ids, "succeeded")
        api.post("/jobs/cancel", json={"filter": {"queue": "shared"}, "all_matching": True})
    order = [job for _, _, job in _spans(db_url, a_ids + b_ids)]
    last_b = max(order.index(job) for job in b_ids)
    # B's ten started within about the first 2 x 10 starts (plus one claim per slot).
    assert last_b < 2 * 10 + 2 * SLOTS, (last_b, len(order))
