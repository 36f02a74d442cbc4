"""What the dashboard shows beside a job's own fields: who submitted it (``created_by``),
an agent's host and busy slots, an action's description."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from conveyor import protocol
from conveyor.protocol import ActionOffer
from conveyor.store import ClaimRequest, JobSpec
from tests.api.conftest import ECHO, ECHO_SCHEMA, Live
from tests.api.test_agent_version import _hello
from tests.api.test_jobs_api import submit
from tests.helpers.live import ADMIN_EMAIL


def _client_key(live: Live, name: str) -> tuple[str, str]:
    with live.client() as api:
        made = api.post(
            f"/teams/{live.team_id}/keys",
            json={"kind": "client", "name": name, "scopes": ["jobs:create", "jobs:read"]},
        )
    assert made.status_code == 201, made.text
    return made.json()["id"], made.json()["secret"]


def test_a_job_shows_the_user_or_the_key_that_submitted_it(live: Live) -> None:
    live.offer(ECHO)
    key_id, secret = _client_key(live, "nightly-sync")
    person = live.user("operator")
    with live.client() as api:
        me = api.get("/me").json()["user"]
        by_admin = submit(api, params={})
        admin = {"kind": "user", "id": me["id"], "name": me["display_name"] or ADMIN_EMAIL}
        assert by_admin["created_by"] == admin
        assert api.get(f"/jobs/{by_admin['id']}").json()["created_by"] == admin
    with live.client(token=secret) as as_key:
        by_key = submit(as_key, params={})
        assert by_key["created_by"] == {"kind": "key", "id": key_id, "name": "nightly-sync"}
    with live.client(token=person.token) as as_person:
        by_person = submit(as_person, params={})  # no display name: the email names them
        assert by_person["created_by"] == {
            "kind": "user",
            "id": str(person.id),
            "name": person.email,
        }
    # A job that records no submitter (as jobs from before revision 0009 by a key).
    [unknown] = live.run(live.store.job_submit_many(live.team_id, [JobSpec(action="demo.echo")]))
    with live.client() as api:
        listed = {job["id"]: job["created_by"] for job in api.get("/jobs").json()["items"]}
        batch = api.post("/jobs/batch", json={"jobs": [{"action": "demo.echo"}]}).json()
    assert listed == {
        by_admin["id"]: admin,
        by_key["id"]: by_key["created_by"],
        by_person["id"]: by_person["created_by"],
        str(unknown.id): None,
    }
    assert batch["items"][0]["created_by"] == admin


def test_agents_show_their_host_and_busy_slots(live: Live) -> None:
    agent_id = live.run(
        live.store.agent_connect(
            live.team_id, name="builder", labels={}, slots=3, version="1.2.3",
            queues=["default"], actions=[ECHO], key_id=None, user_id=None, host="build-7.example",
        )
    )  # fmt: skip
    with live.client() as api:
        jobs = [submit(api, params={})["id"] for _ in range(3)]
        [agent] = api.get("/agents").json()["items"]
        assert (agent["host"], agent["slots"], agent["slots_busy"]) == ("build-7.example", 3, 0)
        request = ClaimRequest(agent_id=agent_id, queues=["default"],
                               actions={ECHO.name: [ECHO.schema_hash]}, limit=2)  # fmt: skip
        claimed = live.run(live.store.job_claim(live.team_id, request))
        assert {str(c.id) for c in claimed} <= set(jobs) and len(claimed) == 2
        [agent] = api.get("/agents").json()["items"]
        assert agent["slots_busy"] == 2 and agent["version"] == "1.2.3"
        drained = api.post(f"/agents/{agent_id}/drain").json()
        assert drained["slots_busy"] == 2 and drained["host"] == "build-7.example"


def _hello_frame(version: int, **fields: Any) -> dict[str, Any]:
    hello = protocol.Hello(protocol=version, name=f"agent-{uuid.uuid4().hex[:6]}", slots=1,
                           actions=[ECHO])  # fmt: skip
    return {**hello.model_dump(mode="json", exclude={"host"}), **fields}


def test_the_host_comes_from_the_hello_and_an_agent_without_one_shows_none(live: Live) -> None:
    new = asyncio.run(_hello(live, _hello_frame(protocol.PROTOCOL_VERSION, host="gpu-box-3")))
    old = asyncio.run(_hello(live, _hello_frame(protocol.PROTOCOL_VERSION - 1)))
    assert isinstance(new, protocol.Welcome) and isinstance(old, protocol.Welcome)
    with live.client() as api:
        hosts = {a["id"]: a["host"] for a in api.get("/agents").json()["items"]}
    assert hosts == {str(new.agent_id): "gpu-box-3", str(old.agent_id): ""}
    bad = asyncio.run(_hello(live, _hello_frame(protocol.PROTOCOL_VERSION, host="x" * 256)))
    assert isinstance(bad, protocol.Refused)


def test_actions_carry_the_description_of_the_newest_offer(live: Live) -> None:
    live.offer(ActionOffer(name="demo.echo", params_schema=ECHO_SCHEMA, description="Echo v1"))
    live.offer(ActionOffer(name="demo.plain", params_schema={"type": "object"}))
    with live.client() as api:
        described = {a["name"]: a["description"] for a in api.get("/actions").json()["items"]}
        assert described == {"demo.echo": "Echo v1", "demo.plain": ""}
        live.offer(
            ActionOffer(name="demo.echo", params_schema=ECHO_SCHEMA, description="Echo, better"),
            name="newer-agent",
        )
        described = {a["name"]: a["description"] for a in api.get("/actions").json()["items"]}
        assert described["demo.echo"] == "Echo, better"
