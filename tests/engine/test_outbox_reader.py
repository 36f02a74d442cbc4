"""Reading the outbox in order on PostgreSQL, where a lower seq can commit later.

A transaction holds an event uncommitted while a later one commits: the reader
hands out the later one, then the late one once it commits, each exactly once,
and its re-reads of the look-behind window bring back only what it has not
delivered (the store skips the rest). SQLite commits one writer at a time and
needs no window (its reader is checked by every event test).
"""

from __future__ import annotations

import uuid

import psycopg

from conveyor.engine.outbox import OutboxReader, lookbehind_for
from conveyor.store import JobSpec, Store


async def _read(store: Store, team: uuid.UUID, reader: OutboxReader, now: float) -> list[int]:
    """One wake-up of a stream: what the store returned, after handing out the fresh ones."""
    batch = await store.events_after(team, reader.read_from(now), skip=reader.delivered())
    returned = [event.seq for event in batch]
    for seq in returned:
        assert reader.fresh(seq), f"the store returned {seq} again"
    return returned


async def test_a_late_commit_is_delivered_once_and_nothing_is_read_twice(
    pg_store: Store, pg_url: str
) -> None:
    store = pg_store
    team = await store.team_create("acme", "Acme")
    reader = OutboxReader(await store.event_last_seq(), lookbehind_for(store.dialect))
    window = reader.lookbehind_s

    with psycopg.connect(pg_url.replace("+psycopg", "")) as late:  # a transaction left open
        row = late.execute(
            "INSERT INTO events (team_id, kind, object_id, data, created_at) "
            "VALUES (%s, 'job', %s, '{\"state\": \"queued\"}', now()) RETURNING seq",
            (team, uuid.uuid4()),
        ).fetchone()
        assert row is not None
        late_seq = row[0]
        await store.job_submit_many(team, [JobSpec("demo.echo", {})])  # a higher seq, committed
        first = await _read(store, team, reader, now=0.0)
        assert first and min(first) > late_seq
        assert await _read(store, team, reader, now=0.1) == []  # nothing read twice
        late.commit()

    assert await _read(store, team, reader, now=window / 2) == [late_seq]
    assert await _read(store, team, reader, now=window * 0.9) == []
    assert await _read(store, team, reader, now=window * 3) == []  # past the window
    assert reader.high == max(first)
