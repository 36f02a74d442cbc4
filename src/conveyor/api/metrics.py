"""``GET /metrics``: this replica's Prometheus metrics, and the HTTP latency middleware.

Public unless ``metrics_token`` is set; then a scrape must send it as a bearer token
(compared in constant time). Prometheus' text format, not JSON: not in the OpenAPI
document. The names are listed in ``docs/operations.md`` (Metrics).
"""

from __future__ import annotations

import hmac

from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conveyor.api.deps import public, services
from conveyor.engine.metrics import Metrics
from conveyor.errors import Unauthenticated

UNMATCHED = "unmatched"
"""The route label of a request no route matched (a 404): one value, never the path."""


def install(app: FastAPI) -> None:
    """Serve ``/metrics`` (only called when the metrics are on: off, it is a 404)."""

    @app.get("/metrics", include_in_schema=False, dependencies=[public()])
    async def metrics(request: Request) -> Response:
        """This replica's metrics in Prometheus' text format."""
        svc = services(request)
        token = svc.settings.metrics_token
        if token:
            given = request.headers.get("authorization", "")
            scheme, _, value = given.partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                value.strip().encode(), token.encode()
            ):
                raise Unauthenticated("/metrics wants the metrics token as a bearer token")
        assert svc.engine.metrics is not None  # installed only when the metrics are on
        body = generate_latest(svc.engine.metrics.registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)


class HttpMetrics:
    """Observe each HTTP request's latency under its route template (``/api/v1/jobs/{job_id}``).

    Inside the request-id middleware; streams (SSE) count until their end.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = Metrics.clock()
        status = 500
        svc = getattr(scope["app"].state, "services", None)
        metrics: Metrics | None = svc.engine.metrics if svc is not None else None
        stream: Gauge | None = None

        async def seen(message: Message) -> None:
            nonlocal status, stream
            if message["type"] == "http.response.start":
                status = message["status"]
                if metrics is not None and _is_stream(message):
                    stream = metrics.sse_clients
                    stream.inc()
            await send(message)

        try:
            await self.app(scope, receive, seen)
        finally:
            if stream is not None:
                stream.dec()
            if metrics is not None:
                route = getattr(scope.get("route"), "path", None) or UNMATCHED
                metrics.on_http(scope["method"], route, status, Metrics.clock() - start)


def _is_stream(start: Message) -> bool:
    """An SSE answer: counted as an open client until it ends."""
    return any(
        name == b"content-type" and value.startswith(b"text/event-stream")
        for name, value in start.get("headers", ())
    )
