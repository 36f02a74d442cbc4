"""The client's HTTP layer: one httpx connection pool, typed errors, token refresh.

Every error answer (``{"error": {"code", "message", "details"}}``) becomes the class
of :mod:`conveyor.errors` with that ``code``, else :class:`ApiError`. A 401 is
answered once by trading the refresh token for new tokens (when the client has
one) and sending the request again.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import httpx

from conveyor import __version__
from conveyor.errors import ConveyorError, Unauthenticated
from conveyor.sdk.errors import ApiError, RequestTimeout, ServerUnreachable
from conveyor.sdk.models import TokenPair

API_PREFIX = "/api/v1/"

OnTokens = Callable[[TokenPair], None]
"""Called with the new tokens after a refresh (the CLI saves them)."""


class Transport:
    """Requests against one server's ``/api/v1`` with one identity and team."""

    def __init__(self, server: str, *, token: str | None, refresh_token: str | None = None,
                 on_tokens: OnTokens | None = None, team: str | None = None,
                 timeout: float | httpx.Timeout = 30.0,
                 verify: bool | str | Path | ssl.SSLContext = True) -> None:  # fmt: skip
        self.server = server.rstrip("/")
        self.token = token
        self.refresh_token = refresh_token
        self.on_tokens = on_tokens
        self.team = team
        self.http = httpx.Client(
            base_url=self.server + API_PREFIX,
            timeout=timeout,
            verify=_ssl_context(verify),
            headers={"User-Agent": f"conveyor-python/{__version__}"},
        )

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
            request = self.http.build_request(
                method,
                path,
                json=body,
                params=_clean(params),
                headers=self._headers(headers, auth=auth),
                timeout=timeout if timeout is not None else self.http.timeout,
            )
            try:
                response = self.http.send(request, stream=stream)
            except httpx.TimeoutException as exc:
                raise RequestTimeout(f"{self.server} did not answer in time: {exc}") from exc
            except httpx.TransportError as exc:
                raise ServerUnreachable(f"cannot reach {self.server}: {exc}") from exc
            if response.status_code == 401 and auth and not refreshed and self.refresh_token:
                response.close()
                if not self._refresh():
                    raise Unauthenticated("your login has expired: run `conveyor login` again")
                refreshed = True
                continue
            if response.is_success:
                return response
            try:
                response.read()
            finally:
                response.close()
            raise error_from(response)

    def _headers(self, extra: dict[str, str] | None, *, auth: bool) -> dict[str, str]:
        headers = dict(extra or {})
        if auth and self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if self.team:
            headers["X-Conveyor-Team"] = self.team
        return headers

    def _refresh(self) -> bool:
        """Trade the refresh token for a new pair; False when the server refuses it."""
        try:
            answer = self.json(
                "POST", "auth/refresh", body={"refresh_token": self.refresh_token}, auth=False
            )
        except ConveyorError:
            self.refresh_token = None  # spent or revoked: a new login is needed
            return False
        tokens = TokenPair.model_validate(answer)
        self.token, self.refresh_token = tokens.access_token, tokens.refresh_token
        if self.on_tokens is not None:
            self.on_tokens(tokens)
        return True


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


def _clean(params: dict[str, Any] | None) -> dict[str, Any] | None:
    if params is None:
        return None
    return {k: v for k, v in params.items() if v is not None}


def _ssl_context(verify: bool | str | Path | ssl.SSLContext) -> bool | ssl.SSLContext:
    """A CA bundle path becomes an SSL context (httpx deprecates passing the path)."""
    if isinstance(verify, bool | ssl.SSLContext):
        return verify
    where = Path(verify)
    if where.is_dir():
        return ssl.create_default_context(capath=str(where))
    return ssl.create_default_context(cafile=str(where))
