"""PostgreSQL: every transaction that changes jobs sends one NOTIFY, saying the truth.

Submit, claim and report send it from their own statement (no round trip of its
own) unless the operation changes more after them; the payload is what listeners on
other replicas act on: the newest outbox seq, whether work became claimable, and
whether an agent must be told something.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import psycopg

from conveyor.engine.listener import CHANNEL
from conveyor.store import JobSpec, Outcome, Report, Store
from tests.helpers.factories import agent_request

END = "end of the test's transactions"


async def notes_during(
    pg_url: str, action: Callable[[], Awaitable[Any]]
) -> tuple[Any, list[dict[str, Any]]]:
    """Run ``action`` while listening; its result and every notification it caused.

    A NOTIFY sent after the action marks the end: notifications arrive in commit
    order, so everything the action's transactions sent has arrived before it.
    """
    libpq = pg_url.replace("postgresql+psycopg://", "postgresql://")
    async with await psycopg.AsyncConnection.connect(libpq, autocommit=True) as conn:
        await conn.execute(f"LISTEN {CHANNEL}")
        result = await action()
        await conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, END))
        notes = []
        async for note in conn.notifies(timeout=30):
            if note.payload == END:
                return result, notes
            notes.append(orjson.loads(note.payload))
    raise AssertionError("the end marker never arrived")


async def test_submit_claim_and_report_each_send_one_true_notification(
    pg_store: Store, pg_url: str
) -> None:
    team = await pg_store.team_create("acme", "Acme")
    specs = [JobSpec("demo.echo", {"n": n}) for n in range(3)]

    _, notes = await notes_during(pg_url, lambda: pg_store.job_submit_many(team, specs))
    assert notes == [{"seq": await pg_store.event_last_seq(), "work": True}]

    claimed, notes = await notes_during(pg_url, lambda: pg_store.job_claim(team, agent_request()))
    assert len(claimed) == 3
    assert notes == [{"seq": await pg_store.event_last_seq(), "work": False}]

    done = [Report(claimed[0].id, claimed[0].lease_token, Outcome.SUCCEEDED)]
    _, notes = await notes_during(pg_url, lambda: pg_store.job_report(team, done))
    assert notes == [{"seq": await pg_store.event_last_seq(), "work": False}]

    # A released job is queued again: claimable work.
    released = [Report(claimed[1].id, claimed[1].lease_token, Outcome.RELEASED)]
    _, notes = await notes_during(pg_url, lambda: pg_store.job_report(team, released))
    assert notes == [{"seq": await pg_store.event_last_seq(), "work": True}]

    # A stale report changes nothing, and says nothing.
    _, notes = await notes_during(pg_url, lambda: pg_store.job_report(team, done))
    assert notes == []


async def test_a_claim_of_jobs_with_and_without_a_concurrency_key_sends_one(
    pg_store: Store, pg_url: str
) -> None:
    """The keyless jobs are claimed by the statement that finds them, the keyed ones by a
    second one after the key check: still one notification, naming the newest seq."""
    team = await pg_store.team_create("acme", "Acme")
    specs = [JobSpec("demo.echo"), JobSpec("demo.echo", concurrency_key="db")]
    _, keyed_job = await pg_store.job_submit_many(team, specs)
    claimed, notes = await notes_during(pg_url, lambda: pg_store.job_claim(team, agent_request()))
    assert len(claimed) == 2
    assert notes == [{"seq": await pg_store.event_last_seq(), "work": False}]

    # Only a keyed job, and its key is full: nothing claimed, nothing said.
    await pg_store.job_submit_many(team, [JobSpec("demo.echo", concurrency_key="db")])
    waiting, notes = await notes_during(pg_url, lambda: pg_store.job_claim(team, agent_request()))
    assert waiting == [] and notes == []

    # The keyed job ends: the one waiting on its key is claimable, on every replica.
    [keyed] = [c for c in claimed if c.id == keyed_job.id]
    done = [Report(keyed.id, keyed.lease_token, Outcome.SUCCEEDED)]
    _, notes = await notes_during(pg_url, lambda: pg_store.job_report(team, done))
    assert notes == [{"seq": await pg_store.event_last_seq(), "work": True}]


async def test_a_submit_whose_jobs_are_claimed_at_once_announces_no_work(
    pg_store: Store, pg_url: str
) -> None:
    """The submit's own statement must not announce work that its transaction then
    takes: idle agents on every replica would wake and find nothing."""
    team = await pg_store.team_create("acme", "Acme")
    specs = [JobSpec("demo.echo", {"n": n}) for n in range(2)]
    (submitted, [claimed]), notes = await notes_during(
        pg_url, lambda: pg_store.job_submit_and_claim(team, specs, [agent_request()])
    )
    assert {c.id for c in claimed} == {s.id for s in submitted}
    assert notes == [{"seq": await pg_store.event_last_seq(), "work": False}]

    # With one job left over, the one notification says there is work.
    more = [JobSpec("demo.echo", {"n": n}) for n in range(3)]
    _, notes = await notes_during(
        pg_url, lambda: pg_store.job_submit_and_claim(team, more, [agent_request(limit=2)])
    )
    assert notes == [{"seq": await pg_store.event_last_seq(), "work": True}]


async def test_a_cancel_of_a_running_job_tells_the_agents_replica(
    pg_store: Store, pg_url: str
) -> None:
    team = await pg_store.team_create("acme", "Acme")
    [sub] = await pg_store.job_submit_many(team, [JobSpec("demo.echo")])
    await pg_store.job_claim(team, agent_request(agent_id=uuid.uuid4()))
    _, notes = await notes_during(pg_url, lambda: pg_store.job_cancel(team, [sub.id]))
    assert notes == [{"seq": await pg_store.event_last_seq(), "work": False, "control": True}]
