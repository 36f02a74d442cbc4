"""Sessions: log in for an access token and a rotating refresh token, refresh, log out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, status

from conveyor.api.audit import audit_entry
from conveyor.api.client_addr import client_address
from conveyor.api.deps import authenticated, bearer_token, public, services
from conveyor.api.errors import responses
from conveyor.api.models import (
    LoginRequest,
    MeResponse,
    PasswordChange,
    RefreshRequest,
    RegisterRequest,
    TeamOut,
    TokenResponse,
    UserOut,
)
from conveyor.auth.permissions import Principal, role_permissions
from conveyor.auth.service import TokenPair
from conveyor.errors import PermissionDenied

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


def _tokens(pair: TokenPair) -> TokenResponse:
    return TokenResponse(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        expires_in=pair.expires_in,
    )


@router.post(
    "/login",
    operation_id="auth_login",
    dependencies=[public()],
    responses=responses(401, 413, 422, 429),
    summary="Log in",
)
async def login(body: LoginRequest, request: Request) -> TokenResponse:
    """Email and password for an access token (JWT, short-lived) and a refresh token."""
    svc = services(request)
    client = client_address(request, svc.settings.trusted_proxies)
    return _tokens(await svc.auth.login(body.email, body.password, client=client))


@router.post(
    "/refresh",
    operation_id="auth_refresh",
    dependencies=[public()],
    responses=responses(401, 413, 422),
    summary="Trade a refresh token for new tokens",
)
async def refresh(body: RefreshRequest, request: Request) -> TokenResponse:
    """The refresh token is spent; presenting it again ends every session of that login."""
    return _tokens(await services(request).auth.refresh(body.refresh_token))


@router.post(
    "/logout",
    operation_id="auth_logout",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(401, 403, 404, 413, 422),
    summary="Log out",
)
async def logout(
    body: RefreshRequest,
    request: Request,
    principal: Annotated[Principal, authenticated(audit="auth.logout")],
) -> None:
    """End the login the refresh token belongs to (its access tokens expire on their own);
    404 when the token is not one of the caller's."""
    if principal.user_id is None:
        raise PermissionDenied("log out with the access token of the login to end")
    await services(request).auth.logout(
        body.refresh_token,
        user_id=principal.user_id,
        audit=audit_entry(request, "user", principal.user_id),
    )


@router.post(
    "/register",
    operation_id="auth_register",
    status_code=status.HTTP_201_CREATED,
    dependencies=[public(audit="auth.register")],
    responses=responses(403, 409, 413, 422),
    summary="Create an account (when registration is open)",
)
async def register(body: RegisterRequest, request: Request) -> MeResponse:
    """A new user with a team of their own, which they own; log in next. 403 unless the
    server runs with ``CONVEYOR_REGISTRATION=open``; 409 when the email is taken."""
    user, team_id = await services(request).auth.register(
        body.email, body.password, display_name=body.display_name, audit=audit_entry(request)
    )
    team = await services(request).store.team_get(team_id)
    assert team is not None
    owner = sorted(role_permissions("owner"))
    mine = TeamOut(id=team.id, slug=team.slug, name=team.name, role="owner", permissions=owner)
    return MeResponse(
        kind="user",
        user=UserOut(id=user.id, email=user.email, display_name=user.display_name,
                     is_superuser=user.is_superuser),
        key_id=None, team_id=team.id, team=mine, permissions=owner,
        teams=[mine],
    )  # fmt: skip


@router.post(
    "/password",
    operation_id="auth_password_change",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(401, 403, 413, 422, 429),
    summary="Change your password",
)
async def change_password(
    body: PasswordChange,
    request: Request,
    principal: Annotated[Principal, authenticated(audit="auth.password")],
) -> None:
    """Needs the current password (403 when wrong; failures count like failed logins).
    Every other login of yours ends; this one goes on."""
    await services(request).auth.change_password(
        principal,
        bearer_token(request),
        body.current_password,
        body.new_password,
        audit=audit_entry(request, "user", principal.user_id),
    )
