"""The jobs filter: text search (id prefix, action, params) and the created-time range."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from conveyor.errors import InvalidInput
from conveyor.store import JobSpec, Store
from conveyor.store.queries.job_filter import id_prefix_range

T0 = datetime(2030, 1, 1, tzinfo=UTC)


async def one(store: Store, team: uuid.UUID, action: str, params: dict[str, object],
              now: datetime = T0) -> uuid.UUID:  # fmt: skip
    [sub] = await store.job_submit_many(team, [JobSpec(action, params)], now=now)
    return sub.id


async def found(store: Store, team: uuid.UUID, **filters: object) -> set[uuid.UUID]:
    page = await store.job_list(team, limit=1000, **filters)  # type: ignore[arg-type]
    return {job.id for job in page.items}


async def test_q_finds_an_id_prefix_a_part_of_the_action_or_text_in_params(
    store: Store, team: uuid.UUID
) -> None:
    export = await one(store, team, "reports.export_csv", {"customer": "ACME"})
    sync = await one(store, team, "crm.sync", {"region": "eu", "note": "100%_done"})
    other = await one(store, team, "demo.echo", {"text": "hello"})

    assert await found(store, team, q="export") == {export}
    assert await found(store, team, q="EXPORT") == {export}  # any case
    assert await found(store, team, q="customer") == {export}  # a key in params
    assert await found(store, team, q="acme") == {export}  # a value in params
    assert await found(store, team, q="%_") == {sync}  # wildcards taken literally
    assert await found(store, team, q="_") == {export, sync}  # "export_csv" and "100%_done"
    assert await found(store, team, q="nothing like it") == set()
    for job_id in (export, sync, other):
        text = str(job_id)
        assert job_id in await found(store, team, q=text[:6])
        assert await found(store, team, q=text) == {job_id}
        assert await found(store, team, q=text[:13].upper()) >= {job_id}  # dashes, any case
        assert await found(store, team, q=text.replace("-", "")) == {job_id}


async def test_q_combines_with_the_other_filters(store: Store, team: uuid.UUID) -> None:
    a = await one(store, team, "reports.export_csv", {"n": 1})
    await one(store, team, "reports.export_pdf", {"n": 1})
    assert await found(store, team, q="export", action="reports.export_csv") == {a}
    assert await found(store, team, q="export", states=["running"]) == set()


async def test_created_range_is_inclusive_after_and_exclusive_before(
    store: Store, team: uuid.UUID
) -> None:
    ids = [await one(store, team, "demo.echo", {}, T0 + timedelta(hours=h)) for h in range(4)]
    h = [T0 + timedelta(hours=n) for n in range(4)]
    assert await found(store, team, created_after=h[1]) == set(ids[1:])
    assert await found(store, team, created_before=h[1]) == {ids[0]}
    assert await found(store, team, created_after=h[1], created_before=h[3]) == set(ids[1:3])
    page = await store.job_list(team, created_after=h[1], limit=1)  # still pages newest first
    assert [j.id for j in page.items] == [ids[3]]
    second = await store.job_list(team, created_after=h[1], limit=5, cursor=page.next_cursor)
    assert [j.id for j in second.items] == [ids[2], ids[1]]


async def test_another_teams_jobs_never_match(store: Store, team: uuid.UUID) -> None:
    other_team = await store.team_create("other", "Other")
    theirs = await one(store, other_team, "reports.export_csv", {})
    assert await found(store, team, q="export") == set()
    assert await found(store, team, q=str(theirs)) == set()


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        ({"q": ""}, "q"),
        ({"q": "x" * 201}, "q"),
        ({"created_after": datetime(2030, 1, 1)}, "created_after"),
        ({"states": ["finished"]}, "states"),
    ],
)
async def test_bad_filters_are_refused(
    store: Store, team: uuid.UUID, filters: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        await store.job_list(team, **filters)  # type: ignore[arg-type]
    assert refused.value.details.get("field") == field


def test_an_id_prefix_is_a_range_of_ids() -> None:
    assert id_prefix_range("3F2A-9c") == (
        uuid.UUID("3f2a9c00-0000-0000-0000-000000000000"),
        uuid.UUID("3f2a9cff-ffff-ffff-ffff-ffffffffffff"),
    )
    assert id_prefix_range("export") is None
    assert id_prefix_range("a" * 33) is None
