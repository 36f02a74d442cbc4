"""Bulk cancel and retry: by ids or by filter, capped per call, skipping what they cannot change."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from conveyor.errors import InvalidInput
from conveyor.store import AuditEntry, JobFilter, JobSpec, Outcome, Report, Store
from tests.helpers.factories import agent_request

T0 = datetime(2030, 1, 1, tzinfo=UTC)


async def submit(store: Store, team: uuid.UUID, n: int, action: str = "demo.echo",
                 **kw: object) -> list[uuid.UUID]:  # fmt: skip
    specs = [JobSpec(action, {"i": i}, **kw) for i in range(n)]  # type: ignore[arg-type]
    return [s.id for s in await store.job_submit_many(team, specs, now=T0)]


async def states(store: Store, team: uuid.UUID, ids: list[uuid.UUID]) -> list[str]:
    by_id = {job.id: job.state for job in await store.job_get_many(team, ids)}
    return [by_id[i] for i in ids]


async def test_cancel_by_ids_skips_finished_foreign_and_missing_jobs(
    store: Store, team: uuid.UUID
) -> None:
    queued = await submit(store, team, 3)
    agent = uuid.uuid4()
    [running] = await store.job_claim(team, agent_request(limit=1, agent_id=agent), now=T0)
    other_team = await store.team_create("other", "Other")
    [theirs] = await submit(store, other_team, 1)

    done = await store.job_cancel_many(team, ids=[*queued, theirs, uuid.uuid4()])

    assert (done.affected, done.skipped, done.remaining) == (3, 2, 0)
    job = await store.job_get(team, running.id)
    assert job.state == "running" and job.cancel_requested_at is not None  # its agent is told
    assert sorted(await states(store, team, queued)).count("cancelled") == 2
    assert (await store.job_get(other_team, theirs)).state == "queued"  # never touched
    again = await store.job_cancel_many(team, ids=queued)
    assert (again.affected, again.skipped) == (0, 3)  # a flagged running job is not counted twice


async def test_cancel_by_filter_is_capped_and_says_what_remains(
    store: Store, team: uuid.UUID
) -> None:
    exports = await submit(store, team, 5, "reports.export")
    others = await submit(store, team, 2)
    where = JobFilter(action="reports.export")

    first = await store.job_cancel_many(team, where=where, limit=2)
    assert (first.affected, first.skipped, first.remaining) == (2, 0, 3)
    assert await states(store, team, exports) == ["queued"] * 3 + ["cancelled"] * 2  # newest first
    second = await store.job_cancel_many(team, where=where, limit=10)
    assert (second.affected, second.remaining) == (3, 0)
    assert await states(store, team, others) == ["queued", "queued"]
    assert (await store.job_cancel_many(team, where=where)).affected == 0


async def test_retry_by_filter_and_by_ids(store: Store, team: uuid.UUID) -> None:
    ids = await submit(store, team, 4, max_attempts=1)
    claimed = await store.job_claim(team, agent_request(limit=3), now=T0)
    reports = [Report(c.id, c.lease_token, Outcome.FAILED, retryable=False) for c in claimed]
    await store.job_report(team, reports)
    dead = [c.id for c in claimed]
    [waiting] = [i for i in ids if i not in dead]

    done = await store.job_retry_many(team, where=JobFilter(states=("dead",)), limit=2)
    assert (done.affected, done.remaining) == (2, 1)
    done = await store.job_retry_many(team, ids=[*dead, waiting])
    assert (done.affected, done.skipped, done.remaining) == (1, 3, 0)
    assert await states(store, team, dead) == ["queued"] * 3


async def make_dead(store: Store, team: uuid.UUID, ids: list[uuid.UUID]) -> None:
    """The queued jobs ``ids`` (and no other) fail for good, as an agent would report."""
    claimed = await store.job_claim(team, agent_request(limit=len(ids) + 1), now=T0)
    assert sorted(c.id for c in claimed) == sorted(ids)
    reports = [Report(c.id, c.lease_token, Outcome.FAILED, retryable=False) for c in claimed]
    await store.job_report(team, reports)


async def test_a_retry_loop_going_on_below_retries_each_job_once(
    store: Store, team: uuid.UUID
) -> None:
    ids = await submit(store, team, 5, max_attempts=1)
    await make_dead(store, team, ids)
    where = JobFilter(states=("dead",))

    below: int | None = None
    retried: list[uuid.UUID] = []
    batches: list[set[uuid.UUID]] = []
    while True:
        done = await store.job_retry_many(team, where=where, limit=2, below=below)
        now_queued = [i for i, s in zip(ids, await states(store, team, ids), strict=True)
                      if s == "queued"]  # fmt: skip
        assert len(now_queued) == done.affected
        retried += now_queued
        batches.append(set(now_queued))
        await make_dead(store, team, now_queued)  # they die again before the next call
        if done.next_seq is None:
            assert done.remaining == 0
            break
        assert done.remaining == 5 - len(retried)
        below = done.next_seq
    assert sorted(retried) == sorted(ids)  # each exactly once, newest first
    assert batches == [set(ids[3:]), set(ids[1:3]), {ids[0]}]


async def test_a_cancel_loop_ends_while_new_jobs_arrive_and_leaves_them(
    store: Store, team: uuid.UUID
) -> None:
    old = await submit(store, team, 5)
    where = JobFilter(states=("queued",))
    first = await store.job_cancel_many(team, where=where, limit=2)
    assert (first.affected, first.remaining) == (2, 3) and first.next_seq is not None
    arrived = await submit(store, team, 3)
    second = await store.job_cancel_many(team, where=where, limit=2, below=first.next_seq)
    assert (second.affected, second.remaining) == (2, 1) and second.next_seq is not None
    arrived += await submit(store, team, 3)
    third = await store.job_cancel_many(team, where=where, limit=2, below=second.next_seq)
    assert (third.affected, third.remaining, third.next_seq) == (1, 0, None)
    assert await states(store, team, old) == ["cancelled"] * 5
    assert await states(store, team, arrived) == ["queued"] * 6  # above where the loop began


async def test_nothing_below_the_cursor_changes_nothing(store: Store, team: uuid.UUID) -> None:
    ids = await submit(store, team, 2)
    first = await store.job_cancel_many(team, where=JobFilter(), limit=1)
    assert first.next_seq is not None
    done = await store.job_cancel_many(team, where=JobFilter(), below=first.next_seq - 1000)
    assert (done.affected, done.remaining, done.next_seq) == (0, 0, None)
    assert await states(store, team, ids) == ["queued", "cancelled"]


async def test_the_audit_row_says_how_the_jobs_were_chosen(store: Store, team: uuid.UUID) -> None:
    ids = await submit(store, team, 2)
    entry = AuditEntry(uuid.uuid4(), team, "user", None, "ann", "jobs.cancel_many", None)
    await store.job_cancel_many(team, where=JobFilter(queue="default"), audit=entry)
    page = await store.audit_list(team, limit=10)
    [row] = [r for r in page.items if r.action == "jobs.cancel_many"]
    assert row.details == {"mode": "filter", "filter": {"queue": "default"}, "affected": 2,
                           "skipped": 0, "remaining": 0}  # fmt: skip
    assert len(ids) == 2


@pytest.mark.parametrize(
    "selection",
    [
        {},
        {"ids": [uuid.uuid4()], "where": JobFilter()},
        {"ids": []},
        {"where": JobFilter(), "limit": 0},
        {"where": JobFilter(), "limit": 10_001},
        {"ids": [uuid.uuid4()], "below": 10},
    ],
)
async def test_a_selection_that_is_not_exactly_one_thing_is_refused(
    store: Store, team: uuid.UUID, selection: dict[str, object]
) -> None:
    await submit(store, team, 1)
    with pytest.raises(InvalidInput):
        await store.job_cancel_many(team, **selection)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        await store.job_retry_many(team, **selection)  # type: ignore[arg-type]
    assert await states(store, team, [j.id for j in (await store.job_list(team)).items]) == [
        "queued"
    ]
