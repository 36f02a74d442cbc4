"""Every waiting job says why, decided from the store at read time, in a fixed few queries."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from conveyor.protocol import ActionOffer
from conveyor.store import JobSpec, Lease, Outcome, Report, Store
from conveyor.store.queries.waiting import WaitingReason, reason
from conveyor.store.records import Job
from tests.helpers.factories import agent_request
from tests.store.test_statement_count import counting

SCHEMA: dict[str, Any] = {"type": "object"}
OTHER: dict[str, Any] = {"type": "object", "properties": {"n": {"type": "integer"}}}
HASH = ActionOffer(name="x", params_schema=SCHEMA).schema_hash


async def _connect(
    store: Store,
    team: uuid.UUID,
    name: str,
    actions: list[str],
    *,
    labels: dict[str, str] | None = None,
    queues: tuple[str, ...] = ("default",),
) -> uuid.UUID:
    return await store.agent_connect(
        team, name=name, labels=labels or {}, slots=1, version="1", queues=list(queues),
        actions=[ActionOffer(name=a, params_schema=SCHEMA) for a in actions],
        key_id=None, user_id=None,
    )  # fmt: skip


async def _submit(store: Store, team: uuid.UUID, **fields: Any) -> uuid.UUID:
    fields.setdefault("schema_hash", HASH)
    action = fields.pop("action", "a.run")
    [submitted] = await store.job_submit_many(team, [JobSpec(action, **fields)])
    return submitted.id


async def _reasons(store: Store, team: uuid.UUID, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    return await store.job_waiting_reasons(team, await store.job_get_many(team, ids))


async def test_each_obstacle_is_named(store: Store, team: uuid.UUID) -> None:
    await _connect(store, team, "gpu", ["a.run", "b.run"], labels={"gpu": "yes"})
    await _connect(store, team, "bulk", ["c.run"], queues=("bulk",))
    future = datetime.now(UTC) + timedelta(hours=1)
    jobs = {
        "scheduled": await _submit(store, team, run_at=future),
        "paused": await _submit(store, team, queue="paused"),
        "offers": await _submit(store, team, action="nobody.runs"),
        "old_version": await _submit(
            store, team, schema_hash=ActionOffer(name="x", params_schema=OTHER).schema_hash
        ),
        "labels": await _submit(store, team, labels={"gpu": "no"}),
        "queue": await _submit(store, team, action="c.run"),
        "busy": await _submit(store, team, labels={"gpu": "yes"}),
    }
    await store.queue_set_paused(team, "paused", True)
    assert await _reasons(store, team, list(jobs.values())) == {
        jobs["scheduled"]: "scheduled",
        jobs["paused"]: "queue_paused",
        jobs["offers"]: "no_agent_offers_action",
        jobs["old_version"]: "no_agent_offers_action",
        jobs["labels"]: "no_agent_matches_labels",
        jobs["queue"]: "no_agent_takes_queue",
        jobs["busy"]: "agents_busy",
    }


async def test_concurrency_drain_backoff_and_disconnect(store: Store, team: uuid.UUID) -> None:
    agent = await _connect(store, team, "one", ["a.run"])
    first = await _submit(store, team, concurrency_key="customer-7", max_attempts=3)
    second = await _submit(store, team, concurrency_key="customer-7")
    [claimed] = await store.job_claim(
        team, agent_request(1, versions={"a.run": [HASH]}, agent_id=agent)
    )
    assert claimed.id == first
    reasons = await _reasons(store, team, [first, second])
    assert reasons == {second: "concurrency_limit"}  # a running job waits for nothing

    await store.job_report(team, [Report(first, claimed.lease_token, Outcome.FAILED)])
    reasons = await _reasons(store, team, [first, second])
    assert reasons == {first: "retry_backoff", second: "agents_busy"}

    await store.agent_set_draining(team, agent, True)
    assert (await _reasons(store, team, [second]))[second] == "agents_draining"
    await store.agent_disconnect(team, agent)
    assert (await _reasons(store, team, [second]))[second] == "no_agent_offers_action"

    await store.lease_extend(team, [Lease(first, claimed.lease_token)])  # stale: changes nothing
    assert (await store.job_get(team, first)).state == "scheduled"


async def test_a_page_costs_a_fixed_number_of_queries(store: Store, team: uuid.UUID) -> None:
    for n in range(3):
        await _connect(store, team, f"agent-{n}", ["a.run"], labels={"n": str(n)})
    specs = [
        JobSpec("a.run", queue=f"q{i % 5}", concurrency_key=f"k{i % 7}", labels={"n": str(i % 4)})
        for i in range(200)
    ]
    ids = [s.id for s in await store.job_submit_many(team, specs)]
    counts = []
    for size in (1, 200):
        page = await store.job_get_many(team, ids[:size])
        with counting(store) as seen:
            reasons = await store.job_waiting_reasons(team, page)
        counts.append(len([s for s in seen if s.lstrip().upper().startswith("SELECT")]))
        assert len(reasons) == size
    assert counts == [4, 4]  # with the page's action limits (queries/flow.py)
    with counting(store) as seen:
        assert await store.job_waiting_reasons(team, []) == {}
    assert seen == []


def test_pending_waits_on_dependencies_and_finished_jobs_on_nothing() -> None:
    base = dict(
        id=uuid.uuid4(), team_id=uuid.uuid4(), action="a", schema_hash=None, params={},
        queue="default", priority=0, run_at=datetime.now(UTC), attempt=0, attempt_floor=0,
        max_attempts=3, timeout_s=None, labels={}, agent_id=None, lease_expires_at=None,
        cancel_requested_at=None, idempotency_key=None, concurrency_key=None,
        concurrency_limit=None, parent_id=None, progress=None, result=None, error=None,
        created_at=datetime.now(UTC), started_at=None, finished_at=None, seq=1,
    )  # fmt: skip
    pending = Job(state="pending", **base)  # type: ignore[arg-type]
    assert reason(pending, None) == WaitingReason.DEPENDENCIES
    for state in ("running", "succeeded", "dead", "cancelled"):
        assert reason(dataclasses.replace(pending, state=state), None) is None  # type: ignore[arg-type]
