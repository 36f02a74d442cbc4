"""Real processes for end-to-end tests: a ``conveyor server`` and ``conveyor agent``s.

Each runs as its own OS process over real sockets, exactly as a user starts them;
their output goes to a log file that a failing test prints.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson

from conveyor.server.bootstrap import bootstrap

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "correct horse battery staple"
STARTUP_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(condition: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    """Poll a condition a process cannot notify us of (startup, /proc state) until true."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _base_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVEYOR_")}
    return {**env, **extra}


class Process:
    def __init__(
        self, args: list[str], env: dict[str, str], log_path: Path, wrapper: Sequence[str] = ()
    ) -> None:
        """``wrapper`` runs the command (e.g. ``ip netns exec <ns>``, which execs: same pid)."""
        self.log_path = log_path
        with log_path.open("ab") as log_file:
            self.proc = subprocess.Popen(
                [*wrapper, sys.executable, "-m", "conveyor", *args],
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def signal(self, sig: int) -> None:
        if self.alive():
            self.proc.send_signal(sig)

    def stop(self, timeout: float = 20.0) -> int:
        self.signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return self.proc.wait()

    def kill(self) -> None:
        if self.alive():
            self.proc.kill()
            self.proc.wait()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


class LiveServer:
    """``conveyor server`` on a free port, with an admin and an agent key made beforehand."""

    def __init__(
        self,
        database_url: str,
        data_dir: Path,
        *args: str,
        verify: ssl.SSLContext | None = None,
        host: str = "127.0.0.1",
        env: dict[str, str] | None = None,
        agent_key: str | None = None,
        **settings: str,
    ) -> None:
        """``args`` go to ``conveyor server``; ``verify`` (a client context) means HTTPS;
        ``env``: more environment (e.g. PYTHONPATH: another version of Conveyor);
        ``agent_key``: the database was bootstrapped already (by another version or
        server), and its agents' key is this one."""
        self.verify: ssl.SSLContext | bool = verify if verify is not None else True
        self.database_url = database_url
        self.data_dir = data_dir
        if agent_key is None:
            boot = asyncio.run(bootstrap(database_url, email=ADMIN_EMAIL, password=ADMIN_PASSWORD))
            agent_key = boot.agent_key
        self.agent_key = agent_key
        self.port = free_port()
        self.url = f"{'https' if verify is not None else 'http'}://{host}:{self.port}"
        env = _base_env(
            {
                "CONVEYOR_DATABASE_URL": database_url,
                "CONVEYOR_DATA_DIR": str(data_dir),
                "CONVEYOR_LEASE_S": "3",
                "CONVEYOR_HEARTBEAT_S": "0.5",
                "CONVEYOR_LOG_ACCESS": "false",  # a line per request: too many to read a failure
                **{f"CONVEYOR_{k.upper()}": v for k, v in settings.items()},
                **(env or {}),
            }
        )
        self._argv = ["server", "--host", host, "--port", str(self.port), *args]
        self._env = env
        self.process = self._start()
        self.token = self.login(ADMIN_EMAIL, ADMIN_PASSWORD)

    def _start(self) -> Process:
        self.process = Process(self._argv, self._env, self.data_dir / "server.log")
        wait_until(self._ready, STARTUP_TIMEOUT_S, "the server to be ready")
        return self.process

    def restart(self, *, kill: bool = False) -> None:
        """Stop (``kill``: kill -9) the server process and start a new one on the same port
        and database."""
        if kill:
            self.process.kill()
        else:
            self.process.stop()
        self._start()

    def _ready(self) -> bool:
        if not self.process.alive():
            raise RuntimeError(f"server exited:\n{self.process.output()}")
        try:
            response = httpx.get(f"{self.url}/readyz", timeout=1, verify=self.verify)
            return response.status_code == 200
        except httpx.TransportError:
            return False

    def login(self, email: str, password: str) -> str:
        response = httpx.post(
            f"{self.url}/api/v1/auth/login",
            json={"email": email, "password": password},
            verify=self.verify,
        )
        response.raise_for_status()
        token: str = response.json()["access_token"]
        return token

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.url}/api/v1",
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
            verify=self.verify,
        )

    def stop(self) -> None:
        self.process.stop()


class LiveAgent:
    def __init__(
        self,
        server: LiveServer,
        name: str,
        *args: str,
        slots: int = 2,
        labels: dict[str, str] | None = None,
        key: str | None = None,
        url: str | None = None,
        env: dict[str, str] | None = None,
        wait: bool = True,
        wrapper: Sequence[str] = (),
    ) -> None:
        """``url`` overrides the server's (an agent listener); ``wait=False``: do not await it."""
        self.name = name
        env = _base_env(
            {
                "CONVEYOR_AGENT_KEY": key or server.agent_key,
                "CONVEYOR_SERVER": url or server.url,
                **(env or {}),
            }
        )
        argv = ["agent", "--name", name, "--slots", str(slots), *args]
        for key, value in (labels or {}).items():
            argv += ["--label", f"{key}={value}"]
        self.process = Process(argv, env, server.data_dir / f"agent-{name}.log", wrapper)
        if not wait:
            return
        with server.client() as api:
            wait_until(lambda: self._connected(api), STARTUP_TIMEOUT_S, f"agent {name} to connect")

    def _connected(self, api: httpx.Client) -> bool:
        if not self.process.alive():
            raise RuntimeError(f"agent {self.name} exited:\n{self.process.output()}")
        agents = api.get("/agents").json()["items"]
        return any(a["name"] == self.name and a["connected"] for a in agents)


def sse_events(response: httpx.Response, deadline: float | None = None) -> Iterator[dict[str, Any]]:
    """Parse a text/event-stream response into events {id, event, data}; past ``deadline``
    (time.monotonic()) the next line read, keep-alive comments included, raises."""
    event: dict[str, Any] = {}
    for line in response.iter_lines():
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError("the awaited events did not come in time")
        if not line:
            if "data" in event:
                event["data"] = orjson.loads(event["data"])
                yield event
            event = {}
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            event[field] = (
                event[field] + "\n" + value if field == "data" and field in event else value
            )


@contextmanager
def running(*items: LiveServer | LiveAgent) -> Iterator[None]:
    try:
        yield
    finally:
        for item in reversed(items):
            item.process.stop()
