"""The submission service, called directly (no HTTP), on both dialects.

Every caller that creates jobs (the HTTP routes today; the scheduler, dependency
release, fan-out and broadcast later) goes through :class:`Submission`, so these
refusals are what every one of them gets.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from conveyor.auth.permissions import Principal
from conveyor.engine import AgentHub, Engine, JobRequest, Submission
from conveyor.errors import InvalidInput, InvalidParams, PermissionDenied
from conveyor.protocol import ActionOffer
from conveyor.states import JobState
from conveyor.store import Store
from tests.engine.fake_agent import FakeAgent

LEASE_S = 45.0
ECHO_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"n": {"type": "integer"}},
    "required": ["n"],
}
SHELL_SCHEMA: dict[str, Any] = {"type": "object", "properties": {"argv": {"type": "array"}}}
ECHO = ActionOffer(name="demo.echo", params_schema=ECHO_SCHEMA)


@pytest.fixture
async def hub(engine: Engine, team: uuid.UUID) -> AsyncIterator[AgentHub]:
    """A hub with no dispatch loop: a job reaches an agent only through the submit itself."""
    await engine.store.agent_connect(
        team, name="offers", labels={}, slots=1, version="1.0", queues=["default"],
        actions=[ECHO, ActionOffer(name="shell", params_schema=SHELL_SCHEMA)],
        key_id=None, user_id=None,
    )  # fmt: skip
    yield AgentHub(engine, poll_s=3600)


@pytest.fixture
def submission(engine: Engine, hub: AgentHub) -> Submission:
    return Submission(engine.store, hub, lease_s=LEASE_S)


def caller(team: uuid.UUID, *permissions: str) -> Principal:
    return Principal(
        team_id=team,
        user_id=None,
        key_id=uuid.uuid4(),
        kind="client_key",
        permissions=frozenset(permissions or {"jobs:create"}),
    )


def echo(n: Any = 1, **options: Any) -> JobRequest:
    return JobRequest("demo.echo", {"n": n}, **options)


async def job_count(store: Store, team: uuid.UUID) -> int:
    return len((await store.job_list(team, limit=1000)).items)


async def test_a_valid_job_is_queued_with_the_defaults(
    store: Store, submission: Submission, team: uuid.UUID
) -> None:
    [sub] = await submission.submit(caller(team), [echo(7)])
    assert sub.created and sub.state == JobState.QUEUED
    job = await store.job_get(team, sub.id)
    assert (job.action, job.params, job.queue, job.priority, job.max_attempts) == (
        "demo.echo", {"n": 7}, "default", 0, 3,
    )  # fmt: skip
    latest = await store.action_latest(team, "demo.echo")
    assert latest is not None and job.schema_hash == latest.schema_hash


async def test_given_options_override_the_defaults(
    store: Store, submission: Submission, team: uuid.UUID
) -> None:
    request = echo(queue="exports", priority=5, max_attempts=1, labels={"os": "linux"})
    [sub] = await submission.submit(caller(team), [request])
    job = await store.job_get(team, sub.id)
    assert (job.queue, job.priority, job.max_attempts, job.labels) == (
        "exports", 5, 1, {"os": "linux"},
    )  # fmt: skip


async def test_an_idle_agent_has_the_job_when_submit_returns(
    store: Store, submission: Submission, hub: AgentHub, team: uuid.UUID
) -> None:
    """The hub's fast path: claimed in the submit's transaction, with the server's lease."""
    agent = FakeAgent(hub, team, "idle", credits=1, actions={"demo.echo": [ECHO.schema_hash]})
    await hub.attach(agent.session)
    [sub] = await submission.submit(caller(team), [echo()])
    assert agent.assigned == [sub.id]
    job = await store.job_get(team, sub.id)
    assert job.state == JobState.RUNNING and job.started_at and job.lease_expires_at
    assert job.lease_expires_at - job.started_at == timedelta(seconds=LEASE_S)


async def test_an_unknown_action_is_refused(
    store: Store, submission: Submission, team: uuid.UUID
) -> None:
    with pytest.raises(InvalidInput, match=r"unknown action 'demo\.missing'") as refused:
        await submission.submit(caller(team), [JobRequest("demo.missing")])
    assert refused.value.details == {"action": "demo.missing"}
    assert await job_count(store, team) == 0


async def test_bad_params_are_refused_with_their_path(
    store: Store, submission: Submission, team: uuid.UUID
) -> None:
    with pytest.raises(InvalidParams, match=r"^params\.n: 'x' is not of type 'integer'") as bad:
        await submission.submit(caller(team), [echo("x")])
    assert bad.value.details["path"] == ["n"] and bad.value.details["validator"] == "type"
    assert await job_count(store, team) == 0


async def test_a_missing_per_action_grant_is_refused(
    store: Store, submission: Submission, team: uuid.UUID
) -> None:
    only_other = caller(team, "jobs:create:other.action")
    with pytest.raises(PermissionDenied, match=r"jobs:create:demo\.echo"):
        await submission.submit(only_other, [echo()])
    [sub] = await submission.submit(caller(team, "jobs:create:demo.echo"), [echo()])
    assert sub.created


async def test_shell_needs_its_explicit_grant(
    store: Store, submission: Submission, team: uuid.UUID
) -> None:
    """``jobs:create`` covers every action but ``shell``, which runs any command."""
    shell = JobRequest("shell", {"argv": ["true"]})
    with pytest.raises(PermissionDenied, match="jobs:create:shell"):
        await submission.submit(caller(team, "jobs:create"), [shell])
    assert await job_count(store, team) == 0
    [sub] = await submission.submit(caller(team, "jobs:create:shell"), [shell])
    assert sub.created


async def test_a_batch_error_names_the_job_and_inserts_nothing(
    store: Store, submission: Submission, team: uuid.UUID
) -> None:
    with pytest.raises(InvalidParams, match=r"^jobs\[1\]: params\.n:") as bad:
        await submission.submit(caller(team), [echo(1), echo("two"), echo(3)])
    assert bad.value.details["index"] == 1 and bad.value.details["path"] == ["n"]
    with pytest.raises(InvalidInput, match=r"^jobs\[2\]: priority must be between") as out:
        await submission.submit(caller(team), [echo(1), echo(2), echo(3, priority=1000)])
    assert out.value.details["index"] == 2
    with pytest.raises(PermissionDenied, match=r"^jobs\[0\]: ") as denied:
        await submission.submit(caller(team), [JobRequest("shell"), echo(2)])
    assert denied.value.details["index"] == 0
    assert await job_count(store, team) == 0


async def test_an_idempotent_resubmit_returns_the_existing_job(
    store: Store, submission: Submission, team: uuid.UUID
) -> None:
    [first] = await submission.submit(caller(team), [echo(idempotency_key="order-1")])
    [again] = await submission.submit(caller(team), [echo(idempotency_key="order-1")])
    assert first.created and not again.created and again.id == first.id
    assert await job_count(store, team) == 1
