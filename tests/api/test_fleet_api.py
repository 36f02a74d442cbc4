"""Agents (list, drain), the action catalog, and queues (list, pause)."""

from __future__ import annotations

import uuid

from tests.api.conftest import ECHO, OTHER, Live
from tests.api.test_jobs_api import assert_error, submit


def test_agents_are_listed_and_drained(live: Live) -> None:
    agent_id = live.offer(ECHO, name="worker-1")
    with live.client() as api:
        [agent] = api.get("/agents").json()["items"]
        assert agent["id"] == str(agent_id) and agent["name"] == "worker-1"
        assert agent["connected"] is True and agent["draining"] is False
        assert agent["actions"][0]["name"] == "demo.echo"

        drained = api.post(f"/agents/{agent_id}/drain")
        assert drained.status_code == 200, drained.text
        assert drained.json()["draining"] is True
        assert api.get("/agents").json()["items"][0]["draining"] is True
        assert_error(api.post(f"/agents/{uuid.uuid4()}/drain"), 404, "not_found")
    with live.client(token=live.agent_key) as agent_key:
        assert_error(agent_key.get("/agents"), 403, "permission_denied")


def test_actions_list_the_catalog_with_schemas(live: Live) -> None:
    live.offer(ECHO, OTHER)
    with live.client() as api:
        actions = {a["name"]: a for a in api.get("/actions").json()["items"]}
        assert set(actions) == {"demo.echo", "demo.other"}
        [version] = actions["demo.echo"]["versions"]
        assert version["schema_hash"] == ECHO.schema_hash
        assert version["params_schema"] == ECHO.params_schema
        assert actions["demo.echo"]["agents"] == ["catalog-agent"]


def test_queues_are_listed_paused_and_resumed(live: Live) -> None:
    live.offer(ECHO)
    with live.client() as api:
        submit(api, params={}, queue="exports")
        submit(api, params={})
        queues = {q["name"]: q for q in api.get("/queues").json()["items"]}
        assert queues["exports"] == {
            "name": "exports", "paused": False, "counts": {"queued": 1},
            "rate_limit": None, "concurrency_limit": None, "fair": False,
        }  # fmt: skip

        paused = api.patch("/queues/exports", json={"paused": True})
        assert paused.status_code == 200, paused.text
        assert paused.json()["paused"] is True
        assert live.claim(ECHO, queues=("exports",)) == []  # a paused queue hands out nothing

        fresh = api.patch("/queues/empty", json={"paused": True}).json()
        assert fresh == {
            "name": "empty", "paused": True, "counts": {},
            "rate_limit": None, "concurrency_limit": None, "fair": False,
        }  # fmt: skip
        resumed = api.patch("/queues/exports", json={"paused": False}).json()
        assert resumed["paused"] is False
        assert len(live.claim(ECHO, queues=("exports",))) == 1
        assert_error(api.patch("/queues/exports", json={"paused": "maybe"}), 422)
        assert_error(api.patch("/queues/exports", json={}), 422)
        assert_error(api.patch("/queues/" + "q" * 101, json={"paused": True}), 422)
