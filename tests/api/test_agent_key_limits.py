"""Agent keys limited to actions and labels: what their agents may offer and must carry."""

from __future__ import annotations

from typing import Any

from websockets.sync.client import connect

from conveyor import protocol
from tests.api.conftest import ECHO, OTHER, Live
from tests.api.test_jobs_api import assert_error


def _hello(live: Live, key: str, name: str, labels: dict[str, str]) -> protocol.ServerMessage:
    """Connect as an agent offering echo and other; the server's first answer."""
    url = live.url.replace("http://", "ws://") + "/api/v1/agent/connect"
    with connect(url, additional_headers={"Authorization": f"Bearer {key}"}) as ws:
        hello = protocol.Hello(protocol=protocol.PROTOCOL_VERSION, name=name, labels=labels,
                               slots=1, actions=[ECHO, OTHER])  # fmt: skip
        ws.send(protocol.encode(hello))
        return protocol.parse_server_message(ws.recv(timeout=60))


def _agent(live: Live, name: str) -> dict[str, Any]:
    with live.client() as api:
        [found] = [a for a in api.get("/agents").json()["items"] if a["name"] == name]
    return found


def test_an_agent_key_limited_to_actions_and_labels(live: Live) -> None:
    path = f"/teams/{live.team_id}/keys"
    with live.client() as api:
        created = api.post(path, json={"kind": "agent", "name": "eu", "actions": ["demo.echo"],
                                       "labels": {"region": "eu"}})  # fmt: skip
        assert created.status_code == 201, created.text
        key = created.json()
        assert key["actions"] == ["demo.echo"] and key["labels"] == {"region": "eu"}
        listed = [k for k in api.get(path).json()["items"] if k["id"] == key["id"]]
        assert listed[0]["actions"] == ["demo.echo"] and listed[0]["secret"] is None
        for bad in [
            {"kind": "client", "name": "c", "scopes": ["jobs:read"], "actions": ["demo.echo"]},
            {"kind": "agent", "name": "a", "actions": []},
            {"kind": "agent", "name": "a", "actions": ["not an action!"]},
            {"kind": "agent", "name": "a", "labels": {"": "x"}},
        ]:
            assert_error(api.post(path, json=bad), 422)
        unlimited = api.post(path, json={"kind": "agent", "name": "any"}).json()
        assert unlimited["actions"] is None and unlimited["labels"] is None

    welcome = _hello(live, key["secret"], "eu-1", {"region": "eu", "gpu": "no"})
    assert isinstance(welcome, protocol.Welcome)
    assert [a["name"] for a in _agent(live, "eu-1")["actions"]] == ["demo.echo"]

    for labels in [{}, {"region": "us"}]:
        refused = _hello(live, key["secret"], "us-1", labels)
        assert isinstance(refused, protocol.Refused) and refused.code == "labels_not_allowed"
        assert "region=eu" in refused.message

    welcome = _hello(live, unlimited["secret"], "free-1", {})
    assert isinstance(welcome, protocol.Welcome)
    assert sorted(a["name"] for a in _agent(live, "free-1")["actions"]) == [
        "demo.echo",
        "demo.other",
    ]
