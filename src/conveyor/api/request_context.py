"""A request id for every HTTP request and WebSocket, bound to every line logged for it.

The id comes from the client's ``X-Request-ID`` when it is a sane one (up to
``REQUEST_ID_MAX_CHARS`` of letters, digits and ``._:-``: a proxy's or a caller's
own id, so one search finds their side and ours), otherwise a new one; it is
answered in the response's ``X-Request-ID``. Outermost of our middleware, so the
access line, the audit trail's lines and an unhandled error's line all carry it;
the routes' authentication adds ``team_id`` and who is asking (see ``deps``).
"""

from __future__ import annotations

import re
import time
import uuid

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conveyor.bounds import REQUEST_ID_MAX_CHARS
from conveyor.logs import request_started

HEADER = "x-request-id"
_RAW_HEADER = HEADER.encode("ascii")
_SANE = re.compile(rf"[A-Za-z0-9._:\-]{{1,{REQUEST_ID_MAX_CHARS}}}")


def request_id_of(given: bytes | None) -> str:
    """The client's id if it is sane, else a new one (32 hex digits)."""
    if given is not None:
        text = given.decode("latin-1")
        if _SANE.fullmatch(text):
            return text
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    """The id of the request being served (None outside one)."""
    found = structlog.contextvars.get_contextvars().get("request_id")
    return found if isinstance(found, str) else None


class RequestContext:
    """Bind ``request_id`` (and the start time) for the request; answer it in a header.

    uvicorn serves each request in a task of its own, so what is bound here (and by
    the routes' dependencies) ends with the request; it is cleared first all the same,
    for callers that run the app in their own task (tests).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = next((value for name, value in scope["headers"] if name == _RAW_HEADER), None)
        request_id = request_id_of(given)
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        request_started.set(time.perf_counter())
        raw = request_id.encode("ascii")
        start = "http.response.start" if scope["type"] == "http" else "websocket.accept"

        async def answered(message: Message) -> None:
            if message["type"] == start:
                message = {**message, "headers": [*message.get("headers", ()), (_RAW_HEADER, raw)]}
            await send(message)

        await self.app(scope, receive, answered)


__all__ = ["HEADER", "RequestContext", "current_request_id", "request_id_of"]
