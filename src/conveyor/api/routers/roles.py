"""A team's roles: the built-in ones (read-only) and its custom ones (create, change, delete)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Request, status

from conveyor.api.audit import audit_entry
from conveyor.api.deps import services
from conveyor.api.errors import responses
from conveyor.api.routers.teams import ReadMembers, TeamRef, manage_members
from conveyor.api.team_models import RoleCreate, RoleList, RoleOut, RolePatch
from conveyor.auth.permissions import ROLES, Principal

router = APIRouter(prefix="/api/v1/teams", tags=["roles"])

BUILTIN_DESCRIPTIONS = {
    "owner": "everything, including the team itself and its ownership",
    "admin": "everything but the team itself",
    "operator": "submit, cancel and retry jobs, run agents, manage schedules, create keys",
    "viewer": "read jobs, actions, agents, queues, schedules and members",
}


def _builtin() -> list[RoleOut]:
    return [
        RoleOut(
            id=None,
            name=name,
            description=BUILTIN_DESCRIPTIONS[name],
            permissions=sorted(granted),
            builtin=True,
        )
        for name, granted in ROLES.items()
    ]


@router.get(
    "/{team}/roles",
    operation_id="roles_list",
    responses=responses(401, 403, 404, 422),
    summary="List roles",
)
async def list_roles(team: TeamRef, request: Request, principal: ReadMembers) -> RoleList:
    custom = await services(request).store.role_list(principal.team_id)
    return RoleList(items=_builtin() + [RoleOut.of(r) for r in custom])


@router.post(
    "/{team}/roles",
    operation_id="roles_create",
    status_code=status.HTTP_201_CREATED,
    responses=responses(401, 403, 404, 409, 413, 422),
    summary="Create a custom role",
)
async def create_role(
    team: TeamRef,
    body: RoleCreate,
    request: Request,
    principal: Annotated[Principal, manage_members("teams.role_create")],
) -> RoleOut:
    """Permissions are ``resource:verb`` or ``jobs:create:<action>``; none beyond yours."""
    role = await services(request).teams.create_role(
        principal, body.name, body.description, body.permissions, audit=audit_entry(request)
    )
    return RoleOut.of(role)


@router.get(
    "/{team}/roles/{role_id}",
    operation_id="roles_read",
    responses=responses(401, 403, 404, 422),
    summary="Get a role",
)
async def get_role(
    team: TeamRef, role_id: uuid.UUID, request: Request, principal: ReadMembers
) -> RoleOut:
    return RoleOut.of(await services(request).store.role_get(principal.team_id, role_id))


@router.patch(
    "/{team}/roles/{role_id}",
    operation_id="roles_update",
    responses=responses(401, 403, 404, 409, 413, 422),
    summary="Change a custom role (a new name follows to its members)",
)
async def update_role(
    team: TeamRef,
    role_id: uuid.UUID,
    body: RolePatch,
    request: Request,
    principal: Annotated[Principal, manage_members("teams.role_update")],
) -> RoleOut:
    role = await services(request).teams.update_role(
        principal,
        role_id,
        name=body.name,
        description=body.description,
        permissions=body.permissions,
        audit=audit_entry(request, "role", role_id),
    )
    return RoleOut.of(role)


@router.delete(
    "/{team}/roles/{role_id}",
    operation_id="roles_delete",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(401, 403, 404, 409, 422),
    summary="Delete a custom role no member holds",
)
async def delete_role(
    team: TeamRef,
    role_id: uuid.UUID,
    request: Request,
    principal: Annotated[Principal, manage_members("teams.role_delete")],
) -> None:
    entry = audit_entry(request, "role", role_id)
    await services(request).teams.delete_role(principal, role_id, audit=entry)
