"""Flow control from the SDK, on both clients: queue settings, action limits, rate keys,
and the job fields (docs/flow-control.md)."""

from __future__ import annotations

import pytest

from conveyor.errors import InvalidInput, NotFound
from conveyor.sdk.client import Client
from conveyor.sdk.models import RateKey, RateLimit
from tests.api.conftest import Live


def test_queue_settings_are_changed_one_at_a_time(client: Client) -> None:
    queue = client.update_queue("exports", rate_limit=(20, 1.0), concurrency_limit=5)
    assert queue.rate_limit == RateLimit(count=20, interval_s=1.0)
    assert (queue.concurrency_limit, queue.fair, queue.paused) == (5, False, False)
    queue = client.update_queue("exports", fair=True, rate_limit=None)
    assert (queue.rate_limit, queue.concurrency_limit, queue.fair) == (None, 5, True)
    assert client.update_queue("exports", rate_limit=RateLimit(count=3, interval_s=2)).rate_limit
    [listed] = [q for q in client.queues() if q.name == "exports"]
    assert listed.fair and listed.concurrency_limit == 5
    with pytest.raises(InvalidInput):
        client.update_queue("exports", concurrency_limit=0)
    with pytest.raises(InvalidInput):
        client.update_queue("exports")  # nothing to change


def test_action_limits_and_rate_keys(client: Client, live: Live) -> None:
    assert client.set_action_limit("demo.echo", 3).concurrency_limit == 3
    assert [a.concurrency_limit for a in client.actions()] == [3]
    assert client.set_action_limit("demo.echo", None).concurrency_limit is None
    with pytest.raises(NotFound):
        client.set_action_limit("demo.nowhere", 1)

    assert client.set_rate_limit("partner-a", 2, 60) == RateKey(
        key="partner-a", count=2, interval_s=60.0
    )
    assert client.rate_limits() == [RateKey(key="partner-a", count=2, interval_s=60.0)]
    job = client.submit("demo.echo", {}, rate_key="partner-a", fair_key="customer-7")
    assert (job.rate_key, job.fair_key) == ("partner-a", "customer-7")
    client.delete_rate_limit("partner-a")
    assert client.rate_limits() == []
    with pytest.raises(NotFound):
        client.delete_rate_limit("partner-a")
