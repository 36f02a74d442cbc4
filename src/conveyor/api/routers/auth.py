"""Sessions: log in for an access token and a rotating refresh token, refresh, log out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, status

from conveyor.api.deps import authenticated, public, services
from conveyor.api.errors import responses
from conveyor.api.models import LoginRequest, RefreshRequest, TokenResponse
from conveyor.auth.permissions import Principal
from conveyor.auth.service import TokenPair

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


def _tokens(pair: TokenPair) -> TokenResponse:
    return TokenResponse(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        expires_in=pair.expires_in,
    )


@router.post(
    "/login", dependencies=[public()], responses=responses(401, 413, 422), summary="Log in"
)
async def login(body: LoginRequest, request: Request) -> TokenResponse:
    """Email and password for an access token (JWT, short-lived) and a refresh token."""
    return _tokens(await services(request).auth.login(body.email, body.password))


@router.post(
    "/refresh",
    dependencies=[public()],
    responses=responses(401, 413, 422),
    summary="Trade a refresh token for new tokens",
)
async def refresh(body: RefreshRequest, request: Request) -> TokenResponse:
    """The refresh token is spent; presenting it again ends every session of that login."""
    return _tokens(await services(request).auth.refresh(body.refresh_token))


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(401, 403, 413, 422),
    summary="Log out",
)
async def logout(
    body: RefreshRequest, request: Request, principal: Annotated[Principal, authenticated()]
) -> None:
    """End the login the refresh token belongs to (its access tokens expire on their own)."""
    await services(request).auth.logout(body.refresh_token)
