"""Who submitted each job (a user or an API key, named), and an agent's running jobs: read
for a whole page at once, scoped to the team."""

from __future__ import annotations

import uuid

from conveyor.store import ClaimRequest, JobSpec, Store
from conveyor.store.records import Submitter
from tests.store.test_agents_catalog import V1, connect, offer


async def test_a_page_names_its_users_and_keys(store: Store, team: uuid.UUID) -> None:
    ada = await store.user_create("ada@example.com", "x", display_name="Ada Lovelace")
    bob = await store.user_create("bob@example.com", "x")
    key = await store.api_key_create(
        team, kind="client", name="nightly", prefix="cvk_test_1", secret_hash="0" * 64,
        scopes=["jobs:create"], created_by=ada.id, expires_at=None,
    )  # fmt: skip
    specs = [
        JobSpec(action="a", created_by=ada.id),
        JobSpec(action="a", created_by=bob.id),
        JobSpec(action="a", created_by_key=key.id),
        JobSpec(action="a"),
    ]
    submitted = await store.job_submit_many(team, specs)
    page = await store.job_get_many(team, [s.id for s in submitted])
    assert [(j.created_by, j.created_by_key) for j in page] == [
        (ada.id, None), (bob.id, None), (None, key.id), (None, None)
    ]  # fmt: skip
    named = await store.job_submitters(team, page)
    assert named == {
        page[0].id: Submitter("user", ada.id, "Ada Lovelace"),
        page[1].id: Submitter("user", bob.id, "bob@example.com"),
        page[2].id: Submitter("key", key.id, "nightly"),
    }
    assert await store.job_submitters(team, page[3:]) == {}

    other = await store.team_create("other", "Other")
    theirs = await store.job_submit_many(other, [JobSpec(action="a", created_by_key=key.id)])
    [foreign] = await store.job_get_many(other, [theirs[0].id])
    assert await store.job_submitters(other, [foreign]) == {}  # another team's key: unnamed


async def test_an_agent_counts_its_running_jobs(store: Store, team: uuid.UUID) -> None:
    echo = offer("demo.echo", V1)
    agent_id = await connect(store, team, "worker", [echo], slots=3)
    await store.job_submit_many(team, [JobSpec(action="demo.echo") for _ in range(4)])
    assert (await store.agent_get(team, agent_id)).slots_busy == 0
    request = ClaimRequest(agent_id=agent_id, queues=["default"],
                           actions={echo.name: [echo.schema_hash]}, limit=2)  # fmt: skip
    assert len(await store.job_claim(team, request)) == 2
    [listed] = await store.agent_list(team)
    assert listed.slots_busy == 2
    assert (await store.agent_set_draining(team, agent_id, True)).slots_busy == 2
