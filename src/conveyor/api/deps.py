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
from conveyor.errors import NotFound, PermissionDenied, Unauthenticated
from conveyor.settings import ServerSettings

if TYPE_CHECKING:
    from conveyor.api.blobs import BlobStore
    from conveyor.auth.service import AuthService
    from conveyor.auth.teams import TeamService
    from conveyor.engine import Engine
    from conveyor.server.hub import AgentHub
    from conveyor.store import Store
    from conveyor.store.records import User

PERMISSION_ATTR = "__conveyor_permission__"
"""Set on every dependency made here; the route-walking test looks for it."""


@dataclass
class Services:
    """The long-lived parts one server process shares between requests."""

    settings: ServerSettings
    store: Store
    auth: AuthService
    teams: TeamService
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


TEAM_PATH_PARAM = "team"
"""Routes under ``/teams/{team}`` work in the team their path names, whatever the header says."""


def require_team(permission: str | None) -> Any:
    """Like :func:`require`, in the team the path names (id or slug); ``None``: any member.

    Someone who is not a member is answered 404, as if the team did not exist.
    """

    async def check(conn: HTTPConnection) -> Principal:
        team = conn.path_params[TEAM_PATH_PARAM]
        try:
            principal = await services(conn).auth.authenticate(bearer_token(conn), team=team)
        except PermissionDenied:
            raise NotFound(f"team {team[:100]!r} not found") from None
        if permission is not None and not principal.can(permission):
            raise PermissionDenied(f"you need the `{permission}` permission for this")
        return principal

    setattr(check, PERMISSION_ATTR, permission or "team member")
    return Depends(check)


def signed_in() -> Any:
    """A person's valid login, with or without a team (creating and joining teams)."""

    async def check(conn: HTTPConnection) -> User:
        return await services(conn).auth.authenticate_user(bearer_token(conn))

    setattr(check, PERMISSION_ATTR, "signed in")
    return Depends(check)


def authenticated() -> Any:
    """Any valid credential, whatever it may do: for routes about the caller itself."""

    async def check(conn: HTTPConnection) -> Principal:
        return await services(conn).auth.authenticate(
            bearer_token(conn), team=conn.headers.get("x-conveyor-team")
        )

    setattr(check, PERMISSION_ATTR, "authenticated")
    return Depends(check)


def caller() -> Any:
    """Like :func:`authenticated`, but a person in no team yet is let through as a :class:`User`.

    For ``GET me``: someone who just registered sees who they are, and no team.
    """

    async def check(conn: HTTPConnection) -> Principal | User:
        token, team = bearer_token(conn), conn.headers.get("x-conveyor-team")
        auth = services(conn).auth
        try:
            return await auth.authenticate(token, team=team)
        except PermissionDenied:
            if team is not None:
                raise
            user = await auth.authenticate_user(token)
            if (await auth.store.teams_of_user(user.id)) or user.is_superuser:
                raise
            return user

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
