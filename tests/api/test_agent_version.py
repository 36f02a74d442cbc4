"""An agent speaking another protocol version is refused with a message saying what to upgrade."""

from __future__ import annotations

import asyncio

import pytest
from websockets.asyncio.client import connect

from conveyor import protocol
from tests.api.conftest import Live


async def _hello(live: Live, version: int) -> protocol.ServerMessage:
    url = live.url.replace("http://", "ws://") + "/api/v1/agent/connect"
    headers = {"Authorization": f"Bearer {live.agent_key}"}
    async with connect(url, additional_headers=headers, proxy=None) as ws:
        hello = protocol.Hello(protocol=version, name="from-the-future", slots=1)
        await ws.send(protocol.encode(hello))
        async with asyncio.timeout(30):
            return protocol.parse_server_message(await ws.recv())


@pytest.mark.parametrize(
    ("version", "upgrade"),
    [(protocol.PROTOCOL_VERSION + 1, "server"), (protocol.PROTOCOL_VERSION - 1, "agent")],
)
def test_other_protocol_versions_are_refused_clearly(
    live: Live, version: int, upgrade: str
) -> None:
    answer = asyncio.run(_hello(live, version))
    assert isinstance(answer, protocol.Refused) and answer.code == "protocol_version"
    assert answer.message == (
        f"agent speaks protocol {version}, server speaks {protocol.PROTOCOL_VERSION}: "
        f"upgrade the {upgrade}"
    )
