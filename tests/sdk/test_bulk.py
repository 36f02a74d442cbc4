"""``cancel_many``/``retry_many`` and the list filters, on both clients and both dialects."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest

from conveyor.errors import InvalidInput, PermissionDenied
from conveyor.sdk.client import Client
from conveyor.sdk.models import BulkResult, JobFilter
from conveyor.states import JobState
from conveyor.store import JobSpec
from conveyor.store.queries.claim import ClaimRequest
from conveyor.store.queries.leases import Outcome, Report
from conveyor.store.records import BulkChange
from tests.api.conftest import ECHO, Live
from tests.sdk.conftest import Connect, claim, finish


def test_cancel_and_retry_many_by_ids_and_by_filter(client: Client, live: Live) -> None:
    jobs = [client.submit("demo.echo", {"message": f"invoice {n}"}) for n in range(3)]
    ids = [j.id for j in jobs]
    assert client.cancel_many(ids[:1]) == BulkResult(affected=1, skipped=0, remaining=0)
    done = client.cancel_many(filter={"q": "invoice", "state": ["queued"]})
    assert done == BulkResult(affected=2, skipped=0, remaining=0)
    assert {j.state for j in client.list()} == {JobState.CANCELLED}

    again = client.retry_many(filter=JobFilter(state=["cancelled"], action="demo.echo"))
    assert again.affected == 3
    assert client.retry_many(ids) == BulkResult(affected=0, skipped=3, remaining=0)
    with pytest.raises(InvalidInput):
        client.cancel_many()
    with pytest.raises(InvalidInput):
        client.cancel_many(ids, filter={"queue": "default"})


def test_filter_mode_asks_again_while_jobs_remain(client: Client, live: Live) -> None:
    specs = [JobSpec(action="demo.echo", params={"i": i}) for i in range(1000)]
    for _ in range(10):
        live.run(live.store.job_submit_many(live.team_id, specs))
    live.run(live.store.job_submit_many(live.team_id, specs[:2]))
    done = client.cancel_many(filter={"action": "demo.echo"})
    assert done == BulkResult(affected=10_002, skipped=0, remaining=0)


def capped(live: Live, monkeypatch: pytest.MonkeyPatch, verb: str,
           between: Callable[[], Awaitable[None]]) -> list[int]:  # fmt: skip
    """The server changes at most 2 jobs per request, and ``between`` runs after each
    (before the client's next request); the list: the jobs each request changed."""
    store = live.store
    original = getattr(store, f"job_{verb}_many")
    changed: list[int] = []

    async def two_at_a_time(*args: Any, **kwargs: Any) -> BulkChange:
        done: BulkChange = await original(*args, **{**kwargs, "limit": 2})
        changed.append(done.affected)
        if len(changed) < 20:  # a loop that never ends still stops the test
            await between()
        return done

    monkeypatch.setattr(store, f"job_{verb}_many", two_at_a_time)
    return changed


def test_filter_mode_leaves_jobs_that_arrive_meanwhile(
    client: Client, live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = [client.submit("demo.echo", {"message": f"m{n}"}).id for n in range(5)]
    arrived: list[uuid.UUID] = []

    async def another() -> None:
        [job] = await live.store.job_submit_many(live.team_id, [JobSpec(action="demo.echo")])
        arrived.append(job.id)

    changed = capped(live, monkeypatch, "cancel", another)
    done = client.cancel_many(filter={"state": ["queued"]})
    assert done == BulkResult(affected=5, skipped=0, remaining=0)
    assert changed == [2, 2, 1]
    assert {client.get(i).state for i in old} == {JobState.CANCELLED}
    assert sorted(j.id for j in client.list(state="queued")) == sorted(arrived)


def test_filter_mode_retries_each_job_once_though_it_dies_again(
    client: Client, live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [client.submit("demo.echo", {"message": f"m{n}"}, max_attempts=1).id for n in range(5)]

    async def fail_the_queued() -> None:
        request = ClaimRequest(uuid.uuid4(), ["default"], {ECHO.name: [ECHO.schema_hash]},
                               limit=10)  # fmt: skip
        claimed = await live.store.job_claim(live.team_id, request)
        reports = [Report(c.id, c.lease_token, Outcome.FAILED, retryable=False) for c in claimed]
        await live.store.job_report(live.team_id, reports)

    live.run(fail_the_queued())
    changed = capped(live, monkeypatch, "retry", fail_the_queued)
    done = client.retry_many(filter={"state": ["dead"]})
    assert done == BulkResult(affected=5, skipped=0, remaining=0)
    assert changed == [2, 2, 1]  # each job once: none is retried again after dying again
    assert {client.get(i).state for i in ids} == {JobState.DEAD}


def test_list_filters(client: Client, live: Live) -> None:
    first = client.submit("demo.echo", {"message": "alpha"})
    second = client.submit("demo.echo", {"message": "beta"})
    assert [j.id for j in client.list(q="ALPHA")] == [first.id]
    assert [j.id for j in client.list(q=str(second.id)[:23])] == [second.id]
    assert [j.id for j in client.list(created_after=second.created_at)] == [second.id]
    assert [j.id for j in client.list(created_before=second.created_at)] == [first.id]
    later = second.created_at + timedelta(seconds=1)
    assert client.page(created_after=later).items == []
    running = claim(live, first.id)
    assert [j.id for j in client.list(agent_id=client.get(first.id).agent_id)] == [first.id]
    finish(live, running, Outcome.SUCCEEDED)


def test_a_viewer_is_refused(live: Live, connect: Connect) -> None:
    viewer = live.user("viewer")
    with connect(live.url, token=viewer.token) as limited, pytest.raises(PermissionDenied):
        limited.cancel_many(filter={"state": ["queued"]})
