"""API keys of a team: create (the secret is shown once), list, revoke."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Request, status

from conveyor.api.audit import audit_entry
from conveyor.api.deps import Services, require, services
from conveyor.api.errors import responses
from conveyor.api.models import KeyCreate, KeyList, KeyOut
from conveyor.auth.permissions import Principal
from conveyor.errors import NotFound

router = APIRouter(prefix="/api/v1/teams", tags=["keys"])

TeamRef = Annotated[str, Path(min_length=1, max_length=100, description="team id or slug")]


async def _check_team(svc: Services, principal: Principal, team: str) -> None:
    """The path names the team the request works in; any other is 404 (as if absent)."""
    if team == str(principal.team_id):
        return
    found = await svc.store.team_get(principal.team_id)
    if found is None or team != found.slug:
        raise NotFound(f"team {team[:100]!r} not found")


@router.post(
    "/{team}/keys",
    status_code=status.HTTP_201_CREATED,
    responses=responses(401, 403, 404, 413, 422),
    summary="Create an API key (its secret is in this answer only)",
)
async def create_key(
    team: TeamRef,
    body: KeyCreate,
    request: Request,
    principal: Annotated[Principal, require("keys:create", audit="keys.create")],
) -> KeyOut:
    """An agent key carries ``agent:connect``; a client key the scopes asked for, none
    beyond what its creator may do."""
    svc = services(request)
    await _check_team(svc, principal, team)
    key, secret = await svc.auth.create_key(
        principal,
        kind=body.kind,
        name=body.name,
        scopes=body.scopes or [],
        expires_at=body.expires_at,
        audit=audit_entry(request),
    )
    return KeyOut.of(key, secret)


@router.get("/{team}/keys", responses=responses(401, 403, 404, 422), summary="List API keys")
async def list_keys(
    team: TeamRef, request: Request, principal: Annotated[Principal, require("keys:read")]
) -> KeyList:
    svc = services(request)
    await _check_team(svc, principal, team)
    return KeyList(items=[KeyOut.of(k) for k in await svc.store.api_key_list(principal.team_id)])


@router.delete(
    "/{team}/keys/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(401, 403, 404, 422),
    summary="Revoke an API key",
)
async def revoke_key(
    team: TeamRef,
    key_id: uuid.UUID,
    request: Request,
    principal: Annotated[Principal, require("keys:read", audit="keys.revoke")],
) -> None:
    """With ``keys:revoke`` any key of the team; without it, only keys you created."""
    svc = services(request)
    await _check_team(svc, principal, team)
    await svc.auth.revoke_key(principal, key_id, audit=audit_entry(request, "api_key", key_id))
