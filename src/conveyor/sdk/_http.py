"""The clients' HTTP layer: one httpx connection pool, typed errors, token refresh.

:class:`Transport` (sync) and :class:`AsyncTransport` share everything but the
I/O calls: request building, headers, the refresh rule and error mapping.

Every error answer (``{"error": {"code", "message", "details"}}``) becomes the class
of :mod:`conveyor.errors` with that ``code``, else :class:`ApiError`. A 401 is
answered once by trading the refresh token for new tokens (when the client has
one) and sending the request again.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import httpx

from conveyor import __version__
from conveyor.errors import ConveyorError, Unauthenticated
from conveyor.sdk.errors import ApiError, RequestTimeout, ServerUnreachable
from conveyor.sdk.models import TokenPair
from conveyor.sdk.tls import client_ssl_context

API_PREFIX = "/api/v1/"

OnTokens = Callable[[TokenPair], None]
"""Called with the new tokens after a refresh (the CLI saves them)."""

EXPIRED = "your login has expired: run `conveyor login` again"


class _Base:
    """What both transports share: identity, team, headers, request building, refresh."""

    def __init__(self, server: str, *, token: str | None, refresh_token: str | None = None,
                 on_tokens: OnTokens | None = None, team: str | None = None) -> None:  # fmt: skip
        self.server = server.rstrip("/")
        self.token = token
        self.refresh_token = refresh_token
        self.on_tokens = on_tokens
        self.team = team

    def _build(self, http: httpx.Client | httpx.AsyncClient, method: str, path: str, *,
               body: Any, params: dict[str, Any] | None, headers: dict[str, str] | None,
               auth: bool, timeout: httpx.Timeout | None) -> httpx.Request:  # fmt: skip
        return http.build_request(
            method,
            _absolute(self.server + API_PREFIX, path),
            json=body,
            params=_clean(params),
            headers=self._headers(headers, auth=auth),
            timeout=timeout if timeout is not None else http.timeout,
        )

    def _should_refresh(self, response: httpx.Response, *, auth: bool, refreshed: bool) -> bool:
        return response.status_code == 401 and auth and not refreshed and bool(self.refresh_token)

    def _headers(self, extra: dict[str, str] | None, *, auth: bool) -> dict[str, str]:
        headers = dict(extra or {})
        if auth and self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if self.team:
            headers["X-Conveyor-Team"] = self.team
        return headers

    def _refresh_body(self) -> dict[str, Any]:
        return {"refresh_token": self.refresh_token}

    def _refreshed(self, answer: Any) -> None:
        tokens = TokenPair.model_validate(answer)
        self.token, self.refresh_token = tokens.access_token, tokens.refresh_token
        if self.on_tokens is not None:
            self.on_tokens(tokens)

    def _transport_error(self, exc: httpx.TransportError) -> ConveyorError:
        if isinstance(exc, httpx.TimeoutException):
            return RequestTimeout(f"{self.server} did not answer in time: {exc}")
        return ServerUnreachable(f"cannot reach {self.server}: {exc}")


class Transport(_Base):
    """Requests against one server's ``/api/v1`` with one identity and team."""

    def __init__(self, server: str, *, token: str | None, refresh_token: str | None = None,
                 on_tokens: OnTokens | None = None, team: str | None = None,
                 timeout: float | httpx.Timeout = 30.0,
                 verify: bool | str | Path | ssl.SSLContext = True) -> None:  # fmt: skip
        super().__init__(
            server, token=token, refresh_token=refresh_token, on_tokens=on_tokens, team=team
        )
        self.http = httpx.Client(**_client_options(self.server, timeout, verify))

    def close(self) -> None:
        self.http.close()

    def json(self, method: str, path: str, *, body: Any = None,
             params: dict[str, Any] | None = None, auth: bool = True) -> Any:  # fmt: skip
        """Send a request and return its JSON answer (None for an empty one)."""
        response = self.send(method, path, body=body, params=params, auth=auth)
        try:
            return response.json() if response.content else None
        finally:
            response.close()

    @contextmanager
    def stream(self, method: str, path: str, *, params: dict[str, Any] | None = None,
               headers: dict[str, str] | None = None,
               timeout: httpx.Timeout | None = None) -> Iterator[httpx.Response]:  # fmt: skip
        """A response whose body is read as it arrives (SSE, downloads)."""
        response = self.send(
            method, path, params=params, headers=headers, stream=True, timeout=timeout
        )
        try:
            yield response
        finally:
            response.close()

    def send(self, method: str, path: str, *, body: Any = None,
             params: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
             stream: bool = False, auth: bool = True,
             timeout: httpx.Timeout | None = None) -> httpx.Response:  # fmt: skip
        """Send, refresh the access token once on 401, and raise the typed error of a non-2xx."""
        refreshed = False
        while True:
            request = self._build(self.http, method, path, body=body, params=params,
                                  headers=headers, auth=auth, timeout=timeout)  # fmt: skip
            try:
                response = self.http.send(request, stream=stream)
            except httpx.TransportError as exc:
                raise self._transport_error(exc) from exc
            if self._should_refresh(response, auth=auth, refreshed=refreshed):
                response.close()
                if not self._refresh():
                    raise Unauthenticated(EXPIRED)
                refreshed = True
                continue
            if response.is_success:
                return response
            try:
                response.read()
            finally:
                response.close()
            raise error_from(response)

    def _refresh(self) -> bool:
        """Trade the refresh token for a new pair; False when the server refuses it."""
        try:
            answer = self.json("POST", "auth/refresh", body=self._refresh_body(), auth=False)
        except ConveyorError:
            self.refresh_token = None  # spent or revoked: a new login is needed
            return False
        self._refreshed(answer)
        return True


class AsyncTransport(_Base):
    """:class:`Transport` on ``httpx.AsyncClient``, for :class:`conveyor.AsyncClient`."""

    def __init__(self, server: str, *, token: str | None, refresh_token: str | None = None,
                 on_tokens: OnTokens | None = None, team: str | None = None,
                 timeout: float | httpx.Timeout = 30.0,
                 verify: bool | str | Path | ssl.SSLContext = True) -> None:  # fmt: skip
        super().__init__(
            server, token=token, refresh_token=refresh_token, on_tokens=on_tokens, team=team
        )
        self.http = httpx.AsyncClient(**_client_options(self.server, timeout, verify))

    async def close(self) -> None:
        await self.http.aclose()

    async def json(self, method: str, path: str, *, body: Any = None,
                   params: dict[str, Any] | None = None, auth: bool = True) -> Any:  # fmt: skip
        """Send a request and return its JSON answer (None for an empty one)."""
        response = await self.send(method, path, body=body, params=params, auth=auth)
        try:
            return response.json() if response.content else None
        finally:
            await response.aclose()

    @asynccontextmanager
    async def stream(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                     headers: dict[str, str] | None = None,
                     http_timeout: httpx.Timeout | None = None) -> AsyncIterator[httpx.Response]:  # fmt: skip
        """A response whose body is read as it arrives (SSE, downloads).

        ``http_timeout`` is httpx's per-phase timeout (a read timeout spots a dead stream).
        """
        response = await self.send(
            method, path, params=params, headers=headers, stream=True, http_timeout=http_timeout
        )
        try:
            yield response
        finally:
            await response.aclose()

    async def send(self, method: str, path: str, *, body: Any = None,
                   params: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
                   stream: bool = False, auth: bool = True,
                   http_timeout: httpx.Timeout | None = None) -> httpx.Response:  # fmt: skip
        """Send, refresh the access token once on 401, and raise the typed error of a non-2xx."""
        refreshed = False
        while True:
            request = self._build(self.http, method, path, body=body, params=params,
                                  headers=headers, auth=auth, timeout=http_timeout)  # fmt: skip
            try:
                response = await self.http.send(request, stream=stream)
            except httpx.TransportError as exc:
                raise self._transport_error(exc) from exc
            if self._should_refresh(response, auth=auth, refreshed=refreshed):
                await response.aclose()
                if not await self._refresh():
                    raise Unauthenticated(EXPIRED)
                refreshed = True
                continue
            if response.is_success:
                return response
            try:
                await response.aread()
            finally:
                await response.aclose()
            raise error_from(response)

    async def _refresh(self) -> bool:
        """Trade the refresh token for a new pair; False when the server refuses it."""
        try:
            answer = await self.json("POST", "auth/refresh", body=self._refresh_body(), auth=False)
        except ConveyorError:
            self.refresh_token = None
            return False
        self._refreshed(answer)
        return True


def _client_options(
    server: str, timeout: float | httpx.Timeout, verify: bool | str | Path | ssl.SSLContext
) -> dict[str, Any]:
    """The httpx client settings both transports use."""
    return {
        "base_url": server + API_PREFIX,
        "timeout": timeout,
        "verify": _ssl_context(verify),
        "headers": {"User-Agent": f"conveyor-python/{__version__}"},
    }


def error_from(response: httpx.Response) -> ConveyorError:
    """The typed error an error answer stands for."""
    status = response.status_code
    code, message = f"http_{status}", response.reason_phrase or f"HTTP {status}"
    details: Any = {}
    try:
        envelope = response.json()["error"]
        code = str(envelope.get("code") or code)
        message = str(envelope.get("message") or message)
        details = envelope.get("details") or {}
    except (ValueError, KeyError, TypeError, AttributeError):
        text = response.text.strip()
        if text and len(text) < 500:
            message = f"{message}: {text}"
    if not isinstance(details, dict):
        details = {"details": details}
    cls = error_classes().get(code)
    if cls is None or cls is ApiError:
        return ApiError(message, status=status, code=code, details=details)
    error = cls(message)
    error.details = details
    return error


@cache
def error_classes() -> dict[str, type[ConveyorError]]:
    """Every error class by its code, the whole tree (server errors and client ones)."""
    found: dict[str, type[ConveyorError]] = {}
    todo: list[type[ConveyorError]] = [ConveyorError]
    while todo:
        cls = todo.pop()
        found.setdefault(cls.code, cls)
        todo.extend(cls.__subclasses__())
    # Client-side errors take arguments a server answer cannot give.
    for name in ("job_failed", "wait_timeout"):
        found.pop(name, None)
    return found


@lru_cache(maxsize=1024)
def _absolute(base: str, path: str) -> httpx.URL:
    """``path`` under ``base`` as httpx puts a relative URL under its ``base_url``, parsed
    once: httpx parses both on every request (two thirds of building one, measured),
    and an absolute ``httpx.URL`` not at all. Paths repeat (a job is read many times)."""
    under = httpx.URL(base)
    return under.copy_with(raw_path=under.raw_path + httpx.URL(path).raw_path.lstrip(b"/"))


def _clean(params: dict[str, Any] | None) -> dict[str, Any] | None:
    if params is None:
        return None
    return {k: v for k, v in params.items() if v is not None}


def _ssl_context(verify: bool | str | Path | ssl.SSLContext) -> ssl.SSLContext:
    if isinstance(verify, ssl.SSLContext):
        return verify
    return client_ssl_context(verify)
