"""Conveyor as users run it, for the end-to-end benchmark.

A ``conveyor server`` process on a fresh database (a SQLite file in a temporary
directory, or a new PostgreSQL database created here and dropped afterwards) and
``conveyor agent`` processes offering :mod:`bench.e2e_tasks` and the demo actions.
The first admin and the agents' key are made as ``conveyor up`` makes them; the
benchmark then works through the public API only (the SDK, with a client API key).
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import sqlalchemy as sa

from bench.e2e_procs import Proc, pids_running, wait_until
from conveyor import AsyncClient, Client
from conveyor.server.bootstrap import bootstrap
from conveyor.states import TERMINAL

REPO = Path(__file__).resolve().parent.parent
TASKS = "bench.e2e_tasks:tasks"
NOOP = "bench.noop"
EXPORT = "demo.export_csv"
ADMIN_EMAIL = "bench@example.com"
ADMIN_PASSWORD = "conveyor benchmark admin password"
CLIENT_SCOPES = ["jobs:create", "jobs:read"]
STARTUP_S = 90.0
POLL_S = 0.5  # how often the throughput run looks for its marks (each look is a request)
UNFINISHED = ("pending", "scheduled", "queued", "running")

Mark = Callable[[str], None]


@dataclass(frozen=True)
class Timing:
    """One job, in seconds after its submit (client clock; same machine, same clock)."""

    created: float | None  # the job's created_at: its insert (None: the system has none)
    start: float  # the job's started_at: when the store handed it to an agent
    ran: float  # when the task's body ran (its return value)
    done: float  # the job's finished_at: when its result was stored


def _env(extra: dict[str, str]) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVEYOR_")}
    return {**env, "PYTHONPATH": str(REPO), **extra}


class PgDatabase:
    """A fresh database on the server of ``admin_url``, dropped on :meth:`drop`."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.name = f"conveyor_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        self.url = sa.make_url(admin_url).set(database=self.name).render_as_string(False)

    def settings(self) -> dict[str, str]:
        names = (
            "server_version",
            "synchronous_commit",
            "fsync",
            "full_page_writes",
            "wal_sync_method",
            "commit_delay",
            "shared_buffers",
        )
        with psycopg.connect(self.url, autocommit=True) as conn:
            return {n: str(conn.execute(f"SHOW {n}").fetchone()[0]) for n in names}  # type: ignore[index]

    def drop(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


class ConveyorStack:
    """A server and its agents for one backend ("sqlite" or "postgres"); ``metrics=False``
    runs the server with ``CONVEYOR_METRICS=off`` (named "<backend> metrics-off")."""

    def __init__(
        self,
        backend: str,
        database_url: str,
        workdir: Path,
        agents: int,
        slots: int,
        *,
        metrics: bool = True,
    ) -> None:
        self.backend = backend
        self.metrics = metrics
        self.name = backend if metrics else f"{backend} metrics-off"
        self.database_url = database_url
        self.workdir = workdir
        self.n_agents = agents
        self.slots = slots
        self.procs: list[Proc] = []
        self.url = ""
        self.key = ""
        self._agent_key = ""

    def start(self) -> None:
        """Start the server, then the agents; see :meth:`launch` to overlap stacks."""
        for step in self.launch():
            step()

    def launch(self) -> list[Callable[[], None]]:
        """Steps to run in order; several stacks may interleave theirs to start at once."""
        return [self._launch_server, self._launch_agents, self._wait_agents]

    def _launch_server(self) -> None:
        boot = asyncio.run(bootstrap(self.database_url, email=ADMIN_EMAIL, password=ADMIN_PASSWORD))
        self._agent_key = boot.agent_key
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = _env(
            {
                "CONVEYOR_DATABASE_URL": self.database_url,
                "CONVEYOR_DATA_DIR": str(self.workdir),
                "CONVEYOR_METRICS": "on" if self.metrics else "off",
            }
        )
        argv = [
            sys.executable,
            "-m",
            "conveyor",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ]
        self.procs.append(Proc(f"{self.name} server", argv, env, self.workdir / "server.log"))

    def _launch_agents(self) -> None:
        server = self.procs[0]
        wait_until(lambda: self._ready(server), STARTUP_S, f"the {self.name} server")
        with Client(self.url) as admin:
            admin.login(ADMIN_EMAIL, ADMIN_PASSWORD)
            self.key = str(admin.create_key("client", "benchmark", scopes=CLIENT_SCOPES).secret)
        env = _env({"CONVEYOR_AGENT_KEY": self._agent_key, "CONVEYOR_SERVER": self.url})
        for n in range(1, self.n_agents + 1):
            argv = [
                sys.executable,
                "-m",
                "conveyor",
                "agent",
                "--name",
                f"bench-{n}",
                "--slots",
                str(self.slots),
                "--tasks",
                TASKS,
                "--demo",
                "--ready-file",
                str(self._ready_file(n)),
            ]
            log = self.workdir / f"agent-{n}.log"
            self.procs.append(Proc(f"{self.name} agent-{n}", argv, env, log, cwd=REPO))

    def _ready_file(self, n: int) -> Path:
        return self.workdir / f"agent-{n}.ready"

    def _wait_agents(self) -> None:
        files = [self._ready_file(n) for n in range(1, self.n_agents + 1)]
        wait_until(lambda: self._all_ready(files), STARTUP_S, f"the {self.name} agents")

    def _ready(self, server: Proc) -> bool:
        server.check()
        try:
            return httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def _all_ready(self, files: list[Path]) -> bool:
        for proc in self.procs:
            proc.check()
        return all(path.exists() for path in files)

    def roots(self) -> dict[str, int]:
        return {proc.name: proc.pid for proc in self.procs}

    def store_pids(self) -> list[int]:
        """PostgreSQL's backends serving this stack's database (SQLite runs in the server)."""
        if self.backend != "postgres":
            return []
        return pids_running(sa.make_url(self.database_url).database or "")

    def client(self) -> Client:
        return Client(self.url, token=self.key, timeout=120)

    def stop(self) -> None:
        for proc in reversed(self.procs):  # agents first: they hand running jobs back
            proc.stop()

    # measurements

    def throughput(self, jobs: int, batch: int, checkpoint: int, on_mark: Mark) -> float:
        """Submit ``jobs`` no-op jobs in batches while agents drain them; jobs/s.

        The clock runs from the first submit to the last job's ``finished_at``.
        ``on_mark("checkpoint")`` is called once the ``checkpoint``-th job submitted is
        done (jobs run about in submission order), ``on_mark("end")`` once none is left.
        Both are polled with cheap reads (one job; one page of one unfinished job).
        """
        order: list[str] = []
        errors: list[BaseException] = []

        def submit_all() -> None:
            try:
                with self.client() as api:
                    for first in range(0, jobs, batch):
                        size = min(batch, jobs - first)
                        made = api.submit_many([{"action": NOOP} for _ in range(size)])
                        order.extend(str(job.id) for job in made)
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)

        started = time.time()
        submitter = threading.Thread(target=submit_all, name="submitter")
        submitter.start()
        with self.client() as api:
            marked = False
            while True:
                if errors:
                    raise errors[0]
                time.sleep(POLL_S)
                checkpoint_job = order[checkpoint - 1] if len(order) >= checkpoint else None
                if not marked and checkpoint_job and api.get(checkpoint_job).is_terminal:
                    on_mark("checkpoint")
                    marked = True
                if len(order) == jobs and not api.page(state=UNFINISHED, limit=1).items:
                    break
            submitter.join()
            if not marked:
                on_mark("checkpoint")
            on_mark("end")
            last = max(_finished_at(api, set(order)))
        return jobs / (last - started)

    def latency_round(self, n: int) -> list[Timing]:
        return asyncio.run(self._latency_round(n))

    async def _latency_round(self, n: int) -> list[Timing]:
        """``n`` no-op jobs one at a time; each is submitted once the previous is done."""
        finished: set[str] = set()
        changed = asyncio.Event()
        opened = asyncio.Event()

        async def follow(events: AsyncClient) -> None:
            async for event in events.events(kinds=["job"], on_open=opened.set):
                if event.data.get("state") in TERMINAL:
                    finished.add(str(event.object_id))
                    changed.set()

        timings = []
        async with (
            AsyncClient(self.url, token=self.key) as api,
            AsyncClient(self.url, token=self.key) as events,
        ):
            follower = asyncio.create_task(follow(events))
            try:
                await asyncio.wait_for(opened.wait(), 30)
                for _ in range(n):
                    t0 = time.time()
                    job = await api.submit(NOOP)
                    while str(job.id) not in finished:
                        changed.clear()
                        await asyncio.wait_for(changed.wait(), 60)
                    job = await api.get(job.id)
                    assert job.succeeded and job.started_at and job.finished_at, job
                    timings.append(
                        Timing(
                            job.created_at.timestamp() - t0,
                            job.started_at.timestamp() - t0,
                            float(job.result) - t0,
                            job.finished_at.timestamp() - t0,
                        )
                    )
            finally:
                follower.cancel()
                await asyncio.gather(follower, return_exceptions=True)
        return timings

    def export_csv(self, rows: int, dest: Path) -> float:
        """Seconds from submitting ``demo.export_csv`` to its CSV downloaded, checked."""
        with self.client() as api:
            t0 = time.time()
            job = api.submit(EXPORT, {"rows": rows})
            job = api.wait(job.id, timeout=600)
            if not job.succeeded:
                raise RuntimeError(f"{EXPORT} ended {job.state}: {job.error}")
            path = api.download(job.id, "export.csv", dest)
            elapsed = time.time() - t0
        with path.open("rb") as f:
            lines = sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 20), b""))
        if lines != rows + 1:
            raise RuntimeError(f"the CSV has {lines} lines, expected {rows + 1}")
        path.unlink()
        return elapsed


def _finished_at(api: Client, ids: set[str]) -> list[float]:
    """When each job of ``ids`` finished; all of them must have succeeded."""
    found = []
    for job in api.list(state="succeeded", action=NOOP, page_size=1000):
        if str(job.id) in ids and job.finished_at is not None:
            found.append(job.finished_at.timestamp())
            if len(found) == len(ids):
                break
    if len(found) != len(ids):
        raise RuntimeError(f"{len(found)} of {len(ids)} jobs succeeded")
    return found


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
