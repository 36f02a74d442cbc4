"""``GET /api/v1/me``: who the caller is, the team the request works in, what it may do."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request

from conveyor.api.deps import authenticated, services
from conveyor.api.errors import responses
from conveyor.api.models import MeResponse, TeamOut, UserOut
from conveyor.auth.permissions import Principal

router = APIRouter(prefix="/api/v1", tags=["auth"])


@router.get("/me", responses=responses(401, 403, 404), summary="Who am I")
async def me(request: Request, principal: Annotated[Principal, authenticated()]) -> MeResponse:
    store = services(request).store
    team = await store.team_get(principal.team_id)
    user = await store.user_get(principal.user_id) if principal.user_id is not None else None
    memberships = await store.teams_of_user(user.id) if user is not None else []
    role = next((m.role for m in memberships if m.team_id == principal.team_id), None)
    return MeResponse(
        kind=principal.kind,
        user=UserOut(
            id=user.id,
            email=user.email,
            display_name=user.display_name,
            is_superuser=user.is_superuser,
        )
        if user is not None
        else None,
        key_id=principal.key_id,
        team_id=principal.team_id,
        team=TeamOut(id=team.id, slug=team.slug, name=team.name, role=role)
        if team is not None
        else None,
        permissions=sorted(principal.permissions),
        teams=[TeamOut(id=m.team_id, slug=m.slug, name=m.name, role=m.role) for m in memberships],
    )
