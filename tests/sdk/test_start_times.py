"""``submit(run_at=...)`` and ``submit(delay=...)`` on both clients."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from conveyor.errors import InvalidInput
from conveyor.sdk.client import Client


def test_delay_and_run_at_set_when_the_job_may_start(client: Client) -> None:
    before = datetime.now(UTC)
    later = client.submit("demo.echo", {}, delay=timedelta(minutes=10))
    in_seconds = client.submit("demo.echo", {}, delay=90)
    after = datetime.now(UTC)
    assert later.state == "scheduled" and later.waiting_reason == "scheduled"
    assert later.run_at is not None and in_seconds.run_at is not None
    assert before + timedelta(minutes=10) <= later.run_at <= after + timedelta(minutes=10)
    assert before + timedelta(seconds=90) <= in_seconds.run_at <= after + timedelta(seconds=90)

    at = datetime(2027, 1, 1, 9, tzinfo=UTC)
    assert client.submit("demo.echo", {}, run_at=at).run_at == at
    assert client.submit("demo.echo", {}, delay=0).state == "queued"


BAD_STARTS: list[tuple[dict[str, Any], str]] = [
    ({"run_at": datetime(2030, 1, 1, tzinfo=UTC), "delay": 5}, "give run_at or delay, not both"),
    ({"delay": -1}, "delay must be 0 to 366 days (got -1 s)"),
    ({"delay": timedelta(days=400)}, "delay must be 0 to 366 days"),
    ({"delay": float("nan")}, "delay must be 0 to 366 days"),
    ({"delay": "10m"}, "delay must be a timedelta or seconds, not str"),

]  # fmt: skip


def test_a_bad_start_is_refused_before_anything_is_sent(client: Client) -> None:
    for kwargs, said in BAD_STARTS:
        with pytest.raises(InvalidInput) as refused:
            client.submit("demo.echo", {}, **kwargs)
        assert said in refused.value.message
    assert list(client.list()) == []
