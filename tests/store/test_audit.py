"""Audit rows commit with the change they record, or not at all (both dialects)."""

from __future__ import annotations

import uuid

import pytest

from conveyor.errors import IdempotencyConflict, InvalidTransition, NotFound
from conveyor.states import JobState
from conveyor.store import JobSpec, Store
from conveyor.store.queries.audit import AuditEntry, AuditFilter


def _entry(team: uuid.UUID, action: str) -> AuditEntry:
    return AuditEntry(
        id=uuid.uuid4(),
        team_id=team,
        actor_kind="user",
        actor_id=uuid.uuid4(),
        actor_display="someone@example.com",
        action=action,
        client_addr="192.0.2.7",
    )


async def test_a_change_and_its_audit_row_commit_together(store: Store, team: uuid.UUID) -> None:
    [job] = await store.job_submit_many(
        team, [JobSpec(action="a", params={})], audit=_entry(team, "jobs.create")
    )
    entry = _entry(team, "jobs.cancel").about("job", job.id)
    await store.job_cancel(team, [job.id], audit=entry)
    assert (await store.job_get(team, job.id)).state == JobState.CANCELLED
    rows = (await store.audit_list(team)).items
    assert [(r.action, r.object_type, r.object_id) for r in rows] == [
        ("jobs.cancel", "job", str(job.id)),
        ("jobs.create", "job", str(job.id)),
    ]
    assert rows[0].id == entry.id and rows[0].client_addr == "192.0.2.7"
    assert rows[0].outcome == "success" and rows[0].created_at is not None


async def test_a_refused_change_leaves_no_row_and_its_failure_is_written_once(
    store: Store, team: uuid.UUID
) -> None:
    [job] = await store.job_submit_many(team, [JobSpec(action="a", params={})])
    entry = _entry(team, "jobs.retry").about("job", job.id)
    with pytest.raises(InvalidTransition):  # a queued job cannot be retried
        await store.job_retry(team, [job.id], audit=entry)
    with pytest.raises(NotFound):
        await store.job_cancel(team, [uuid.uuid4()], audit=_entry(team, "jobs.cancel"))
    with pytest.raises(NotFound):  # False from the write: no success recorded
        await store.api_key_revoke(team, uuid.uuid4(), audit=_entry(team, "keys.revoke"))
    assert (await store.audit_list(team)).items == []
    failed = entry.failed("invalid_transition", 409)
    await store.audit_record(failed)
    await store.audit_record(failed)  # a request is recorded once, whatever happens
    [row] = (await store.audit_list(team)).items
    assert (row.outcome, row.status, row.object_id) == ("invalid_transition", 409, str(job.id))


async def test_filters_and_pages(store: Store, team: uuid.UUID) -> None:
    other = await store.team_create("other", "Other")
    for action in ["jobs.create", "jobs.cancel", "keys.create", "jobs.create"]:
        await store.audit_record(_entry(team, action))
    await store.audit_record(_entry(other, "jobs.create"))
    await store.audit_record(_entry(team, "jobs.retry").failed("permission_denied", 403))

    async def actions(**where: object) -> list[str]:
        page = await store.audit_list(team, AuditFilter(**where))  # type: ignore[arg-type]
        return [r.action for r in page.items]

    assert await actions() == [
        "jobs.retry", "jobs.create", "keys.create", "jobs.cancel", "jobs.create",
    ]  # fmt: skip
    assert await actions(action="jobs.create") == ["jobs.create", "jobs.create"]
    assert await actions(action="keys.") == ["keys.create"]
    assert await actions(action="jobs%") == []  # a prefix is literal
    assert await actions(outcome="failure") == ["jobs.retry"]
    assert await actions(outcome="permission_denied") == ["jobs.retry"]
    assert len(await actions(outcome="success")) == 4
    first = await store.audit_list(team, limit=4)
    assert first.next_cursor is not None
    rest = await store.audit_list(team, limit=4, cursor=first.next_cursor)
    assert len(rest.items) == 1 and rest.next_cursor is None
    assert [r.action for r in (await store.audit_list(other)).items] == ["jobs.create"]


async def test_a_submission_names_its_jobs_whether_new_or_found_by_idempotency_key(
    store: Store, team: uuid.UUID
) -> None:
    # On PostgreSQL the row rides in the insert when the ids are the new ones, and is
    # written after it when an idempotency key may name an existing job instead.
    [one] = await store.job_submit_many(
        team, [JobSpec(action="a", params={})], audit=_entry(team, "jobs.create")
    )
    batch = await store.job_submit_many(
        team, [JobSpec(action="a", params={"i": i}) for i in range(3)],
        audit=_entry(team, "jobs.create_batch"),
    )  # fmt: skip
    keyed = JobSpec(action="a", params={}, idempotency_key="k")
    [first] = await store.job_submit_many(team, [keyed], audit=_entry(team, "jobs.create"))
    [again] = await store.job_submit_many(team, [keyed], audit=_entry(team, "jobs.create"))
    assert again.id == first.id and not again.created
    rows = (await store.audit_list(team)).items[::-1]
    assert [(r.action, r.object_type, r.object_id) for r in rows] == [
        ("jobs.create", "job", str(one.id)),
        ("jobs.create_batch", "job", None),
        ("jobs.create", "job", str(first.id)),
        ("jobs.create", "job", str(first.id)),
    ]
    assert rows[1].details == {"count": 3, "ids": [str(job.id) for job in batch]}
    assert all(r.outcome == "success" and r.client_addr == "192.0.2.7" for r in rows)
    assert all(r.actor_display == "someone@example.com" for r in rows)
    assert rows[0].created_at <= rows[1].created_at <= rows[3].created_at


async def test_a_refused_batch_writes_no_audit_row(store: Store, team: uuid.UUID) -> None:
    await store.job_submit_many(team, [JobSpec(action="a", params={}, idempotency_key="k")])
    with pytest.raises(IdempotencyConflict):
        await store.job_submit_many(
            team,
            [
                JobSpec(action="a", params={}),
                JobSpec(action="a", params={"x": 1}, idempotency_key="k"),
            ],
            audit=_entry(team, "jobs.create_batch"),
        )
    assert (await store.audit_list(team)).items == []
