"""``cancel_many``/``retry_many`` and the list filters, on both clients and both dialects."""

from __future__ import annotations

from datetime import timedelta

import pytest

from conveyor.errors import InvalidInput, PermissionDenied
from conveyor.sdk.client import Client
from conveyor.sdk.models import BulkResult, JobFilter
from conveyor.states import JobState
from conveyor.store import JobSpec
from conveyor.store.queries.leases import Outcome
from tests.api.conftest import Live
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
