"""Job lists page by keyset (no duplicate, no gap under inserts); events read after a seq."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from conveyor.errors import InvalidInput
from conveyor.states import JobState
from conveyor.store import JobSpec, Store
from tests.helpers.factories import agent_request

T0 = datetime(2030, 1, 1, tzinfo=UTC)


async def submit(store: Store, team: uuid.UUID, n: int, **kw: object) -> list[uuid.UUID]:
    subs = await store.job_submit_many(
        team,
        [JobSpec("demo.echo", {"i": i}, **kw) for i in range(n)],  # type: ignore[arg-type]
        now=T0,
    )
    return [s.id for s in subs]


async def test_pages_have_no_duplicate_and_no_gap_while_jobs_arrive(
    store: Store, team: uuid.UUID
) -> None:
    before = await submit(store, team, 7)
    first = await store.job_list(team, limit=3)
    assert [j.id for j in first.items] == before[::-1][:3]  # newest first
    assert first.next_cursor == first.items[-1].seq

    arrived = await submit(store, team, 2)  # between pages
    seen = [j.id for j in first.items]
    cursor: int | None = first.next_cursor
    while cursor is not None:
        page = await store.job_list(team, limit=3, cursor=cursor)
        seen += [j.id for j in page.items]
        if page.next_cursor is not None:
            arrived += await submit(store, team, 1)
        cursor = page.next_cursor
    assert seen == before[::-1]  # every older job exactly once, none of the new ones
    assert not set(arrived) & set(seen)

    fresh = await store.job_list(team, limit=100)
    assert len(fresh.items) == len(before) + len(arrived) == 10 and fresh.next_cursor is None
    assert [j.seq for j in fresh.items] == sorted((j.seq for j in fresh.items), reverse=True)


async def test_a_full_last_page_ends_the_list(store: Store, team: uuid.UUID) -> None:
    await submit(store, team, 4)
    first = await store.job_list(team, limit=2)
    second = await store.job_list(team, limit=2, cursor=first.next_cursor)
    assert len(second.items) == 2 and second.next_cursor is None
    assert (await store.job_list(team)).next_cursor is None


async def test_filters(store: Store, team: uuid.UUID) -> None:
    default = await submit(store, team, 3)
    exports = await submit(store, team, 2, queue="exports")
    other = (await store.job_submit_many(team, [JobSpec("demo.other", {})], now=T0))[0].id
    agent = uuid.uuid4()
    claimed = await store.job_claim(team, agent_request(limit=2, agent_id=agent), now=T0)
    running = {c.id for c in claimed}
    await store.job_cancel(team, [exports[1]])

    def ids(page: object) -> set[uuid.UUID]:
        return {j.id for j in page.items}  # type: ignore[attr-defined]

    assert ids(await store.job_list(team, queue="exports")) == set(exports)
    assert ids(await store.job_list(team, action="demo.other")) == {other}
    assert ids(await store.job_list(team, agent_id=agent)) == running
    assert ids(await store.job_list(team, states=["running"])) == running
    assert ids(await store.job_list(team, states=[JobState.CANCELLED, "running"])) == running | {
        exports[1]
    }
    queued = await store.job_list(team, states=["queued"], queue="default", action="demo.echo")
    assert ids(queued) == set(default) - running
    assert (await store.job_list(team, states=[])).items == []
    with pytest.raises(InvalidInput):
        await store.job_list(team, states=["nope"])
    for limit in (0, 1001):
        with pytest.raises(InvalidInput):
            await store.job_list(team, limit=limit)

    team_b = await store.team_create("beta", "Beta")
    assert (await store.job_list(team_b)).items == []


async def test_events_after_a_seq(store: Store, team: uuid.UUID) -> None:
    team_b = await store.team_create("beta", "Beta")
    start = await store.event_last_seq()
    ids = await submit(store, team, 3)
    await submit(store, team_b, 2)
    await store.job_cancel(team, [ids[0]])

    events = await store.events_after(team, start)
    assert [(e.kind, e.object_id, e.data["state"]) for e in events] == [
        ("job", ids[0], "queued"), ("job", ids[1], "queued"), ("job", ids[2], "queued"),
        ("job", ids[0], "cancelled"),
    ]  # fmt: skip
    assert [e.seq for e in events] == sorted(e.seq for e in events)
    assert all(e.created_at is not None for e in events)

    assert await store.events_after(team, events[1].seq, limit=1) == [events[2]]
    assert await store.events_after(team, events[-1].seq) == []
    only = await store.events_after(team, start, object_id=ids[0])
    assert [e.data["state"] for e in only] == ["queued", "cancelled"]
    assert len(await store.events_after(team_b, start)) == 2
    skipped = await store.events_after(team, start, skip=[events[0].seq, events[2].seq])
    assert skipped == [events[1], events[3]]  # a reader's look-behind skips what it has
    with pytest.raises(InvalidInput):
        await store.events_after(team, start, limit=0)
