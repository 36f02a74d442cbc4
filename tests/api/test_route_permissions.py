"""Every HTTP and WebSocket route declares its permission through one dependency."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute, APIWebSocketRoute
from starlette.routing import BaseRoute

from conveyor.api.app import create_app
from conveyor.api.deps import require, route_permissions
from conveyor.settings import ServerSettings

# The API description, its viewer and the viewer's files are public on purpose.
FRAMEWORK_ROUTES = {"/api/v1/openapi.json", "/api/v1/docs", "/api/v1/docs/assets"}
PUBLIC_ROUTES = {
    "/healthz", "/readyz", "/api/v1/auth/login", "/api/v1/auth/refresh",
    "/api/v1/auth/register",
    "/metrics",  # public unless metrics_token is set (its own bearer check)
}  # fmt: skip


def _walk(routes: list[BaseRoute], prefix: str = "") -> list[tuple[str, BaseRoute]]:
    """Every route with its full path, through included routers."""
    found: list[tuple[str, BaseRoute]] = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            context = getattr(route, "include_context", None)
            found += _walk(inner.routes, prefix + getattr(context, "prefix", ""))
        else:
            found.append((prefix + getattr(route, "path", repr(route)), route))
    return found


def unguarded(app: FastAPI) -> list[str]:
    missing = []
    for path, route in _walk(app.routes):
        if isinstance(route, APIRoute | APIWebSocketRoute):
            permissions = route_permissions(route.dependant)
            if not permissions:
                missing.append(path)
            elif "public" in permissions and path not in PUBLIC_ROUTES:
                missing.append(f"{path} (public but not on the public list)")
        elif path not in FRAMEWORK_ROUTES:
            missing.append(f"{path} (not an API route)")
    return missing


def test_every_route_declares_a_permission() -> None:
    app = create_app(ServerSettings())
    assert unguarded(app) == []
    paths = {path for path, _ in _walk(app.routes)}
    assert len(paths) > 20
    assert "/api/v1/agent/connect" in paths and "/api/v1/jobs" in paths


def test_the_walk_catches_an_unguarded_route() -> None:
    app = create_app(ServerSettings())
    sneaky = APIRouter()

    @sneaky.get("/api/v1/sneaky")
    async def sneaky_route() -> dict[str, str]:
        return {}

    @sneaky.get("/api/v1/guarded", dependencies=[require("jobs:read")])
    async def guarded_route() -> dict[str, str]:
        return {}

    app.include_router(sneaky)
    assert unguarded(app) == ["/api/v1/sneaky"]
