"""Keyed submits to an idle agent: one statement when the keys are new, and the
same answers as the ordinary keyed submit when they are not (both dialects).

The SDK and CLI key every submit, so this is the common case. On PostgreSQL the
insert that hands the jobs over runs without ON CONFLICT: a held key fails it
whole and the submit is done the usual way, which finds the job holding the key.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from conveyor.errors import IdempotencyConflict
from conveyor.states import JobState
from conveyor.store import JobSpec, Outcome, Report, Store
from conveyor.store.queries.audit import AuditEntry
from tests.helpers.factories import agent_request
from tests.store.test_statement_count import counting

T0 = datetime(2030, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


def keyed(key: str, n: int = 1) -> JobSpec:
    return JobSpec("demo.echo", {"n": n}, idempotency_key=key)


def _entry(team: uuid.UUID, action: str = "jobs.create") -> AuditEntry:
    return AuditEntry(uuid.uuid4(), team, "user", None, "someone", action, "192.0.2.7")


async def _jobs(store: Store, team: uuid.UUID) -> int:
    return len((await store.job_list(team)).items)


async def _attempts(store: Store, team: uuid.UUID, job_id: uuid.UUID) -> int:
    return len(await store.attempt_list(team, job_id))


async def test_a_keyed_job_for_an_idle_agent_is_one_statement_and_starts(
    store: Store, team: uuid.UUID
) -> None:
    agent = agent_request()
    await store.flow_config(team)  # read once per team, then cached (queries/flow.py)
    with counting(store) as seen:
        [sub], [[claimed]] = await store.job_submit_and_claim(
            team, [keyed("k")], [agent], audit=_entry(team)
        )
    if store.dialect == "postgresql":
        assert len(seen) == 1, seen  # insert, claim, events, audit row and NOTIFY
    assert sub.created and claimed.id == sub.id
    job = await store.job_get(team, sub.id)
    assert job.state == JobState.RUNNING and job.agent_id == agent.agent_id
    assert job.idempotency_key == "k"
    [row] = (await store.audit_list(team)).items
    assert (row.action, row.object_id) == ("jobs.create", str(sub.id))


async def test_a_repeat_returns_the_job_while_running_and_after_success(
    store: Store, team: uuid.UUID
) -> None:
    [sub], [[claimed]] = await store.job_submit_and_claim(
        team, [keyed("k")], [agent_request()], now=T0
    )
    [running], [none] = await store.job_submit_and_claim(
        team, [keyed("k")], [agent_request()], now=T0
    )
    assert (running.id, running.created, running.state) == (sub.id, False, JobState.RUNNING)
    assert none == []

    report = Report(sub.id, claimed.lease_token, Outcome.SUCCEEDED, result=1)
    await store.job_report(team, [report], now=T0)
    [done], [none] = await store.job_submit_and_claim(
        team, [keyed("k")], [agent_request()], now=T0 + 23 * HOUR
    )
    assert (done.id, done.created, done.state) == (sub.id, False, JobState.SUCCEEDED)
    assert none == []
    assert await _jobs(store, team) == 1 and await _attempts(store, team, sub.id) == 1


async def test_other_params_conflict_and_the_batch_writes_nothing(
    store: Store, team: uuid.UUID
) -> None:
    """All or nothing: the new job beside the conflicting key is not written either,
    let alone handed to the agent."""
    [held] = await store.job_submit_many(team, [keyed("k")])
    with pytest.raises(IdempotencyConflict):
        await store.job_submit_and_claim(
            team,
            [JobSpec("demo.echo", {}), keyed("k", n=2)],
            [agent_request()],
            audit=_entry(team, "jobs.create_batch"),
        )
    assert await _jobs(store, team) == 1
    assert (await store.job_get(team, held.id)).state == JobState.QUEUED
    assert (await store.audit_list(team)).items == []


async def test_an_expired_key_makes_a_new_job_that_starts(store: Store, team: uuid.UUID) -> None:
    [first], [[claimed]] = await store.job_submit_and_claim(
        team, [keyed("k")], [agent_request()], now=T0
    )
    report = Report(first.id, claimed.lease_token, Outcome.SUCCEEDED, result=1)
    await store.job_report(team, [report], now=T0)

    agent = agent_request()
    [later], [[started]] = await store.job_submit_and_claim(
        team, [keyed("k", n=2)], [agent], now=T0 + 25 * HOUR
    )

    assert later.created and later.id != first.id and started.id == later.id
    job = await store.job_get(team, later.id)
    assert job.state == JobState.RUNNING and job.agent_id == agent.agent_id
    assert job.idempotency_key == "k"
    assert (await store.job_get(team, first.id)).idempotency_key is None


async def test_a_batch_of_new_and_held_keys_starts_only_the_new_job(
    store: Store, team: uuid.UUID
) -> None:
    [held], _ = await store.job_submit_and_claim(team, [keyed("held")], [agent_request()])
    [old, new], [claimed] = await store.job_submit_and_claim(
        team, [keyed("held"), keyed("new")], [agent_request()]
    )
    assert (old.id, old.created, old.state) == (held.id, False, JobState.RUNNING)
    assert new.created and [job.id for job in claimed] == [new.id]
    assert (await store.job_get(team, new.id)).state == JobState.RUNNING
    assert await _jobs(store, team) == 2 and await _attempts(store, team, held.id) == 1


async def test_racing_repeats_make_one_job(store: Store, team: uuid.UUID) -> None:
    """A retry sent while the first submit is still in flight: the insert of one waits
    for the other's, then fails or skips; every answer names the one job."""
    answers = await asyncio.gather(
        *(store.job_submit_and_claim(team, [keyed("k")], [agent_request()]) for _ in range(4))
    )
    ids = {submitted.id for [submitted], _ in answers}
    assert len(ids) == 1 and await _jobs(store, team) == 1
    assert sum(submitted.created for [submitted], _ in answers) == 1
    assert sum(len(claimed) for _, [claimed] in answers) == 1
    assert await _attempts(store, team, ids.pop()) == 1


async def test_the_audit_rows_are_those_of_the_usual_submit(store: Store) -> None:
    """The same requests, handed to an idle agent or not, leave the same audit rows:
    one per request, naming its jobs (new or found by key) in the order asked."""
    requests: list[tuple[str, list[JobSpec]]] = [
        ("jobs.create", [keyed("a")]),
        ("jobs.create", [keyed("a")]),  # a retry: the same job
        ("jobs.create_batch", [keyed("b"), keyed("c")]),
        ("jobs.create_batch", [keyed("c"), keyed("d")]),  # one held, one new
        ("jobs.create", [JobSpec("demo.echo", {})]),
    ]
    written = {}
    for way in ("usual", "handed over"):
        team = await store.team_create(way.replace(" ", "-"), way)
        names: dict[str, str] = {}  # job id -> the order it was first returned in
        for action, specs in requests:
            if way == "usual":
                submitted = await store.job_submit_many(team, specs, audit=_entry(team, action))
            else:
                submitted, _ = await store.job_submit_and_claim(
                    team, specs, [agent_request(limit=100)], audit=_entry(team, action)
                )
            for sub in submitted:
                names.setdefault(str(sub.id), f"job{len(names)}")
        written[way] = [_named(row, names) for row in (await store.audit_list(team)).items]
    assert written["handed over"] == written["usual"]
    assert len(written["usual"]) == len(requests)


def _named(row: Any, names: dict[str, str]) -> tuple[Any, ...]:
    """An audit row with its job ids replaced by stable names, to compare two teams."""
    details = dict(row.details or {})
    if "ids" in details:
        details["ids"] = [names[i] for i in details["ids"]]
    object_id = names.get(row.object_id, row.object_id)
    return (row.action, row.object_type, object_id, row.outcome, row.status, details)
