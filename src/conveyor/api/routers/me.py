"""``GET /api/v1/me``: who the caller is, the team the request works in, what it may do.

``teams`` lists every team of a person with their role and permissions there, so a
UI shows only what they may do in each. A person in no team yet gets an answer too
(no team, no permissions), so they can go on to create or join one.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Request, status

from conveyor.api.audit import audit_entry, audit_team
from conveyor.api.deps import caller, services, signed_in
from conveyor.api.errors import responses
from conveyor.api.models import MeResponse, SessionRequest, TeamOut, TokenResponse, UserOut
from conveyor.api.routers.teams import team_out
from conveyor.auth.permissions import Principal
from conveyor.store.records import User

router = APIRouter(prefix="/api/v1", tags=["me"])


def _user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id, email=user.email, display_name=user.display_name, is_superuser=user.is_superuser
    )


@router.get("/me", operation_id="me_read", responses=responses(401, 403, 404), summary="Who am I")
async def me(request: Request, who: Annotated[Principal | User, caller()]) -> MeResponse:
    store = services(request).store
    if isinstance(who, User):
        return MeResponse(
            kind="user", user=_user_out(who), key_id=None, team_id=None, team=None,
            permissions=[], teams=[],
        )  # fmt: skip
    principal = who
    team = await store.team_get(principal.team_id)
    user = await store.user_get(principal.user_id) if principal.user_id is not None else None
    memberships = await store.teams_of_user(user.id) if user is not None else []
    role = next((m.role for m in memberships if m.team_id == principal.team_id), None)
    here = None
    if team is not None:
        here = TeamOut(
            id=team.id,
            slug=team.slug,
            name=team.name,
            role=role,
            permissions=sorted(principal.permissions),
        )
    return MeResponse(
        kind=principal.kind,
        user=_user_out(user) if user is not None else None,
        key_id=principal.key_id,
        team_id=principal.team_id,
        team=here,
        permissions=sorted(principal.permissions),
        teams=[team_out(m, superuser=user is not None and user.is_superuser) for m in memberships],
    )


@router.post(
    "/me/sessions",
    operation_id="me_sessions_create",
    status_code=status.HTTP_201_CREATED,
    responses=responses(401, 403, 413, 422),
    summary="Start a second login of yours (e.g. for an agent run with your login)",
)
async def new_session(
    body: SessionRequest,
    request: Request,
    user: Annotated[User, signed_in(audit="auth.session")],
) -> TokenResponse:
    """Needs your access token and a live refresh token of yours; the new login rotates its
    refresh tokens on its own, so an agent and your CLI never spend each other's.

    Audited in the team the request names (``X-Conveyor-Team``), else your default
    team; someone in no team yet has no team log to write to (their row has none)."""
    svc = services(request)
    audit_team(request, await _session_team(request, user))
    entry = audit_entry(request, "user", user.id)
    pair = await svc.auth.new_session(user, body.refresh_token, audit=entry)
    return TokenResponse(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        token_type="bearer",
        expires_in=pair.expires_in,
    )


async def _session_team(request: Request, user: User) -> uuid.UUID | None:
    """The team of the caller's that ``X-Conveyor-Team`` names (id or slug), else their first."""
    memberships = await services(request).store.teams_of_user(user.id)
    wanted = request.headers.get("x-conveyor-team")
    for membership in memberships:
        if wanted in (str(membership.team_id), membership.slug):
            return membership.team_id
    return memberships[0].team_id if memberships else None
