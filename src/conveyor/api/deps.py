"""What every route depends on: the server's services and one permission check.

Every HTTP and WebSocket route declares its permission with :func:`require` (or
:func:`public` for login, health and metrics); ``tests/api`` walks ``app.routes``
and fails on a route that declares neither.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import Depends
from starlette.requests import HTTPConnection

from conveyor.auth.permissions import Principal
from conveyor.errors import PermissionDenied, Unauthenticated
from conveyor.settings import ServerSettings

if TYPE_CHECKING:
    from conveyor.api.blobs import BlobStore
    from conveyor.auth.service import AuthService
    from conveyor.engine import Engine
    from conveyor.server.hub import AgentHub
    from conveyor.store import Store

PERMISSION_ATTR = "__conveyor_permission__"
"""Set on every dependency made here; the route-walking test looks for it."""


@dataclass
class Services:
    """The long-lived parts one server process shares between requests."""

    settings: ServerSettings
    store: Store
    auth: AuthService
    engine: Engine
    hub: AgentHub
    blobs: BlobStore


def services(conn: HTTPConnection) -> Services:
    found: Services = conn.app.state.services
    return found


def bearer_token(conn: HTTPConnection) -> str:
    header = conn.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("send `Authorization: Bearer <access token or API key>`")
    return token.strip()


def require(permission: str, *, any_action: bool = False) -> Any:
    """Authenticate the caller and check ``permission`` in their current team.

    With ``any_action`` a per-action grant (``jobs:create:<action>``) satisfies
    ``jobs:create``; the route then checks the exact action itself.
    """

    async def check(conn: HTTPConnection) -> Principal:
        principal = await services(conn).auth.authenticate(
            bearer_token(conn), team=conn.headers.get("x-conveyor-team")
        )
        allowed = principal.can(permission) or (
            any_action and any(p.startswith(permission + ":") for p in principal.permissions)
        )
        if not allowed:
            raise PermissionDenied(f"you need the `{permission}` permission for this")
        return principal

    setattr(check, PERMISSION_ATTR, permission)
    return Depends(check)


def authenticated() -> Any:
    """Any valid credential, whatever it may do: for routes about the caller itself."""

    async def check(conn: HTTPConnection) -> Principal:
        return await services(conn).auth.authenticate(
            bearer_token(conn), team=conn.headers.get("x-conveyor-team")
        )

    setattr(check, PERMISSION_ATTR, "authenticated")
    return Depends(check)


def public() -> Any:
    """Mark a route as open to anyone (login, health, metrics): a deliberate choice."""

    async def open_route() -> None:
        return None

    setattr(open_route, PERMISSION_ATTR, "public")
    return Depends(open_route)


def declared_permission(call: Callable[..., Awaitable[Any]] | Any) -> str | None:
    value = getattr(call, PERMISSION_ATTR, None)
    return value if isinstance(value, str) else None
