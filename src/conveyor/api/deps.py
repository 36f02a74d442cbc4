"""What every route depends on: the server's services and one permission check.

Every HTTP and WebSocket route declares its permission with :func:`require` (or
:func:`public` for login, health and metrics); ``tests/api`` walks ``app.routes``
and fails on a route that declares neither.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import Depends
from fastapi.dependencies.models import Dependant
from starlette.requests import HTTPConnection

from conveyor.api.audit import open_audit
from conveyor.api.signed import SIGNED_PARAM, resource_of
from conveyor.auth.permissions import Principal
from conveyor.errors import NotFound, PermissionDenied, Unauthenticated
from conveyor.settings import ServerSettings

if TYPE_CHECKING:
    from conveyor.api.blobs import BlobStore
    from conveyor.auth.service import AuthService
    from conveyor.auth.teams import TeamService
    from conveyor.engine import AgentHub, Engine, Schedules, Submission
    from conveyor.store import Store
    from conveyor.store.records import User

PERMISSION_ATTR = "__conveyor_permission__"
"""Set on every dependency made here; the route-walking test looks for it."""
CREDENTIAL_KEY = "conveyor_credential"
AUDIT_ATTR = "__conveyor_audit__"
"""The audit action a route's dependency declares (None: not audited)."""
SIGNED_ATTR = "__conveyor_signed__"
"""The signed-URL purpose a route's dependency accepts instead of a bearer header."""


@dataclass
class Services:
    """The long-lived parts one server process shares between requests."""

    settings: ServerSettings
    store: Store
    auth: AuthService
    teams: TeamService
    engine: Engine
    hub: AgentHub
    submission: Submission  # every job is created through it
    schedules: Schedules  # cron schedules: saving (checked) and firing
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


def require(
    permission: str,
    *,
    any_action: bool = False,
    audit: str | None = None,
    signed: str | None = None,
) -> Any:
    """Authenticate the caller and check ``permission`` in their current team.

    With ``any_action`` a per-action grant (``jobs:create:<action>``) satisfies
    ``jobs:create``; the route then checks the exact action itself. ``audit``
    names the action a state-changing route records in the audit log. ``signed``
    (a purpose) lets a signed URL's ``?token=`` stand in for the bearer header,
    for the one resource it was issued for.
    """

    async def check(conn: HTTPConnection) -> Principal:
        svc = services(conn)
        principal = await _authenticate(svc, conn, signed)
        if audit is not None:
            open_audit(conn, audit, principal, svc.settings.trusted_proxies)
        allowed = principal.can(permission) or (
            any_action and any(p.startswith(permission + ":") for p in principal.permissions)
        )
        if not allowed:
            raise PermissionDenied(f"you need the `{permission}` permission for this")
        return principal

    setattr(check, SIGNED_ATTR, signed)
    return _declare(check, permission, audit)


TEAM_PATH_PARAM = "team"
"""Routes under ``/teams/{team}`` work in the team their path names, whatever the header says."""


def require_team(permission: str | None, *, audit: str | None = None) -> Any:
    """Like :func:`require`, in the team the path names (id or slug); ``None``: any member.

    Someone who is not a member is answered 404, as if the team did not exist.
    """

    async def check(conn: HTTPConnection) -> Principal:
        team = conn.path_params[TEAM_PATH_PARAM]
        svc = services(conn)
        try:
            principal = await svc.auth.authenticate(bearer_token(conn), team=team)
        except PermissionDenied:
            raise NotFound(f"team {team[:100]!r} not found") from None
        if audit is not None:
            open_audit(conn, audit, principal, svc.settings.trusted_proxies)
        if permission is not None and not principal.can(permission):
            raise PermissionDenied(f"you need the `{permission}` permission for this")
        return principal

    return _declare(check, permission or "team member", audit)


def signed_in(*, audit: str | None = None) -> Any:
    """A person's valid login, with or without a team (creating and joining teams).

    An audited route records the person as its actor, in the team it names with
    :func:`~conveyor.api.audit.audit_team` (or that its write returns).
    """

    async def check(conn: HTTPConnection) -> User:
        svc = services(conn)
        user = await svc.auth.authenticate_user(bearer_token(conn))
        if audit is not None:
            open_audit(conn, audit, None, svc.settings.trusted_proxies, user=user)
        return user

    return _declare(check, "signed in", audit)


@dataclass(frozen=True, slots=True)
class Credential:
    """How a request authenticated, so a long-lived stream can check it again."""

    bearer: str | None
    team: str | None
    signed_user: uuid.UUID | None = None
    signed_team: uuid.UUID | None = None
    signed_epoch: int | None = None


async def _authenticate(svc: Services, conn: HTTPConnection, signed: str | None) -> Principal:
    token = conn.query_params.get(SIGNED_PARAM) if signed is not None else None
    if signed is not None and token is not None and "authorization" not in conn.headers:
        resource = resource_of(conn.url.path, conn.query_params, signed)
        principal = await svc.auth.authenticate_signed(token, signed, resource)
        credential = Credential(
            None, None, principal.user_id, principal.team_id, principal.credentials_epoch
        )
    else:
        bearer, team = bearer_token(conn), conn.headers.get("x-conveyor-team")
        principal = await svc.auth.authenticate(bearer, team=team)
        credential = Credential(bearer, team)
    setattr(conn.state, CREDENTIAL_KEY, credential)
    return principal


async def reauthenticate(svc: Services, conn: HTTPConnection) -> Principal:
    """The request's principal as of now (:class:`ConveyorError` once it is refused)."""
    credential: Credential = getattr(conn.state, CREDENTIAL_KEY)
    if credential.signed_user is not None and credential.signed_team is not None:
        return await svc.auth.principal_for_user(
            credential.signed_user, credential.signed_team, epoch=credential.signed_epoch
        )
    return await svc.auth.authenticate(credential.bearer or "", team=credential.team)


def authenticated(*, audit: str | None = None) -> Any:
    """Any valid credential, whatever it may do: for routes about the caller itself."""

    async def check(conn: HTTPConnection) -> Principal:
        svc = services(conn)
        principal = await svc.auth.authenticate(
            bearer_token(conn), team=conn.headers.get("x-conveyor-team")
        )
        if audit is not None:
            open_audit(conn, audit, principal, svc.settings.trusted_proxies)
        return principal

    return _declare(check, "authenticated", audit)


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


def public(*, audit: str | None = None) -> Any:
    """Mark a route as open to anyone (login, health, metrics): a deliberate choice.

    An audited public route (registration) names its actor when it succeeds.
    """

    async def open_route(conn: HTTPConnection) -> None:
        if audit is not None:
            open_audit(conn, audit, None, services(conn).settings.trusted_proxies)

    return _declare(open_route, "public", audit)


def _declare(call: Callable[..., Awaitable[Any]], permission: str, audit: str | None) -> Any:
    setattr(call, PERMISSION_ATTR, permission)
    setattr(call, AUDIT_ATTR, audit)
    return Depends(call)


def declared_permission(call: Callable[..., Awaitable[Any]] | Any) -> str | None:
    value = getattr(call, PERMISSION_ATTR, None)
    return value if isinstance(value, str) else None


def declared_audit(call: Callable[..., Awaitable[Any]] | Any) -> str | None:
    value = getattr(call, AUDIT_ATTR, None)
    return value if isinstance(value, str) else None


def route_permissions(dependant: Dependant) -> list[str]:
    """Every permission a route's dependencies declare, nested ones included."""
    return [p for call in _calls(dependant) if (p := declared_permission(call)) is not None]


def route_accepts_signed_url(dependant: Dependant) -> bool:
    """Whether a signed URL's ``?token=`` may stand in for the route's bearer header."""
    return any(getattr(call, SIGNED_ATTR, None) is not None for call in _calls(dependant))


def _calls(dependant: Dependant) -> list[Any]:
    found = []
    stack = list(dependant.dependencies)
    while stack:
        inner = stack.pop()
        found.append(inner.call)
        stack.extend(inner.dependencies)
    return found
