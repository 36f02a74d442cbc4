"""A per-second schedule on three real server replicas sharing one PostgreSQL.

Every replica runs the scheduler; none is the leader. For N real seconds (12 in
``make test``, 60 in ``make chaos``), with one replica killed with SIGKILL half-way:
every second has exactly one tick and exactly one job, no gap. The two replicas
left keep firing on time, so no tick is missed (a tick is missed only when no server
could fire it for :data:`~conveyor.engine.schedule_plan.LATE_GRACE_S`).
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from conveyor.protocol import ActionOffer
from conveyor.store import Store
from tests.chaos.conftest import RECOVERIES, size
from tests.helpers.live import LiveServer, wait_until

SECONDS = size(12, 60)
TICK = ActionOffer(name="chaos.tick", params_schema={"type": "object"})


async def _offer(url: str) -> None:
    """Put the action in the default team's catalog (no agent runs the jobs: they queue)."""
    store = await Store.open(url)
    try:
        team = await store.team_by_slug("default")
        assert team is not None
        await store.agent_connect(
            team, name="catalog", labels={}, slots=1, version="test", queues=["default"],
            actions=[TICK], key_id=None, user_id=None,
        )  # fmt: skip
    finally:
        await store.close()


def _all(api: httpx.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        answer = api.get(
            path, params={"limit": 1000, **params, **({"cursor": cursor} if cursor else {})}
        )
        assert answer.status_code == 200, answer.text
        page = answer.json()
        found += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return found


def test_one_job_per_second_on_three_replicas_with_one_killed(pg_url: str, tmp_path: Path) -> None:
    replicas: list[LiveServer] = []
    try:
        for name in "abc":
            (tmp_path / name).mkdir()
            replicas.append(LiveServer(pg_url, tmp_path / name))
        asyncio.run(_offer(pg_url))
        api = replicas[0].client()
        body = {"name": "every-second", "action": "chaos.tick", "cron": "* * * * * *",
                "overlap": "allow", "misfire_policy": "latest"}  # fmt: skip
        answer = api.post("/schedules", json=body)
        assert answer.status_code == 201, answer.text
        sid = answer.json()["id"]

        def ticks() -> list[dict[str, Any]]:
            return _all(api, f"/schedules/{sid}/ticks")

        wait_until(lambda: len(ticks()) >= SECONDS // 2, SECONDS, "half the ticks")
        replicas[2].process.kill()  # kill -9, mid-pass or not
        killed_at = len(ticks())
        wait_until(lambda: len(ticks()) >= SECONDS, 2 * SECONDS, "the other half of the ticks")
        paused = api.post(f"/schedules/{sid}/pause")
        assert paused.status_code == 200, paused.text
        api.close()
        survivor = replicas[1].client()

        recorded = sorted(_all(survivor, f"/schedules/{sid}/ticks"), key=lambda t: t["fire_at"])
        times = [datetime.fromisoformat(t["fire_at"]) for t in recorded]
        assert len(times) >= SECONDS
        gaps = [(a, b) for a, b in itertools.pairwise(times) if b - a != timedelta(seconds=1)]
        assert gaps == [], f"ticks not one second apart: {gaps[:5]}"
        assert {t["outcome"] for t in recorded} == {"submitted"}, [
            t for t in recorded if t["outcome"] != "submitted"
        ]
        jobs = _all(survivor, "/jobs", schedule_id=sid)
        assert len(jobs) == len(recorded)  # exactly one job per tick
        assert sorted(datetime.fromisoformat(j["schedule_fire_at"]) for j in jobs) == times
        assert {uuid.UUID(t["job_id"]) for t in recorded} == {uuid.UUID(j["id"]) for j in jobs}
        survivor.close()
        RECOVERIES.append(
            f"schedule on 3 replicas, one killed after {killed_at} of {len(times)} ticks: "
            "one job per second, no gap"
        )
    finally:
        for replica in replicas:
            if replica.process.alive():
                replica.stop()
