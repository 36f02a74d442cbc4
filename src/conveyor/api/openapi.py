"""The API's contract: the OpenAPI document the app serves and the repository commits.

FastAPI builds the document from the routes; this module adds what the routes do
not say themselves (which credential each operation takes) and keeps the document
valid OpenAPI 3.1. ``python -m conveyor.api.openapi`` (``make openapi``) writes it
to ``openapi.json``, which the SDK and the web UI are checked against.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from conveyor.api.deps import route_accepts_signed_url, route_permissions
from conveyor.api.signed import SIGNED_PARAM

BEARER = "bearer"
SIGNED_URL = "signedUrl"
SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    BEARER: {
        "type": "http",
        "scheme": "bearer",
        "description": "An access token (from `POST /api/v1/auth/login`) or an API key.",
    },
    SIGNED_URL: {
        "type": "apiKey",
        "in": "query",
        "name": SIGNED_PARAM,
        "description": "The token of a signed URL, for a browser's download or EventSource "
        "that cannot send a header; a signed URL is issued for one resource.",
    },
}
EVENT_STREAM = "text/event-stream"
EVENT_DATA = "x-event-data"
"""Where a stream's events' data model goes: OpenAPI 3.1 has no keyword for it."""


def install(app: FastAPI) -> None:
    """Serve :func:`document` as the app's ``openapi.json``."""
    app.openapi = partial(document, app)  # type: ignore[method-assign]


def document(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document, built once (``app.openapi_schema = None`` rebuilds it)."""
    if app.openapi_schema is None:
        schema = FastAPI.openapi(app)
        declare_security(schema, api_routes(app))
        describe_event_streams(schema)
        app.openapi_schema = schema
    return app.openapi_schema


def api_routes(app: FastAPI) -> list[APIRoute]:
    """Every HTTP route of the app, through the routers it includes."""
    found = (context.original_route for context in iter_route_contexts(app.routes))
    return [route for route in found if isinstance(route, APIRoute)]


def declare_security(schema: dict[str, Any], routes: list[APIRoute]) -> None:
    """Name the credential of every operation, so clients and the docs' Authorize know it.

    Each route declares its permission with one dependency (``conveyor.api.deps``); a
    public one needs none, one that takes a signed URL accepts it beside the bearer. An
    operation this cannot match to a route is marked as needing the bearer.
    """
    schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
    requirements: dict[str, list[dict[str, list[str]]]] = {}
    for route in routes:
        if route.operation_id is None:
            continue
        if "public" in route_permissions(route.dependant):
            requirements[route.operation_id] = []
        elif route_accepts_signed_url(route.dependant):
            requirements[route.operation_id] = [{BEARER: []}, {SIGNED_URL: []}]
    for operation in _operations(schema):
        needed = requirements.get(operation.get("operationId", ""), [{BEARER: []}])
        if needed:
            operation["security"] = needed


def describe_event_streams(schema: dict[str, Any]) -> None:
    """Describe server-sent event answers in OpenAPI 3.1 terms: a stream of text.

    FastAPI describes each event with ``itemSchema``, a keyword of OpenAPI 3.2 that a
    3.1 document may not carry. The events are told in the response's description;
    the model of their data (``conveyor.api.sse.event_stream_responses``) moves to
    the extension ``x-event-data``.
    """
    for operation in _operations(schema):
        for response in operation.get("responses", {}).values():
            media = response.get("content", {}).get(EVENT_STREAM)
            if media is None or "itemSchema" not in media:
                continue
            del media["itemSchema"]
            data = media.pop("schema", None)
            media["schema"] = {"type": "string", "description": "server-sent events"}
            if data is not None:
                media[EVENT_DATA] = data


def _operations(schema: dict[str, Any]) -> list[dict[str, Any]]:
    return [op for path in schema.get("paths", {}).values() for op in path.values()]
