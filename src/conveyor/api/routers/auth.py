"""Sessions: log in for an access token and a rotating refresh token, refresh, log out.

A browser asks for its refresh token in a cookie (``"cookie": true`` at login): HttpOnly,
so no script reads it; SameSite=Strict and scoped to ``/api/v1/auth``, so it is sent only
to these routes and only by pages of this site. Refresh and logout by cookie also need
the header ``X-Conveyor-CSRF: 1``: a cross-site page can only send such a header after a
CORS preflight, which this server never grants. See docs/web.md.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response, status

from conveyor.api.audit import audit_entry
from conveyor.api.client_addr import came_over_https, client_address
from conveyor.api.deps import authenticated, bearer_token, public, services
from conveyor.api.errors import error_answer, responses
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
from conveyor.errors import NotFound, PermissionDenied, Unauthenticated

PREFIX = "/api/v1/auth"
router = APIRouter(prefix=PREFIX, tags=["auth"])

REFRESH_COOKIE = "conveyor_refresh"
CSRF_HEADER = "X-Conveyor-CSRF"


def _tokens(pair: TokenPair, *, in_cookie: bool = False) -> TokenResponse:
    return TokenResponse(
        access_token=pair.access_token,
        refresh_token=None if in_cookie else pair.refresh_token,
        expires_in=pair.expires_in,
    )


def _set_cookie(response: Response, request: Request, refresh_token: str | None) -> None:
    """Set the refresh cookie (``None``: clear it): HttpOnly, SameSite=Strict, sent only to
    these routes, Secure when the browser came over HTTPS."""
    svc = services(request)
    response.set_cookie(
        REFRESH_COOKIE,
        refresh_token or "",
        max_age=svc.auth.settings.refresh_ttl_s if refresh_token else 0,
        expires=None if refresh_token else 0,
        path=request.scope.get("root_path", "") + PREFIX,
        secure=came_over_https(request, svc.settings.trusted_proxies),
        httponly=True,
        samesite="strict",
    )


def _clear_cookie(response: Response, request: Request) -> None:
    _set_cookie(response, request, None)


def _cookie_token(request: Request) -> str:
    """The refresh token of the browser's cookie ("" when none); 403 without the CSRF header."""
    if request.headers.get(CSRF_HEADER) != "1":
        raise PermissionDenied(
            f"a refresh token kept in the browser's cookie needs the header {CSRF_HEADER}: 1"
        )
    return request.cookies.get(REFRESH_COOKIE, "")


def _refused(request: Request, exc: Unauthenticated | NotFound) -> Response:
    """The error answer, clearing a cookie that holds no usable refresh token."""
    answer = error_answer(request, exc)
    _clear_cookie(answer, request)
    return answer


@router.post(
    "/login",
    operation_id="auth_login",
    dependencies=[public()],
    responses=responses(401, 413, 422, 429),
    summary="Log in",
)
async def login(body: LoginRequest, request: Request, response: Response) -> TokenResponse:
    """Email and password for an access token (JWT, short-lived) and a refresh token.

    With ``"cookie": true`` the refresh token is set as the HttpOnly cookie
    ``conveyor_refresh`` instead of being in the answer."""
    svc = services(request)
    client = client_address(request, svc.settings.trusted_proxies)
    pair = await svc.auth.login(body.email, body.password, client=client)
    if body.cookie:
        _set_cookie(response, request, pair.refresh_token)
    return _tokens(pair, in_cookie=body.cookie)


@router.post(
    "/refresh",
    operation_id="auth_refresh",
    dependencies=[public()],
    response_model=TokenResponse,
    responses=responses(401, 403, 413, 422),
    summary="Trade a refresh token for new tokens",
)
async def refresh(body: RefreshRequest, request: Request, response: Response) -> object:
    """The refresh token is spent; presenting it again ends every session of that login.

    Without ``refresh_token`` in the body, the ``conveyor_refresh`` cookie is traded
    (403 unless the header ``X-Conveyor-CSRF: 1`` is sent) and its successor is set as
    the cookie; a refused cookie is cleared (401)."""
    auth = services(request).auth
    if body.refresh_token is not None:
        return _tokens(await auth.refresh(body.refresh_token))
    token = _cookie_token(request)
    try:
        pair = await auth.refresh(token)
    except Unauthenticated as exc:
        return _refused(request, exc)
    _set_cookie(response, request, pair.refresh_token)
    return _tokens(pair, in_cookie=True)


@router.post(
    "/logout",
    operation_id="auth_logout",
    status_code=status.HTTP_204_NO_CONTENT,
    response_model=None,
    responses=responses(401, 403, 404, 413, 422),
    summary="Log out",
)
async def logout(
    body: RefreshRequest,
    request: Request,
    response: Response,
    principal: Annotated[Principal, authenticated(audit="auth.logout")],
) -> Response | None:
    """End the login the refresh token belongs to (its access tokens expire on their own);
    404 when the token is not one of the caller's.

    Without ``refresh_token`` in the body, the ``conveyor_refresh`` cookie's login ends
    (403 unless the header ``X-Conveyor-CSRF: 1`` is sent) and the cookie is cleared."""
    if principal.user_id is None:
        raise PermissionDenied("log out with the access token of the login to end")
    in_cookie = body.refresh_token is None
    token = _cookie_token(request) if body.refresh_token is None else body.refresh_token
    try:
        await services(request).auth.logout(
            token,
            user_id=principal.user_id,
            audit=audit_entry(request, "user", principal.user_id),
        )
    except NotFound as exc:
        if in_cookie:
            return _refused(request, exc)
        raise
    if in_cookie:
        _clear_cookie(response, request)
    return None


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
