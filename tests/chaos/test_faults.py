"""The fault proxy's modes, against an echo server: what each does to the bytes."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Iterator

import pytest

from tests.chaos.faults import FaultProxy, Mode
from tests.helpers.live import wait_until
from tests.helpers.proxy import ThreadedServer


class Echo(ThreadedServer):
    """Answers every chunk with the same bytes; ``received`` is what reached it."""

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self._writers: list[asyncio.StreamWriter] = []
        super().__init__("echo server")

    def _cut(self) -> None:
        for writer in self._writers:
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                self.received.append(data)
                writer.write(data)
                await writer.drain()
        writer.close()


@pytest.fixture
def proxy() -> Iterator[tuple[FaultProxy, Echo]]:
    echo = Echo()
    fault = FaultProxy(echo.port)
    try:
        yield fault, echo
    finally:
        fault.close()
        echo.close()


def _connect(proxy: FaultProxy) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", proxy.port), timeout=10)
    return sock


def test_pass_forwards_both_ways(proxy: tuple[FaultProxy, Echo]) -> None:
    fault, _ = proxy
    with _connect(fault) as sock:
        sock.sendall(b"ping")
        assert sock.recv(100) == b"ping"


def test_a_blackhole_holds_the_bytes_and_delivers_them_when_healed(
    proxy: tuple[FaultProxy, Echo],
) -> None:
    fault, echo = proxy
    with _connect(fault) as sock:
        fault.set(Mode.BLACKHOLE)
        sock.sendall(b"held")
        wait_until(lambda: fault.held == 1, what="the proxy to hold the chunk")
        assert echo.received == []
        fault.set(Mode.PASS)
        assert sock.recv(100) == b"held"


def test_delay_forwards_each_chunk_late(proxy: tuple[FaultProxy, Echo]) -> None:
    fault, _ = proxy
    fault.set(Mode.DELAY, delay_s=0.2)
    with _connect(fault) as sock:
        started = time.monotonic()
        sock.sendall(b"slow")
        assert sock.recv(100) == b"slow"
        assert time.monotonic() - started >= 0.4  # delayed going and coming back


def test_reset_cuts_open_connections_and_refuses_new_ones(proxy: tuple[FaultProxy, Echo]) -> None:
    fault, _ = proxy
    with _connect(fault) as sock:
        sock.sendall(b"x")
        assert sock.recv(100) == b"x"
        fault.set(Mode.RESET)
        with pytest.raises(ConnectionResetError):
            sock.recv(100)
    # Reset at once: the RST may beat the end of the connect on a loaded machine.
    with pytest.raises(ConnectionResetError), _connect(fault) as sock:
        sock.recv(100)


def test_drop_reply_forwards_the_request_and_loses_the_answer(
    proxy: tuple[FaultProxy, Echo],
) -> None:
    fault, echo = proxy
    with _connect(fault) as sock:
        fault.drop_reply()
        sock.sendall(b"request")
        assert fault.replies_dropped.wait(10)
        with pytest.raises(ConnectionResetError):
            sock.recv(100)
    wait_until(lambda: echo.received == [b"request"], what="the request to reach the server")


def test_lossy_delays_every_chunk_and_holds_lost_ones_one_rto_in_order(
    proxy: tuple[FaultProxy, Echo],
) -> None:
    fault, _ = proxy
    fault.lossy(latency_s=0.05, jitter_s=0.01, loss=0.0, rto_s=0.3)
    with _connect(fault) as sock:
        started = time.monotonic()
        sock.sendall(b"slow")
        assert sock.recv(100) == b"slow"
        assert 0.08 <= time.monotonic() - started < 0.3  # latency both ways, nothing lost
        fault.lossy(latency_s=0.0, jitter_s=0.0, loss=1.0, rto_s=0.3)
        started = time.monotonic()
        sock.sendall(b"lost")
        assert sock.recv(100) == b"lost"
        assert time.monotonic() - started >= 0.6  # one RTO each way
        fault.lossy(latency_s=0.001, jitter_s=0.001, loss=0.5, rto_s=0.05)
        sent = b"".join(f"<{n}>".encode() for n in range(40))
        for n in range(40):
            sock.sendall(f"<{n}>".encode())
        received = b""
        while len(received) < len(sent):
            received += sock.recv(1000)
        assert received == sent  # held chunks hold the ones behind them: the stream's order
    assert fault.lost >= 2 and fault.forwarded > fault.lost
