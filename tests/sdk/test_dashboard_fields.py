"""The SDK (sync and async) reads who submitted a job, an agent's host and busy slots, and an
action's description."""

from __future__ import annotations

from conveyor.protocol import ActionOffer
from conveyor.sdk.client import Client
from conveyor.store import ClaimRequest
from tests.api.conftest import ECHO, Live
from tests.helpers.live import ADMIN_EMAIL
from tests.sdk.conftest import Connect


def test_jobs_carry_who_submitted_them(client: Client, live: Live, connect: Connect) -> None:
    mine = client.submit("demo.echo")
    assert mine.created_by is not None
    assert (mine.created_by.kind, mine.created_by.name) == ("user", ADMIN_EMAIL)
    with live.client() as api:
        key = api.post(
            f"/teams/{live.team_id}/keys",
            json={"kind": "client", "name": "sdk-key", "scopes": ["jobs:create", "jobs:read"]},
        ).json()
    with connect(live.url, token=key["secret"], timeout=10) as as_key:
        theirs = as_key.submit("demo.echo")
    assert theirs.created_by is not None
    assert (theirs.created_by.kind, str(theirs.created_by.id)) == ("key", key["id"])
    assert theirs.created_by.name == "sdk-key"
    listed = {job.id: job.created_by for job in client.list()}
    assert listed == {mine.id: mine.created_by, theirs.id: theirs.created_by}


def test_agents_and_actions_show_host_busy_slots_and_description(
    client: Client, live: Live
) -> None:
    live.offer(
        ActionOffer(name="demo.echo", params_schema=ECHO.params_schema, description="Echo it")
    )
    job = client.submit("demo.echo")
    [agent] = client.agents()
    assert (agent.slots_busy, agent.slots, agent.host) == (0, 1, "")  # offered without a host
    request = ClaimRequest(agent_id=agent.id, queues=["default"],
                           actions={ECHO.name: [ECHO.schema_hash]}, limit=1)  # fmt: skip
    [claimed] = live.run(live.store.job_claim(live.team_id, request))
    assert claimed.id == job.id
    [agent] = client.agents()
    assert agent.slots_busy == 1
    actions = {a.name: a for a in client.actions()}
    assert actions["demo.echo"].description == "Echo it"
