"""Which agents the server serves: its own protocol version and the one before it, and
messages carrying fields it does not know; any other version is refused saying what to
upgrade."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import connect

from conveyor import protocol
from tests.api.conftest import ECHO, Live


async def _hello(live: Live, hello: dict[str, Any]) -> protocol.ServerMessage:
    url = live.url.replace("http://", "ws://") + "/api/v1/agent/connect"
    headers = {"Authorization": f"Bearer {live.agent_key}"}
    async with connect(url, additional_headers=headers, proxy=None) as ws:
        await ws.send(orjson.dumps(hello).decode())
        async with asyncio.timeout(30):
            return protocol.parse_server_message(await ws.recv())


def _hello_frame(version: int, **extra: Any) -> dict[str, Any]:
    hello = protocol.Hello(protocol=version, name=f"agent-v{version}", slots=1, actions=[ECHO])
    return {**hello.model_dump(mode="json"), **extra}


@pytest.mark.parametrize(
    ("version", "upgrade"),
    [
        (max(protocol.SUPPORTED_VERSIONS) + 1, "server"),
        (min(protocol.SUPPORTED_VERSIONS) - 1, "agent"),
    ],
)
def test_versions_outside_the_window_are_refused_clearly(
    live: Live, version: int, upgrade: str
) -> None:
    answer = asyncio.run(_hello(live, _hello_frame(version)))
    assert isinstance(answer, protocol.Refused) and answer.code == "protocol_version"
    assert answer.message == (
        f"agent speaks protocol {version}, server speaks {protocol.PROTOCOL_VERSION - 1} to "
        f"{protocol.PROTOCOL_VERSION}: upgrade the {upgrade}"
    )


@pytest.mark.parametrize("version", [protocol.PROTOCOL_VERSION - 1, protocol.PROTOCOL_VERSION])
def test_the_previous_version_is_served_beside_the_current_one(live: Live, version: int) -> None:
    answer = asyncio.run(_hello(live, _hello_frame(version)))
    assert isinstance(answer, protocol.Welcome)
    assert answer.protocol == version  # answered in the agent's own version


def test_a_hello_with_fields_the_server_does_not_know_is_served(live: Live) -> None:
    frame = _hello_frame(protocol.PROTOCOL_VERSION, trace_context={"traceparent": "00-ab"})
    frame["actions"][0]["spawns_children"] = True
    answer = asyncio.run(_hello(live, frame))
    assert isinstance(answer, protocol.Welcome)
    with live.client() as api:
        [agent] = [a for a in api.get("/agents").json()["items"] if a["id"] == str(answer.agent_id)]
    assert [a["name"] for a in agent["actions"]] == [ECHO.name]
