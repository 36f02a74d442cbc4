"""Fault tools: kill -9 and SIGSTOP/SIGCONT of real processes, and a TCP fault proxy.

The processes are the ones ``tests.helpers.live`` starts (servers and agents). The
proxy sits between an agent and its server and is switched at run time:

- ``PASS``: bytes flow both ways;
- ``BLACKHOLE``: bytes are held, not lost, as TCP holds them across a partition,
  and flow again in order when the mode goes back to ``PASS``;
- ``DELAY``: each chunk is forwarded ``delay_s`` after it arrived, in order;
- ``RESET``: open connections are reset (RST) and new ones reset at once;
- ``lossy(latency_s, jitter_s, loss, rto_s)``: a slow, lossy link (the kernel here has
  no ``netem``): each chunk is forwarded ``latency_s ± jitter_s`` after it arrived,
  and a ``loss`` fraction of chunks is held one retransmission timeout ``rto_s`` more,
  the chunks behind it waiting in order: what a lost segment means to a TCP stream;
- ``drop_reply()``: one shot: the next agent → server chunk (of at least
  ``min_bytes``; WebSocket frames from a client are masked, so size is what can be
  told apart) is forwarded, then the connection is cut before any reply arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import os
import random
import signal
import socket
import struct
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

from tests.agent.support import _live as live_processes
from tests.helpers.live import wait_until
from tests.helpers.proxy import ThreadedServer

# processes


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children, grandchildren ...), from /proc."""
    children: dict[int, list[int]] = {}
    for child, fields in live_processes():
        children.setdefault(int(fields[1]), []).append(child)
    found: list[int] = []
    stack = [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def kill_tree(pid: int) -> None:
    """kill -9 a process and everything below it, as a machine that loses power."""
    for target in [pid, *descendants(pid)]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(target, signal.SIGKILL)


def freeze(pid: int) -> None:
    """SIGSTOP one process (a long GC pause, a paused VM): it holds its sockets, says nothing."""
    os.kill(pid, signal.SIGSTOP)
    wait_until(lambda: _state(pid) in ("T", "t"), what=f"process {pid} to stop")


def thaw(pid: int) -> None:
    os.kill(pid, signal.SIGCONT)


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


# the TCP fault proxy


class Mode(enum.Enum):
    PASS = "pass"
    BLACKHOLE = "blackhole"
    DELAY = "delay"
    RESET = "reset"
    LOSSY = "lossy"


@dataclass(frozen=True)
class LossyLink:
    """A lossy link's figures: base latency, its jitter, the lost fraction, the RTO."""

    latency_s: float = 0.02
    jitter_s: float = 0.01
    loss: float = 0.02
    rto_s: float = 0.2

    def delay(self, rng: random.Random) -> tuple[float, bool]:
        """One chunk's delay, and whether it was 'lost' (delivered one RTO late)."""
        lost = rng.random() < self.loss
        base = self.latency_s + rng.uniform(-self.jitter_s, self.jitter_s)
        return max(0.0, base) + (self.rto_s if lost else 0.0), lost


@dataclass
class _Link:
    """One proxied connection: agent side and server side."""

    client: asyncio.StreamWriter
    server: asyncio.StreamWriter
    cut: bool = False
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def reset(self) -> None:
        """Cut both sides: RST to the agent, FIN to the server (which reads what it got)."""
        self.cut = True
        _abort(self.client)
        with contextlib.suppress(OSError):
            self.server.close()


def _abort(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class FaultProxy(ThreadedServer):
    """A TCP proxy to ``127.0.0.1:target_port`` on a free port, in a thread of its own."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.mode = Mode.PASS
        self.delay_s = 0.0
        self.held = 0  # agent → server chunks that arrived while blackholed
        self.link = LossyLink()
        self.forwarded = 0  # chunks forwarded while lossy, both ways
        self.lost = 0  # of which held one RTO, as a lost segment
        self._rng = random.Random(20)  # a run's losses can be replayed
        self.replies_dropped = threading.Event()
        self._drop_min_bytes: int | None = None
        self._links: list[_Link] = []
        self._healed = asyncio.Event()  # clear while blackholed
        self._healed.set()
        super().__init__("fault proxy")

    # switching, from the test's thread

    def set(self, mode: Mode, delay_s: float = 0.0) -> None:
        """Switch the mode; returns once the proxy applies it."""
        self._call(self._apply, mode, delay_s)

    def lossy(
        self, latency_s: float = 0.02, jitter_s: float = 0.01, loss: float = 0.02,
        rto_s: float = 0.2,
    ) -> None:  # fmt: skip
        """Emulate a slow link that loses ``loss`` of its segments (see the module doc)."""
        self.link = LossyLink(latency_s, jitter_s, loss, rto_s)
        self.set(Mode.LOSSY)

    def drop_reply(self, min_bytes: int = 0) -> None:
        """Arm the one shot: forward the next agent → server chunk, then cut the link."""
        self.replies_dropped.clear()
        self._call(self._arm, min_bytes)

    def _call(self, fn: Callable[..., None], *args: object) -> None:
        done: Future[None] = Future()

        def run() -> None:
            try:
                fn(*args)
                done.set_result(None)
            except BaseException as exc:
                done.set_exception(exc)

        self._loop.call_soon_threadsafe(run)
        done.result(10)

    # inside the proxy's loop

    def _apply(self, mode: Mode, delay_s: float) -> None:
        self.mode, self.delay_s = mode, delay_s
        if mode is Mode.BLACKHOLE:
            self.held = 0
            self._healed.clear()
        else:
            self._healed.set()
        if mode is Mode.RESET:
            for link in self._links:
                link.reset()

    def _arm(self, min_bytes: int) -> None:
        self._drop_min_bytes = min_bytes

    def _cut(self) -> None:
        for link in self._links:
            link.reset()

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        if self.mode is Mode.RESET:
            _abort(client_w)
            return
        try:
            server_r, server_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            _abort(client_w)
            return
        link = _Link(client_w, server_w)
        self._links.append(link)
        link.tasks = [
            asyncio.create_task(self._pipe(link, client_r, server_w, upstream=True)),
            asyncio.create_task(self._pipe(link, server_r, client_w, upstream=False)),
        ]
        try:
            await asyncio.gather(*link.tasks, return_exceptions=True)
        finally:
            self._links.remove(link)
            link.reset()

    async def _pipe(
        self, link: _Link, source: asyncio.StreamReader, sink: asyncio.StreamWriter, upstream: bool
    ) -> None:
        """Read as data comes (counting what a partition holds); forward in order."""
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        forward = asyncio.create_task(self._forward(link, queue, sink, upstream))
        try:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await source.read(65536):
                    if upstream and self.mode is Mode.BLACKHOLE:
                        self.held += 1
                    queue.put_nowait((time.monotonic(), data))
            queue.put_nowait((0.0, b""))  # end of stream
            await forward
        finally:
            forward.cancel()

    async def _forward(
        self,
        link: _Link,
        queue: asyncio.Queue[tuple[float, bytes]],
        sink: asyncio.StreamWriter,
        upstream: bool,
    ) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while True:
                arrived, data = await queue.get()
                await self._healed.wait()
                if not data or link.cut:
                    break
                if self.mode is Mode.DELAY:
                    await asyncio.sleep(max(0.0, arrived + self.delay_s - time.monotonic()))
                elif self.mode is Mode.LOSSY:
                    await self._cross_lossy_link(arrived)
                sink.write(data)
                await sink.drain()
                armed = self._drop_min_bytes
                if upstream and armed is not None and len(data) >= armed:
                    self._drop_min_bytes = None
                    link.reset()
                    self.replies_dropped.set()
                    break
        with contextlib.suppress(OSError):
            sink.close()

    async def _cross_lossy_link(self, arrived: float) -> None:
        """Wait out one chunk's delay; the queue behind it waits too, so order holds."""
        delay_s, lost = self.link.delay(self._rng)
        self.forwarded += 1
        self.lost += lost
        await asyncio.sleep(max(0.0, arrived + delay_s - time.monotonic()))
