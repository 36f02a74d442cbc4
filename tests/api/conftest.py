"""A real server for REST tests: ``create_app`` served by uvicorn on a free port.

The server runs its own event loop in a thread; tests talk to it over HTTP with
httpx and set up what no public endpoint makes (catalog entries, claimed jobs,
log chunks) through the server's own store, on the server's loop.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from conveyor.api.app import create_app
from conveyor.api.deps import Services
from conveyor.auth.passwords import hash_password
from conveyor.bounds import AGENT_FRAME_MAX_BYTES
from conveyor.protocol import ActionOffer
from conveyor.server.bootstrap import bootstrap
from conveyor.server.http_edge import http_protocol
from conveyor.settings import ServerSettings
from conveyor.store import ClaimRequest, Store
from conveyor.store.records import ClaimedJob
from tests.helpers.live import ADMIN_EMAIL, ADMIN_PASSWORD, free_port, wait_until

T = TypeVar("T")

ECHO_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "message": {"type": "string"},
        "rows": {"type": "integer", "minimum": 1},
        "items": {"type": "array", "items": {"type": "integer"}},
    },
    "additionalProperties": False,
}
ECHO = ActionOffer(name="demo.echo", params_schema=ECHO_SCHEMA)
OTHER = ActionOffer(name="demo.other", params_schema={"type": "object"})
MAX_ARTIFACT_BYTES = 64 * 1024


USER_PASSWORD = "another correct horse"


@dataclass(frozen=True)
class Person:
    """A user made for a test, logged in."""

    id: uuid.UUID
    email: str
    token: str


@dataclass
class Live:
    url: str
    app: FastAPI
    loop: asyncio.AbstractEventLoop
    admin_token: str
    agent_key: str
    team_id: uuid.UUID

    @property
    def svc(self) -> Services:
        found: Services = self.app.state.services
        return found

    @property
    def store(self) -> Store:
        return self.svc.store

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the server's loop (where its store lives) and wait for it."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def client(self, token: str | None = None, **headers: str) -> httpx.Client:
        auth = {"Authorization": f"Bearer {token or self.admin_token}"} if token != "" else {}
        return httpx.Client(base_url=f"{self.url}/api/v1", headers={**auth, **headers}, timeout=30)

    def user(self, role: str | None = "viewer", team_id: uuid.UUID | None = None) -> Person:
        """A new person in a team (the default one) with ``role``; ``role=None``: in no team."""
        email = f"{role or 'loner'}-{uuid.uuid4().hex[:8]}@example.com"
        password_hash = hash_password(USER_PASSWORD)
        created = self.run(self.store.user_create(email, password_hash))
        if role is not None:
            self.run(self.store.member_add(team_id or self.team_id, created.id, role))
        login = httpx.post(
            f"{self.url}/api/v1/auth/login",
            json={"email": email, "password": USER_PASSWORD},
            timeout=60,
        )
        assert login.status_code == 200, login.text
        return Person(created.id, email, login.json()["access_token"])

    def offer(self, *offers: ActionOffer, name: str = "catalog-agent") -> uuid.UUID:
        """Put actions in the team's catalog, as an agent's hello does."""
        return self.run(
            self.store.agent_connect(
                self.team_id, name=name, labels={}, slots=1, version="test",
                queues=["default"], actions=list(offers), key_id=None, user_id=None,
            )
        )  # fmt: skip

    def claim(
        self, *offers: ActionOffer, limit: int = 1, queues: tuple[str, ...] = ("default",)
    ) -> list[ClaimedJob]:
        """Claim jobs as an agent would; the dispatcher is idle (no agent is connected)."""
        request = ClaimRequest(
            agent_id=uuid.uuid4(),
            queues=list(queues),
            actions={o.name: [o.schema_hash] for o in offers or (ECHO,)},
            limit=limit,
        )
        return self.run(self.store.job_claim(self.team_id, request))


def _serve(server: uvicorn.Server, loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    loop.run_until_complete(server.serve())


@pytest.fixture
def live(db_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Live]:
    """``parametrize("live", [{setting: value}], indirect=True)`` changes settings."""
    boot = asyncio.run(bootstrap(db_url, email=ADMIN_EMAIL, password=ADMIN_PASSWORD))
    settings = ServerSettings(
        database_url=db_url,
        data_dir=str(tmp_path),
        lease_s=30,
        heartbeat_s=10,
        max_artifact_bytes=MAX_ARTIFACT_BYTES,
        **getattr(request, "param", {}),
    )
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            timeout_graceful_shutdown=5,
            proxy_headers=False,  # as `conveyor server`: CONVEYOR_TRUSTED_PROXIES decides
            http=http_protocol(),  # as `conveyor server`: the parser's 400s in the envelope
            ws_max_size=AGENT_FRAME_MAX_BYTES,
        )
    )
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=_serve, args=(server, loop), name="uvicorn", daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started or not thread.is_alive(), 30, "the server to start")
        assert server.started, "the server did not start"
        url = f"http://127.0.0.1:{port}"
        token = httpx.post(
            f"{url}/api/v1/auth/login",
            json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
            timeout=60,  # argon2 on a loaded machine
        ).json()["access_token"]
        team_id = asyncio.run_coroutine_threadsafe(
            app.state.services.store.team_by_slug("default"), loop
        ).result(30)
        assert team_id is not None
        yield Live(url, app, loop, token, boot.agent_key, team_id)
    finally:
        server.should_exit = True
        thread.join(30)
        loop.close()
