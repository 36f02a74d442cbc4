"""What an agent sends is bounded: a binary frame closes the connection with 1003, a
frame over the cap with 1009, a progress out of bounds is never stored, and a result out
of bounds fails its attempt without being stored."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from conveyor import protocol
from tests.api.conftest import ECHO, Live


async def _session(live: Live, body: Any) -> Any:
    url = live.url.replace("http://", "ws://") + "/api/v1/agent/connect"
    headers = {"Authorization": f"Bearer {live.agent_key}"}
    hello = protocol.Hello(protocol=protocol.PROTOCOL_VERSION, name="frames", slots=1)
    async with connect(url, additional_headers=headers, proxy=None, max_size=None) as ws:
        await ws.send(protocol.encode(hello))
        async with asyncio.timeout(30):
            assert isinstance(protocol.parse_server_message(await ws.recv()), protocol.Welcome)
            return await body(ws)


async def _close_code(ws: ClientConnection) -> int | None:
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await ws.recv()
    return closed.value.rcvd.code if closed.value.rcvd else None


def test_a_binary_frame_closes_the_connection_with_1003(live: Live) -> None:
    async def body(ws: ClientConnection) -> int | None:
        await ws.send(b'{"type": "ready", "credits": 1}')
        return await _close_code(ws)

    assert asyncio.run(_session(live, body)) == 1003


def test_a_frame_over_the_cap_closes_the_connection_with_1009(live: Live) -> None:
    async def body(ws: ClientConnection) -> int | None:
        await ws.send(" " * (protocol.MAX_FRAME_BYTES + 1))
        return await _close_code(ws)

    assert asyncio.run(_session(live, body)) == 1009


@pytest.mark.parametrize(
    "progress",
    [
        {"blob": "x" * (protocol.MAX_PROGRESS_BYTES + 1)},
        {"step": "a\x00b"},
        {"a\x00": 1},
    ],
    ids=["oversized", "nul-value", "nul-key"],
)
def test_a_progress_out_of_bounds_is_never_stored(live: Live, progress: Any) -> None:
    live.offer(ECHO)
    with live.client() as api:
        job_id = api.post("/jobs", json={"action": ECHO.name, "params": {}}).json()["id"]
    [claimed] = live.claim(ECHO)
    lease = {"job_id": str(claimed.id), "lease_token": str(claimed.lease_token)}

    async def body(ws: ClientConnection) -> protocol.ServerMessage:
        await ws.send(orjson.dumps({"type": "progress", **lease, "progress": progress}).decode())
        await ws.send(
            orjson.dumps({"type": "result", **lease, "outcome": "succeeded", "result": 1}).decode()
        )
        return protocol.parse_server_message(await ws.recv())

    ack = asyncio.run(_session(live, body))
    assert isinstance(ack, protocol.Ack) and ack.results[0].applied
    with live.client() as api:
        job = api.get(f"/jobs/{job_id}").json()
    assert job["state"] == "succeeded" and job["result"] == 1
    assert job["progress"] is None


def test_a_result_over_the_cap_is_not_stored_and_fails_the_attempt(live: Live) -> None:
    """An agent of this version refuses such a result itself; an older one cannot. Its frame
    is never stored: the attempt fails as ``result_refused``, not retried, so the job does
    not run again and again, each time until its lease runs out."""
    live.offer(ECHO)
    with live.client() as api:
        job_id = api.post("/jobs", json={"action": ECHO.name, "params": {}}).json()["id"]
    [claimed] = live.claim(ECHO)
    lease = {"job_id": str(claimed.id), "lease_token": str(claimed.lease_token)}
    big = "x" * (protocol.MAX_RESULT_BYTES + 1)

    async def body(ws: ClientConnection) -> protocol.ServerMessage:
        too_big = {"type": "result", **lease, "outcome": "succeeded", "result": big}
        await ws.send(orjson.dumps(too_big).decode())
        return protocol.parse_server_message(await ws.recv())

    ack = asyncio.run(_session(live, body))
    assert isinstance(ack, protocol.Ack) and ack.results[0].applied
    with live.client() as api:
        job = api.get(f"/jobs/{job_id}").json()
    assert job["state"] == "dead" and job["result"] is None
    assert job["error"]["type"] == "result_refused"
    assert "result" in job["error"]["message"] and big not in job["error"]["message"]
