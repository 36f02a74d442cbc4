"""How an agent proves who it is: an agent key, or a member's own login.

An agent key never changes. A login is short-lived access tokens from a rotating
refresh token: :class:`LoginCredentials` refreshes before the access token
expires, and hands each fresh token to the open connection (a ``credentials``
message), so the session outlives any one token without reconnecting. A refused
refresh (logged out, disabled, password changed) stops the agent for good.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import Awaitable, Callable, Generator

import httpx
import structlog

from conveyor import protocol

log = structlog.get_logger(__name__)

RENEW_AT = 0.7
"""Refresh when this share of the access token's lifetime has passed."""


class CredentialsRefused(Exception):
    """The server will not renew this login: log in again."""


class KeyCredentials:
    """An agent API key: the same bearer for the agent's whole life."""

    def __init__(self, key: str) -> None:
        self._key = key

    @property
    def bearer(self) -> str:
        return self._key

    async def ensure_fresh(self) -> None:
        return None

    async def renew(self, send: Callable[[protocol.Credentials], Awaitable[None]]) -> None:
        await asyncio.Event().wait()  # nothing to renew: idle until the session ends

    async def close(self) -> None:
        return None


class LoginCredentials:
    """A member's login of its own (see ``POST me/sessions``), refreshed before it expires."""

    def __init__(self, server: str, access_token: str, refresh_token: str, expires_in: float, *,
                 verify: bool | str | ssl.SSLContext = True,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self._http = httpx.AsyncClient(
            base_url=server.rstrip("/") + "/api/v1", timeout=30.0, verify=verify
        )
        self._clock = clock
        self._lock = asyncio.Lock()
        self._set(access_token, refresh_token, expires_in)

    def _set(self, access: str, refresh: str, expires_in: float) -> None:
        self._access, self._refresh = access, refresh
        self._renew_at = self._clock() + max(1.0, expires_in * RENEW_AT)

    @property
    def bearer(self) -> str:
        return self._access

    async def ensure_fresh(self) -> None:
        """Refresh now if the access token is due (before connecting)."""
        if self._clock() >= self._renew_at:
            await self._refresh_now()

    async def _refresh_now(self) -> None:
        async with self._lock:
            if self._clock() < self._renew_at:
                return  # refreshed meanwhile
            try:
                response = await self._http.post(
                    "/auth/refresh", json={"refresh_token": self._refresh}
                )
            except httpx.TransportError as exc:
                raise OSError(f"cannot refresh the login: {exc}") from exc
            if response.status_code in (401, 403):
                raise CredentialsRefused(_message(response))
            response.raise_for_status()
            answer = response.json()
            self._set(answer["access_token"], answer["refresh_token"], answer["expires_in"])
            log.info("login renewed", expires_in=answer["expires_in"])

    async def renew(self, send: Callable[[protocol.Credentials], Awaitable[None]]) -> None:
        """While a session is open: refresh when due and hand the token to the server."""
        while True:
            await asyncio.sleep(max(0.0, self._renew_at - self._clock()))  # a deadline, not a sync
            await self._refresh_now()
            await send(protocol.Credentials(token=self._access))

    async def close(self) -> None:
        """End this login on the server (it was the agent's own) and release the client."""
        with contextlib.suppress(httpx.HTTPError):
            await self._http.post(
                "/auth/logout",
                json={"refresh_token": self._refresh},
                headers={"Authorization": f"Bearer {self._access}"},
            )
        await self._http.aclose()


class BearerAuth(httpx.Auth):
    """httpx auth that always sends the credentials' current bearer (uploads)."""

    def __init__(self, credentials: KeyCredentials | LoginCredentials) -> None:
        self.credentials = credentials

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.credentials.bearer}"
        yield request


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code}"
