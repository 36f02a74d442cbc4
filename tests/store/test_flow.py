"""Flow control in the claim, on both dialects, with the store's clock: rate limits per
queue and per rate key, concurrency limits per queue and per action, fair queues, and
the waiting reasons they give (queries/flow.py)."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from conveyor.errors import NotFound
from conveyor.protocol import ActionOffer
from conveyor.store import JobSpec, Outcome, QueueChange, Report, Store
from conveyor.store.records import ClaimedJob, RateLimit
from tests.helpers.factories import agent_request

T0 = datetime(2030, 1, 1, tzinfo=UTC)
SECOND = timedelta(seconds=1)


async def _offer(store: Store, team: uuid.UUID, *actions: str) -> None:
    offers = [ActionOffer(name=a, schema_hash="0" * 64, params_schema={}) for a in actions]
    await store.agent_connect(
        team, name="a1", labels={}, slots=4, version="t", queues=["default"],
        actions=offers, key_id=None, user_id=None,
    )  # fmt: skip


async def _finish(store: Store, team: uuid.UUID, jobs: list[ClaimedJob], now: datetime) -> None:
    await store.job_report(
        team, [Report(j.id, j.lease_token, Outcome.SUCCEEDED) for j in jobs], now=now
    )


async def _reasons(store: Store, team: uuid.UUID, now: datetime = T0) -> Counter[str]:
    page = (await store.job_list(team, limit=500)).items
    return Counter((await store.job_waiting_reasons(team, page, now=now)).values())


async def test_a_queue_rate_limit_is_a_sliding_window(store: Store, team: uuid.UUID) -> None:
    await _offer(store, team, "demo.echo")
    await store.queue_update(team, "default", QueueChange(rate_limit=RateLimit(5, 1.0)))
    await store.job_submit_many(team, [JobSpec("demo.echo", {"i": i}) for i in range(12)], now=T0)
    agent = agent_request(limit=10)
    first = await store.job_claim(team, agent, now=T0)
    assert len(first) == 5
    assert await store.job_claim(team, agent, now=T0 + SECOND / 2) == []
    assert (await _reasons(store, team, T0 + SECOND / 2))["rate_limit"] == 7
    await _finish(store, team, first, T0 + SECOND / 2)  # finishing frees no start
    assert await store.job_claim(team, agent, now=T0 + SECOND * 0.999) == []
    # A start counts for exactly one interval: at T0 + 1 s the five of T0 are out.
    assert len(await store.job_claim(team, agent, now=T0 + SECOND)) == 5
    assert len(await store.job_claim(team, agent, now=T0 + 2 * SECOND)) == 2
    await store.queue_update(team, "default", QueueChange(rate_limit=None))
    assert (await store.queue_list(team))[0].rate_limit is None


async def test_a_queue_concurrency_limit_counts_running_jobs(store: Store, team: uuid.UUID) -> None:
    await _offer(store, team, "demo.echo")
    await store.queue_update(team, "default", QueueChange(concurrency_limit=2))
    await store.job_submit_many(team, [JobSpec("demo.echo", {"i": i}) for i in range(5)], now=T0)
    agent = agent_request(limit=10)
    running = await store.job_claim(team, agent, now=T0)
    assert len(running) == 2
    assert await store.job_claim(team, agent, now=T0) == []
    assert (await _reasons(store, team))["concurrency_limit"] == 3
    await _finish(store, team, running[:1], T0)
    assert len(await store.job_claim(team, agent, now=T0)) == 1
    [queue] = await store.queue_list(team)
    assert (queue.concurrency_limit, queue.fair, queue.paused) == (2, False, False)


async def test_an_action_limit_holds_while_other_actions_flow(
    store: Store, team: uuid.UUID
) -> None:
    await _offer(store, team, "demo.echo", "demo.other")
    await store.action_set_limit(team, "demo.echo", 3)
    limited = [JobSpec("demo.echo", {"i": i}) for i in range(10)]
    others = [JobSpec("demo.other", {"i": i}) for i in range(4)]
    await store.job_submit_many(team, limited + others, now=T0)
    agent = agent_request(limit=20, actions=("demo.echo", "demo.other"))
    claimed = await store.job_claim(team, agent, now=T0)
    assert Counter(j.action for j in claimed) == {"demo.echo": 3, "demo.other": 4}
    assert await store.job_claim(team, agent, now=T0) == []
    assert (await _reasons(store, team))["concurrency_limit"] == 7
    [echo] = [a for a in await store.action_list(team) if a.name == "demo.echo"]
    assert echo.concurrency_limit == 3
    await store.action_set_limit(team, "demo.echo", None)
    assert len(await store.job_claim(team, agent, now=T0)) == 7
    with pytest.raises(NotFound):
        await store.action_set_limit(team, "demo.nowhere", 1)


async def test_a_rate_key_limits_its_jobs_only(store: Store, team: uuid.UUID) -> None:
    await _offer(store, team, "demo.echo")
    await store.rate_limit_set(team, "partner", 2, 10.0)
    keyed = [JobSpec("demo.echo", {"i": i}, rate_key="partner") for i in range(5)]
    free = [JobSpec("demo.echo", {"f": i}, rate_key="unlimited") for i in range(2)]
    plain = [JobSpec("demo.echo", {"p": i}) for i in range(3)]
    await store.job_submit_many(team, keyed + free + plain, now=T0)
    agent = agent_request(limit=20)
    claimed = await store.job_claim(team, agent, now=T0)
    assert len(claimed) == 2 + 2 + 3
    assert (await _reasons(store, team, T0 + SECOND))["rate_limit"] == 3
    assert await store.job_claim(team, agent, now=T0 + 9 * SECOND) == []
    assert len(await store.job_claim(team, agent, now=T0 + 10 * SECOND)) == 2
    assert await store.rate_limit_list(team) == [RateLimit(2, 10.0, "partner")]
    await store.rate_limit_delete(team, "partner")
    assert len(await store.job_claim(team, agent, now=T0 + 10 * SECOND)) == 1
    with pytest.raises(NotFound):
        await store.rate_limit_delete(team, "partner")


async def test_a_fair_queue_shares_its_slots_across_fair_keys(
    store: Store, team: uuid.UUID
) -> None:
    await _offer(store, team, "demo.echo")
    await store.queue_update(team, "default", QueueChange(fair=True))
    flood = [JobSpec("demo.echo", {"a": i}, fair_key="A") for i in range(200)]
    few = [JobSpec("demo.echo", {"b": i}, fair_key="B") for i in range(10)]
    await store.job_submit_many(team, flood, now=T0)
    await store.job_submit_many(team, few, now=T0 + SECOND)
    now = T0 + 2 * SECOND
    order: list[str] = []
    running: list[ClaimedJob] = []
    while order.count("B") < 10:
        got = await store.job_claim(team, agent_request(limit=4 - len(running)), now=now)
        order += ["A" if "a" in job.params else "B" for job in got]
        running += got
        if len(order) == 4:
            assert (await _reasons(store, team))["fairness"] == 200 + 10 - 4
        await _finish(store, team, running[:2], now)  # two slots free up per round
        running = running[2:]
        assert len(order) <= 2 * 10 + 4, order  # B is not starved behind A's 200
    assert order[:4] == ["A", "B", "A", "B"]  # least running first, ties in claim order


async def test_a_fair_claim_gives_a_key_more_than_its_share_when_the_others_run_more(
    store: Store, team: uuid.UUID
) -> None:
    # The claim first reads twice each key's even share (6 over 3 keys: 4 per key); C,
    # with nothing running beside 6 each of A and B, is owed all 6: it runs dry at 4,
    # and the claim reads again in full.
    await _offer(store, team, "demo.echo")
    await store.queue_update(team, "default", QueueChange(fair=True))
    for key in "ABC":
        await store.job_submit_many(
            team, [JobSpec("demo.echo", {"k": key}, fair_key=key)] * 20, now=T0
        )
    busy = await store.job_claim(team, agent_request(limit=18), now=T0)
    assert sorted(Counter(job.params["k"] for job in busy).items()) == [
        ("A", 6),
        ("B", 6),
        ("C", 6),
    ]
    await _finish(store, team, [job for job in busy if job.params["k"] == "C"], T0)
    got = await store.job_claim(team, agent_request(limit=6), now=T0)
    assert [job.params["k"] for job in got] == ["C"] * 6


async def test_a_paused_fair_queue_hands_out_nothing(store: Store, team: uuid.UUID) -> None:
    await store.queue_update(team, "default", QueueChange(fair=True, paused=True))
    await store.job_submit_many(team, [JobSpec("demo.echo", fair_key="A")], now=T0)
    assert await store.job_claim(team, agent_request(), now=T0) == []
    await store.queue_update(team, "default", QueueChange(paused=False))
    assert len(await store.job_claim(team, agent_request(), now=T0)) == 1


async def test_a_fair_queue_keys_jobs_by_submitter_by_default(
    store: Store, team: uuid.UUID
) -> None:
    user = uuid.uuid4()
    await store.queue_update(team, "default", QueueChange(fair=True))
    [sub] = await store.job_submit_many(team, [JobSpec("demo.echo", created_by=user)], now=T0)
    [unfair] = await store.job_submit_many(
        team, [JobSpec("demo.echo", queue="other", created_by=user)], now=T0
    )
    assert (await store.job_get(team, sub.id)).fair_key == str(user)
    assert (await store.job_get(team, unfair.id)).fair_key is None
    # Made fair later, a queue's waiting jobs get their submitter's key.
    await store.queue_update(team, "other", QueueChange(fair=True))
    assert (await store.job_get(team, unfair.id)).fair_key == str(user)
