"""The agent's WebSocket to the server: opening it, sending on it, and re-sending.

One connection at a time. Opening it presents the agent's credentials (and client
certificate) and turns a refusal into :class:`AgentRefused`, which ends the agent:
retrying cannot help. A message sent while no connection is up is dropped here; what
is durable (results, log chunks) is kept by its job until acknowledged and handed to
:meth:`Connection.resend` on the next connection.
"""

from __future__ import annotations

import contextlib
import random
import ssl
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.proxy import get_proxy
from websockets.uri import parse_uri

from conveyor import protocol
from conveyor.agent.credentials import CredentialsRefused, KeyCredentials, LoginCredentials

BACKOFF_MIN_S = 0.2
BACKOFF_MAX_S = 5.0
"""Reconnects are at most this far apart: a server restart of a few seconds must cost
agents a few seconds, not double (a pause of 30 s once doubled an 8 s outage, and
every job in flight ran again)."""
MAX_MESSAGE_BYTES = 16 * 1024 * 1024


class AgentRefused(Exception):
    """The server refused this agent (bad key, revoked, incompatible version): do not retry."""


class Backoff:
    """Pauses between reconnects: a ceiling doubling from :data:`BACKOFF_MIN_S` to
    :data:`BACKOFF_MAX_S`, with full jitter (anywhere below it, so a fleet that lost the
    server together does not come back together); reset once a session was up."""

    def __init__(self) -> None:
        self._next = BACKOFF_MIN_S

    def reset(self) -> None:
        self._next = BACKOFF_MIN_S

    def pause(self) -> float:
        pause = random.uniform(0, self._next)
        self._next = min(self._next * 2, BACKOFF_MAX_S)
        return pause


@dataclass(frozen=True)
class ServerAccess:
    """Where the server is and how the agent proves itself: the same for the WebSocket
    and the artifact uploads."""

    server: str
    credentials: KeyCredentials | LoginCredentials
    headers: dict[str, str]  # e.g. X-Conveyor-Team for a login agent
    tls: ssl.SSLContext


class Connection:
    """Opens the WebSocket to the server and sends on it while it is up."""

    def __init__(self, access: ServerAccess) -> None:
        self.server = access.server
        self._credentials = access.credentials
        self._headers = access.headers
        self._tls = access.tls
        self._ws: ClientConnection | None = None

    @property
    def url(self) -> str:
        parts = urlsplit(self.server)
        scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
        path = parts.path.rstrip("/") + "/api/v1/agent/connect"
        return urlunsplit((scheme, parts.netloc, path, "", ""))

    def proxy(self) -> str | None:
        """The proxy the WebSocket goes through: from HTTPS_PROXY, ALL_PROXY, NO_PROXY and the
        like (websockets reads them, as httpx does for the uploads); None when direct."""
        return get_proxy(parse_uri(self.url))

    @contextlib.asynccontextmanager
    async def open(self) -> AsyncIterator[ClientConnection]:
        """The open WebSocket for one session; sending goes to it until the block ends."""
        url = self.url
        try:
            await self._credentials.ensure_fresh()
        except CredentialsRefused as exc:
            raise AgentRefused(f"the login was refused: {exc} (log in again)") from None
        try:
            ws = await connect(
                url,
                additional_headers={
                    "Authorization": f"Bearer {self._credentials.bearer}",
                    **self._headers,
                },
                open_timeout=10,
                max_size=MAX_MESSAGE_BYTES,
                # Compressing every frame cost more CPU per job than the job itself; log
                # chunks are the only large messages, and they go in batches anyway.
                compression=None,
                ssl=self._tls if url.startswith("wss:") else None,
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status in (401, 403):
                raise AgentRefused(
                    f"the server refused the agent (HTTP {status}): check its key"
                ) from None
            raise
        async with ws:
            self._ws = ws
            try:
                yield ws
            finally:
                self._ws = None

    async def send(self, message: BaseModel) -> None:
        """Send now if connected; otherwise drop it (see :meth:`resend`)."""
        ws = self._ws
        if ws is None:
            return
        with contextlib.suppress(ConnectionClosed):
            await ws.send(protocol.encode(message))

    async def resend(self, unacknowledged: Iterable[BaseModel]) -> None:
        """Send again, in order, what the server had not acknowledged before a reconnect."""
        for message in unacknowledged:
            await self.send(message)

    async def close(self, code: int, reason: str) -> None:
        if self._ws is not None:
            await self._ws.close(code, reason)


def describe(exc: BaseException) -> str:
    """The error and its cause: a TLS alert hides behind "no valid HTTP response"."""
    text = str(exc) or type(exc).__name__
    cause = exc.__cause__ or exc.__context__
    return f"{text} ({cause})" if cause is not None and str(cause) else text
