"""API keys of a team: create (the secret is shown once), list, revoke."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Request, status

from conveyor.api.audit import audit_entry
from conveyor.api.deps import require_team, services
from conveyor.api.errors import responses
from conveyor.api.models import KeyCreate, KeyList, KeyOut
from conveyor.api.routers.teams import TeamRef
from conveyor.auth.permissions import Principal

router = APIRouter(prefix="/api/v1/teams", tags=["keys"])


@router.post(
    "/{team}/keys",
    operation_id="keys_create",
    status_code=status.HTTP_201_CREATED,
    responses=responses(401, 403, 404, 413, 422),
    summary="Create an API key (its secret is in this answer only)",
)
async def create_key(
    team: TeamRef,
    body: KeyCreate,
    request: Request,
    principal: Annotated[Principal, require_team("keys:create", audit="keys.create")],
) -> KeyOut:
    """An agent key carries ``agent:connect``; a client key the scopes asked for, none
    beyond what its creator may do."""
    svc = services(request)
    key, secret = await svc.auth.create_key(
        principal,
        kind=body.kind,
        name=body.name,
        scopes=body.scopes or [],
        expires_at=body.expires_at,
        client_cert_cn=body.client_cert_cn,
        actions=body.actions,
        labels=body.labels,
        audit=audit_entry(request),
    )
    return KeyOut.of(key, secret)


@router.get(
    "/{team}/keys",
    operation_id="keys_list",
    responses=responses(401, 403, 404, 422),
    summary="List API keys",
)
async def list_keys(
    team: TeamRef, request: Request, principal: Annotated[Principal, require_team("keys:read")]
) -> KeyList:
    svc = services(request)
    return KeyList(items=[KeyOut.of(k) for k in await svc.store.api_key_list(principal.team_id)])


@router.delete(
    "/{team}/keys/{key_id}",
    operation_id="keys_revoke",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(401, 403, 404, 422),
    summary="Revoke an API key",
)
async def revoke_key(
    team: TeamRef,
    key_id: uuid.UUID,
    request: Request,
    principal: Annotated[Principal, require_team("keys:read", audit="keys.revoke")],
) -> None:
    """With ``keys:revoke`` any key of the team; without it, only keys you created."""
    svc = services(request)
    await svc.auth.revoke_key(principal, key_id, audit=audit_entry(request, "api_key", key_id))
