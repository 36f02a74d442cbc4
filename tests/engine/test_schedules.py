"""Firing schedules with the clock passed in (``now``), on SQLite and PostgreSQL.

DST, the misfire and overlap policies, rights at fire time and exactly-once between
two replicas racing for the same tick. The real-time, multi-process version is
``tests/chaos/test_schedule_replicas.py``.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from conveyor.auth.permissions import Principal, role_permissions
from conveyor.engine import AgentHub, Engine, Schedules, Submission
from conveyor.protocol import ActionOffer
from conveyor.states import JobState
from conveyor.store import ClaimRequest, Store, Tick
from tests.engine.conftest import QUIET

SCHEMA: dict[str, Any] = {"type": "object", "properties": {"n": {"type": "integer"}}}
ECHO = ActionOffer(name="demo.echo", params_schema=SCHEMA)
SECOND = timedelta(seconds=1)


@dataclass
class Setup:
    store: Store
    team: uuid.UUID
    schedules: Schedules
    user: uuid.UUID

    def creator(self) -> Principal:
        return Principal(self.team, self.user, None, "user", role_permissions("operator"))

    async def create(self, now: datetime, **values: Any) -> uuid.UUID:
        body = {
            "name": f"s-{uuid.uuid4().hex[:6]}", "action": "demo.echo", "params": {"n": 1},
            "queue": "default", "priority": 0, "labels": {}, "max_attempts": None,
            "timeout_s": None, "timezone": "UTC", "paused": False, "misfire_policy": "latest",
            "catchup_window_s": 3600, "overlap": "allow", "run_as_key_id": None,
            "description": "", **values,
        }  # fmt: skip
        return (await self.schedules.create(self.creator(), body, now=now)).id

    async def ticks(self, schedule_id: uuid.UUID) -> list[Tick]:
        page = await self.store.schedule_ticks(self.team, schedule_id, limit=1000)
        return list(reversed(page.items))

    async def walk(self, schedule_id: uuid.UUID, until: datetime) -> None:
        """Move the clock from due tick to due tick (1 s late) until ``until``."""
        while True:
            schedule = await self.store.schedule_get(self.team, schedule_id)
            at = schedule.next_fire_at
            if at is None or at > until:
                return
            await self.schedules.fire_due(now=at + SECOND)


def _schedules(engine: Engine) -> Schedules:
    hub = AgentHub(engine, poll_s=3600)
    return Schedules(engine.store, Submission(engine.store, hub, lease_s=30))


async def _member(store: Store, team: uuid.UUID, role: str = "operator") -> uuid.UUID:
    user = await store.user_create(f"{uuid.uuid4().hex[:8]}@example.com", None)
    await store.member_add(team, user.id, role)
    return user.id


async def _offer(store: Store, team: uuid.UUID, offer: ActionOffer = ECHO) -> None:
    await store.agent_connect(
        team, name="offers", labels={}, slots=1, version="1.0", queues=["default"],
        actions=[offer], key_id=None, user_id=None,
    )  # fmt: skip


@pytest.fixture
async def setup(store: Store, team: uuid.UUID) -> AsyncIterator[Setup]:
    engine = Engine(store, QUIET)
    await _offer(store, team)
    yield Setup(store, team, _schedules(engine), await _member(store, team))


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def fired(ticks: list[Tick]) -> list[datetime]:
    return [t.fire_at for t in ticks if t.outcome == "submitted"]


# daylight saving time


async def test_0230_in_berlin_fires_once_a_day_across_both_changes(setup: Setup) -> None:
    """Spring: 02:30 does not exist on 29 March 2026; the tick fires once, at 03:00 CEST
    (01:00 UTC). Autumn: 02:30 happens twice on 25 October; it fires once, at the first
    (02:30 CEST, 00:30 UTC)."""
    for start, expected in [
        (utc(2026, 3, 27, 12), [utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1), utc(2026, 3, 30, 0, 30)]),
        (utc(2026, 10, 23, 12), [utc(2026, 10, 24, 0, 30), utc(2026, 10, 25, 0, 30),
                                 utc(2026, 10, 26, 1, 30)]),
    ]:  # fmt: skip
        sid = await setup.create(start, cron="30 2 * * *", timezone="Europe/Berlin")
        await setup.walk(sid, start + timedelta(days=3))
        # Also a pass every 20 minutes of those days: nothing more fires.
        for step in range(3 * 72):
            await setup.schedules.fire_due(now=start + timedelta(minutes=20 * step))
        ticks = await setup.ticks(sid)
        assert fired(ticks) == expected
        assert all(t.outcome == "submitted" for t in ticks)
        runs = await setup.store.job_list(setup.team, where=_by_schedule(sid), limit=100)
        assert sorted(j.schedule_fire_at for j in runs.items if j.schedule_fire_at) == expected


async def test_every_15_minutes_in_new_york_keeps_real_time_across_the_autumn_change(
    setup: Setup,
) -> None:
    start = utc(2026, 11, 1, 4)  # 00:00 EDT; the clocks go back at 06:00 UTC (02:00 EDT)
    sid = await setup.create(start, cron="*/15 * * * *", timezone="America/New_York")
    await setup.walk(sid, utc(2026, 11, 1, 8))
    times = fired(await setup.ticks(sid))
    assert times[0] == start + timedelta(minutes=15) and times[-1] == utc(2026, 11, 1, 8)
    assert {b - a for a, b in itertools.pairwise(times)} == {timedelta(minutes=15)}
    assert len(times) == 16  # 4 real hours, the repeated 01:00-02:00 included


# missed ticks


@pytest.mark.parametrize(
    ("policy", "submitted"),
    [("catch_up", ["00:40", "00:50", "01:00", "01:10", "01:20", "01:30"]),
     ("latest", ["01:30"]), ("skip", [])],
)  # fmt: skip
async def test_ticks_missed_while_down_follow_the_misfire_policy(
    setup: Setup, policy: str, submitted: list[str]
) -> None:
    """Down from 00:00 to 01:35 with a tick every 10 minutes and a one-hour window."""
    start = utc(2026, 1, 1) - SECOND
    sid = await setup.create(start, cron="*/10 * * * *", misfire_policy=policy)
    await setup.schedules.fire_due(now=utc(2026, 1, 1, 1, 35))
    ticks = await setup.ticks(sid)
    assert [t.fire_at.strftime("%H:%M") for t in ticks if t.outcome == "submitted"] == submitted
    skipped = [t for t in ticks if t.outcome == "skipped"]
    assert len(skipped) == 10 - len(submitted)
    assert {(t.skip_reason, t.job_id) for t in skipped} <= {("missed", None)}
    schedule = await setup.store.schedule_get(setup.team, sid)
    assert schedule.next_fire_at == utc(2026, 1, 1, 1, 40)
    assert schedule.last_tick is not None and schedule.last_tick.fire_at == utc(2026, 1, 1, 1, 30)


async def test_a_week_down_is_one_missed_row_not_thousands(setup: Setup) -> None:
    start = utc(2026, 1, 1) - SECOND
    sid = await setup.create(start, cron="* * * * * *", misfire_policy="skip")
    await setup.schedules.fire_due(now=utc(2026, 1, 8))
    ticks = await setup.ticks(sid)
    assert len(ticks) <= 12 and ticks[0].fire_at == utc(2026, 1, 1)
    assert ticks[0].message is not None and "every one after it" in ticks[0].message
    assert {t.outcome for t in ticks} == {"submitted", "skipped"}  # the last 10 s: on time


# overlap


async def _left_running(setup: Setup, sid: uuid.UUID, now: datetime) -> uuid.UUID:
    """Fire the next tick and claim its job, as an agent running it for long would."""
    await setup.walk(sid, now)
    [job] = (await setup.store.job_list(setup.team, where=_by_schedule(sid), limit=10)).items
    request = ClaimRequest(agent_id=uuid.uuid4(), queues=["default"],
                           actions={"demo.echo": [ECHO.schema_hash]}, limit=1)  # fmt: skip
    [claimed] = await setup.store.job_claim(setup.team, request, now=now)
    assert claimed.id == job.id
    return job.id


@pytest.mark.parametrize("overlap", ["allow", "skip", "cancel_previous"])
async def test_overlap_policy_with_a_run_still_going(setup: Setup, overlap: str) -> None:
    start = utc(2026, 2, 1)
    sid = await setup.create(start, cron="*/5 * * * *", overlap=overlap)
    first = await _left_running(setup, sid, start + timedelta(minutes=5))
    await setup.walk(sid, start + timedelta(minutes=10))
    ticks = await setup.ticks(sid)
    assert len(ticks) == 2
    running = await setup.store.job_get(setup.team, first)
    assert running.state == JobState.RUNNING
    if overlap == "skip":
        assert (ticks[1].outcome, ticks[1].skip_reason) == ("skipped", "overlap")
        assert ticks[1].message is not None and str(first) in ticks[1].message
        assert running.cancel_requested_at is None
    else:
        assert ticks[1].outcome == "submitted" and ticks[1].job_id not in (None, first)
        assert (running.cancel_requested_at is not None) == (overlap == "cancel_previous")


# rights at fire time


async def test_a_creator_who_lost_the_right_skips_the_tick_and_the_schedule_goes_on(
    setup: Setup,
) -> None:
    start = utc(2026, 3, 1)
    sid = await setup.create(start, cron="0 * * * *")
    await setup.store.member_set_role(setup.team, setup.user, "viewer")  # no jobs:create
    await setup.walk(sid, start + timedelta(hours=1))
    await setup.store.member_remove(setup.team, setup.user)
    await setup.walk(sid, start + timedelta(hours=2))
    await setup.store.member_add(setup.team, setup.user, "operator")
    await setup.walk(sid, start + timedelta(hours=3))
    ticks = await setup.ticks(sid)
    assert [(t.outcome, t.skip_reason) for t in ticks] == [
        ("skipped", "rights_revoked"),
        ("skipped", "rights_revoked"),
        ("submitted", None),
    ]
    assert "jobs:create:demo.echo" in (ticks[0].message or "")
    assert "no longer a member" in (ticks[1].message or "")


async def test_a_revoked_run_as_key_skips_the_tick(setup: Setup) -> None:
    key = await setup.store.api_key_create(
        setup.team, kind="client", name="nightly", prefix=f"cvk_{uuid.uuid4().hex[:8]}",
        secret_hash="0" * 64, scopes=["jobs:create"], created_by=setup.user, expires_at=None,
    )  # fmt: skip
    start = utc(2026, 3, 1)
    sid = await setup.create(start, cron="0 * * * *", run_as_key_id=key.id)
    await setup.walk(sid, start + timedelta(hours=1))
    [job] = (await setup.store.job_list(setup.team, where=_by_schedule(sid), limit=10)).items
    assert (job.created_by, job.created_by_key) == (None, key.id)
    await setup.store.api_key_revoke(setup.team, key.id)
    await setup.walk(sid, start + timedelta(hours=2))
    ticks = await setup.ticks(sid)
    assert [(t.outcome, t.skip_reason) for t in ticks] == [
        ("submitted", None),
        ("skipped", "rights_revoked"),
    ]
    assert "revoked" in (ticks[1].message or "")


async def test_params_that_no_longer_fit_the_action_schema_skip_as_invalid(setup: Setup) -> None:
    start = utc(2026, 3, 1)
    sid = await setup.create(start, cron="0 * * * *")
    strict = {"type": "object", "properties": {"n": {"type": "string"}}}
    await _offer(setup.store, setup.team, ActionOffer(name="demo.echo", params_schema=strict))
    await setup.walk(sid, start + timedelta(hours=1))
    [tick] = await setup.ticks(sid)
    assert (tick.outcome, tick.skip_reason) == ("skipped", "invalid")


# exactly once


async def test_two_replicas_racing_for_the_same_ticks_fire_each_once(
    setup: Setup, db_url: str
) -> None:
    other = await Store.open(db_url)
    try:
        rival = _schedules(Engine(other, QUIET))
        start = utc(2026, 4, 1)
        sids = [await setup.create(start, cron="* * * * * *", overlap="allow") for _ in range(3)]
        for step in range(1, 21):
            now = start + step * SECOND
            await asyncio.gather(setup.schedules.fire_due(now), rival.fire_due(now))
        for sid in sids:
            ticks = await setup.ticks(sid)
            assert fired(ticks) == [start + n * SECOND for n in range(1, 21)]
            runs = await setup.store.job_list(setup.team, where=_by_schedule(sid), limit=100)
            assert len(runs.items) == 20
    finally:
        await other.close()


def _by_schedule(sid: uuid.UUID) -> Any:
    from conveyor.store import JobFilter

    return JobFilter(schedule_id=sid)
