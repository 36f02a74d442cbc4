"""An in-process harness for the agent runtime: a real server app served by uvicorn, a
real WebSocket, and agents in the test's own event loop (no subprocess).

So the runtime's behaviour (reconnect and re-send, credits, release on shutdown,
``lost``) is tested directly and in a second or two, where the subprocess tests in
``tests/e2e`` test the same paths as a user starts them. Every wait is on an event,
bounded by :data:`WAIT_S` so that a broken run fails instead of hanging.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from conveyor import protocol
from conveyor.agent.executor import JobSink
from conveyor.agent.lifecycle import Lifecycle
from conveyor.agent.outcome import Outcome
from conveyor.agent.runtime import Agent, AgentOptions
from conveyor.api.app import create_app
from conveyor.server.bootstrap import bootstrap
from conveyor.settings import ServerSettings
from conveyor.store import Store
from tests.helpers.live import ADMIN_EMAIL, ADMIN_PASSWORD

WAIT_S = 20.0
GATE = "test.gate"


class GateExecutor:
    """Runs ``test.gate`` jobs in the agent's loop: each runs until its gate opens or it is
    stopped, so a test decides when every job ends and sees how many ran at once."""

    def __init__(self, *, open_gates: bool = False) -> None:
        self.open_gates = open_gates
        self.started: asyncio.Queue[uuid.UUID] = asyncio.Queue()
        self.stopped: asyncio.Queue[uuid.UUID] = asyncio.Queue()
        self._gates: dict[uuid.UUID, asyncio.Event] = {}
        self.running = 0
        self.most_running = 0

    def gate(self, job_id: uuid.UUID) -> asyncio.Event:
        return self._gates.setdefault(job_id, asyncio.Event())

    def offers(self) -> list[protocol.ActionOffer]:
        return [protocol.ActionOffer(name=GATE, params_schema={"type": "object"})]

    def handles(self, action: str) -> bool:
        return action == GATE

    async def run(self, job: protocol.Assignment, sink: JobSink, stop: asyncio.Event) -> Outcome:
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        try:
            sink.log("stdout", f"started {job.job_id}")
            self.started.put_nowait(job.job_id)
            gate = self.gate(job.job_id)
            if not self.open_gates:
                await _first(gate.wait(), stop.wait())
            if stop.is_set():
                self.stopped.put_nowait(job.job_id)
                return Outcome.cancelled()
            sink.log("stdout", f"finished {job.job_id}")
            return Outcome.succeeded({"job": str(job.job_id)})
        finally:
            self.running -= 1

    async def close(self) -> None:
        return None


async def _first(*waits: Any) -> None:
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()


class Link:
    """A TCP relay between the agents and the server that a test can cut and keep down.

    Cutting closes both ends of every relayed connection, as a network failure would;
    while down, a new connection is closed at once (the agent keeps retrying).
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.up = True
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._pipes: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def cut(self) -> None:
        """Drop every connection and refuse new ones until :meth:`restore`."""
        self.up = False
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    def restore(self) -> None:
        self.up = True

    async def close(self) -> None:
        self.cut()
        for pipe in list(self._pipes):
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.up:
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._writers |= {writer, up_writer}
        pipes = [asyncio.create_task(_pipe(reader, up_writer)),
                 asyncio.create_task(_pipe(up_reader, writer))]  # fmt: skip
        self._pipes.update(pipes)
        try:
            await asyncio.gather(*pipes, return_exceptions=True)
        finally:
            self._pipes.difference_update(pipes)
            for end in (writer, up_writer):
                end.close()
                self._writers.discard(end)


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await source.read(65536):
            sink.write(data)
            await sink.drain()
    sink.close()


class Harness:
    """A server app on a loopback port in this event loop, its admin API, and agents."""

    def __init__(self, app: FastAPI, agent_key: str, port: int) -> None:
        self.app = app
        self.agent_key = agent_key
        self.url = f"http://127.0.0.1:{port}"
        self.api = httpx.AsyncClient(base_url=f"{self.url}/api/v1", timeout=WAIT_S)
        self.link = Link(port)
        self._agents: list[asyncio.Task[str]] = []

    @property
    def store(self) -> Store:
        """The server's own store (same loop): for what no endpoint does, e.g. moving time."""
        store: Store = self.app.state.services.store
        return store

    async def login(self) -> None:
        answer = await self.api.post(
            "/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        )
        answer.raise_for_status()
        self.api.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"

    def agent(
        self,
        executor: GateExecutor,
        *,
        name: str = "agent-1",
        slots: int = 1,
        prefetch: int = 0,
        prefetch_wait_s: float = 1.0,
        through_link: bool = False,
        lifecycle: Lifecycle | None = None,
    ) -> Agent:
        """An agent of this server (through the cuttable :class:`Link` if asked)."""
        port = self.link.port if through_link else int(self.url.rsplit(":", 1)[1])
        options = AgentOptions(
            server=f"http://127.0.0.1:{port}",
            key=self.agent_key,
            name=name,
            slots=slots,
            prefetch=prefetch,
            prefetch_wait_s=prefetch_wait_s,
            lifecycle=lifecycle or Lifecycle(),
        )
        return Agent(options, [executor])

    def run(self, agent: Agent, stop: asyncio.Event | None = None) -> asyncio.Task[str]:
        """Run ``agent`` in the background until ``stop`` (or the end of the test)."""
        task = asyncio.create_task(agent.run(stop), name=f"agent-{agent.options.name}")
        self._agents.append(task)
        return task

    async def submit(self, count: int = 1, *, max_attempts: int | None = None) -> list[uuid.UUID]:
        ids = []
        job: dict[str, Any] = {"action": GATE, "params": {}}
        if max_attempts is not None:
            job["max_attempts"] = max_attempts
        for _ in range(count):
            answer = await self.api.post("/jobs", json=job)
            assert answer.status_code == 201, answer.text
            ids.append(uuid.UUID(answer.json()["id"]))
        return ids

    async def job(self, job_id: uuid.UUID) -> dict[str, Any]:
        answer = await self.api.get(f"/jobs/{job_id}")
        answer.raise_for_status()
        found: dict[str, Any] = answer.json()
        return found

    async def states(self, job_ids: list[uuid.UUID]) -> list[str]:
        return [(await self.job(job_id))["state"] for job_id in job_ids]

    async def attempts(self, job_id: uuid.UUID) -> list[dict[str, Any]]:
        answer = await self.api.get(f"/jobs/{job_id}/attempts")
        answer.raise_for_status()
        items: list[dict[str, Any]] = answer.json()["items"]
        return items

    async def log_texts(self, job_id: uuid.UUID) -> list[str]:
        answer = await self.api.get(f"/jobs/{job_id}/logs")
        answer.raise_for_status()
        return [line["text"] for chunk in answer.json()["items"] for line in chunk["lines"]]

    async def close(self) -> None:
        for task in self._agents:
            task.cancel()
        await asyncio.gather(*self._agents, return_exceptions=True)
        await self.link.close()
        await self.api.aclose()


@contextlib.asynccontextmanager
async def harness(
    tmp_path: Path, database_url: str | None = None, **overrides: Any
) -> AsyncIterator[Harness]:
    """Serve a fresh server app on a free loopback port for the test's duration, on
    SQLite in ``tmp_path`` unless given a ``database_url`` (``overrides``: server
    settings, e.g. a short ``lease_s``).

    The socket is bound and listening before uvicorn starts, so clients may connect at
    once: the kernel queues them until the app is up, and nothing waits for startup.
    """
    url = database_url or f"sqlite:///{tmp_path}/conveyor.db"
    boot = await bootstrap(url, email=ADMIN_EMAIL, password=ADMIN_PASSWORD)
    # Heartbeats every 0.2 s, so a `lost` is noticed at once; leases long enough that
    # only a test (moving the store's clock) makes one expire.
    settings = ServerSettings(**{"database_url": url, "data_dir": str(tmp_path), "lease_s": 30,
                                 "heartbeat_s": 0.2, **overrides})  # fmt: skip
    app = create_app(settings)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=5,
                            proxy_headers=False, lifespan="on")  # fmt: skip
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]), name="uvicorn")
    harness = Harness(app, boot.agent_key, port)
    try:
        await harness.login()  # answered once the app has started
        await harness.link.start()
        yield harness
    finally:
        await harness.close()
        server.should_exit = True
        await serving
        sock.close()
