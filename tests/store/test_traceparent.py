"""Conformance: the trace context a job carries (``jobs.traceparent``) comes back with
every kind of claim, on both dialects: the dispatcher's, the keyed one (claim_apply),
and the submit that claims in its own transaction."""

from __future__ import annotations

import uuid

import pytest

from conveyor.errors import InvalidInput
from conveyor.store import JobSpec, Store
from tests.helpers.factories import agent_request

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


async def test_the_claim_returns_the_jobs_trace_context(store: Store, team: uuid.UUID) -> None:
    specs = [
        JobSpec("demo.echo", {"n": 1}, traceparent=TRACEPARENT),
        JobSpec("demo.echo", {"n": 2}, traceparent=TRACEPARENT, concurrency_key="k"),
        JobSpec("demo.echo", {"n": 3}),  # submitted untraced
    ]
    submitted = await store.job_submit_many(team, specs)
    claimed = await store.job_claim(team, agent_request(limit=3))
    by_id = {job.id: job.traceparent for job in claimed}
    assert [by_id[s.id] for s in submitted] == [TRACEPARENT, TRACEPARENT, None]


async def test_a_submit_that_claims_returns_it_too(store: Store, team: uuid.UUID) -> None:
    spec = JobSpec("demo.echo", {}, traceparent=TRACEPARENT)
    _, [[claimed]] = await store.job_submit_and_claim(team, [spec], [agent_request(limit=1)])
    assert claimed.traceparent == TRACEPARENT


@pytest.mark.parametrize(
    "bad", ["", "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", TRACEPARENT + "0"]
)
def test_a_malformed_trace_context_is_refused(bad: str) -> None:
    with pytest.raises(InvalidInput, match="traceparent"):
        JobSpec("demo.echo", {}, traceparent=bad)
