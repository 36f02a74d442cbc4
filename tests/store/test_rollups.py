"""Conformance: the per-minute rollups follow the jobs on every path, on both dialects."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from conveyor.errors import InvalidInput
from conveyor.store import JobSpec, Outcome, Report, Store
from conveyor.store.queries.rollups import bucket_of, bucket_seconds, percentiles
from tests.helpers.factories import agent_request

T0 = datetime(2030, 1, 1, 12, 0, 10, tzinfo=UTC)


def s(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


async def test_counts_and_times_follow_submit_claim_and_finish(
    store: Store, team: uuid.UUID
) -> None:
    subs = await store.job_submit_many(
        team, [JobSpec("demo.echo", {"i": i}, max_attempts=2) for i in range(5)], now=T0
    )
    await store.job_cancel(team, [subs[4].id], now=s(1))  # queued -> cancelled at once
    claimed = await store.job_claim(team, agent_request(limit=4), now=s(2))  # waited 2 s
    by_id = {c.id: c for c in claimed}
    ok, retried, dead, slow = (by_id[sub.id] for sub in subs[:4])
    await store.job_report(team, [
        Report(ok.id, ok.lease_token, Outcome.SUCCEEDED),  # ran 3 s
        Report(retried.id, retried.lease_token, Outcome.FAILED, error={"message": "again"}),
        Report(dead.id, dead.lease_token, Outcome.FAILED, error={"message": "boom"},
               retryable=False),
    ], now=s(5))  # fmt: skip
    await store.job_report(team, [Report(slow.id, slow.lease_token, Outcome.SUCCEEDED)],
                           now=s(65))  # ran 63 s, finished the next minute  # fmt: skip

    rollup = await store.stats_rollup(team, 60, now=s(70))
    minute = T0.replace(second=0)
    assert rollup.minutes[minute] == {"submitted": 5, "succeeded": 1, "failed": 1, "cancelled": 1}
    after = minute + timedelta(minutes=1)
    assert rollup.minutes[after] == {"submitted": 0, "succeeded": 1, "failed": 0, "cancelled": 0}
    waits = rollup.times[("default", "wait")]
    assert waits == {bucket_of(2.0): 4}
    runs = rollup.times[("default", "run")]
    assert runs == {bucket_of(3.0): 3, bucket_of(63.0): 1}  # the retried attempt ran too
    assert [f.job_id for f in rollup.failures] == [dead.id]
    assert rollup.failures[0].error == {"message": "boom"}


async def test_the_window_and_teams_bound_what_is_read(store: Store, team: uuid.UUID) -> None:
    other = await store.team_create("other", "Other")
    await store.job_submit_many(team, [JobSpec("demo.echo", {})], now=T0)
    await store.job_submit_many(other, [JobSpec("demo.echo", {}, queue="theirs")], now=T0)
    await store.job_submit_many(team, [JobSpec("demo.echo", {})], now=s(3600))
    hour = await store.stats_rollup(team, 60, now=s(3600))
    assert sum(m["submitted"] for m in hour.minutes.values()) == 1  # T0 is 61 minutes ago
    day = await store.stats_rollup(team, 1440, now=s(3600))
    assert sum(m["submitted"] for m in day.minutes.values()) == 2
    await store.job_claim(team, agent_request(), now=s(3600))
    theirs = await store.stats_rollup(other, 1440, now=s(3600))
    assert sum(m["submitted"] for m in theirs.minutes.values()) == 1
    assert theirs.times == {} and theirs.failures == []
    assert set((await store.stats_rollup(team, 1440, now=s(3600))).times) == {("default", "wait")}
    with pytest.raises(InvalidInput):
        await store.stats_rollup(team, 1441)


async def test_prune_keeps_a_day(store: Store, team: uuid.UUID) -> None:
    await store.job_submit_many(team, [JobSpec("demo.echo", {})], now=T0)
    assert await store.stats_prune(now=s(3600)) == 0
    assert await store.stats_prune(now=s(26 * 3600)) == 1
    assert (await store.stats_rollup(team, 1440, now=s(26 * 3600))).minutes == {}
    with pytest.raises(InvalidInput):
        await store.stats_prune(timedelta(hours=1))


def test_percentiles_come_from_the_buckets() -> None:
    assert percentiles({}) == (None, None, None)
    counts: dict[int, int] = {}
    for seconds in [1.0] * 90 + [10.0] * 8 + [100.0] * 2:
        counts[bucket_of(seconds)] = counts.get(bucket_of(seconds), 0) + 1
    p50, p95, p99 = percentiles(counts)
    assert p50 == pytest.approx(1.0, rel=0.1)
    assert p95 == pytest.approx(10.0, rel=0.1)
    assert p99 == pytest.approx(100.0, rel=0.1)
    assert bucket_of(0.0) == 0 and bucket_seconds(bucket_of(1e12)) > 1e9


async def test_prune_deletes_an_hour_of_minutes_per_call(store: Store, team: uuid.UUID) -> None:
    for hours in (0, 2):
        await store.job_submit_many(team, [JobSpec("demo.echo", {})], now=s(hours * 3600))
    later = s(30 * 3600)
    assert await store.stats_prune(now=later) == 1  # the oldest minute's hour only
    assert (await store.stats_rollup(team, 1440, now=s(3 * 3600))).minutes  # still there
    assert await store.stats_prune(now=later) == 1  # then the next from the oldest left
    assert await store.stats_prune(now=later) == 0


async def test_folding_into_hours_keeps_the_figures(store: Store, team: uuid.UUID) -> None:
    """Retention folds minutes older than the previous hour into hour rows: the day's
    percentiles stay; the last hour keeps its minutes."""
    for hour, waited in ((0, 1.0), (1, 4.0), (2, 16.0)):
        at = s(hour * 3600)
        await store.job_submit_many(team, [JobSpec("demo.echo", {})] * 2, now=at)
        await store.job_claim(team, agent_request(), now=at + timedelta(seconds=waited))
    now = s(2 * 3600 + 600)  # 14:10: minutes before 13:00 are folded
    day = await store.stats_rollup(team, 1440, now=now)
    hour = await store.stats_rollup(team, 60, now=now)
    assert await store.stats_fold(now=now) > 0
    assert await store.stats_fold(now=now) == 0  # 12:00's hour is folded, 13:00 stays
    assert await store.stats_rollup(team, 60, now=now) == hour
    folded = await store.stats_rollup(team, 1440, now=now)
    assert (
        folded.times
        == day.times
        == {("default", "wait"): {bucket_of(1.0): 2, bucket_of(4.0): 2, bucket_of(16.0): 2}}
    )
    assert folded.minutes == day.minutes  # the counts per minute are never folded
    assert await store.stats_prune(now=s(30 * 3600)) > 0  # hour rows are pruned too
    assert (await store.stats_rollup(team, 1440, now=s(30 * 3600))).times == {}
