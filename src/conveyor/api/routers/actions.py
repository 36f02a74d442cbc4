"""The team's action catalog: what its agents offer, with each params schema version."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request

from conveyor.api.deps import require, services
from conveyor.api.errors import responses
from conveyor.api.fleet_models import ActionList, ActionOut
from conveyor.auth.permissions import Principal

router = APIRouter(prefix="/api/v1/actions", tags=["actions"])


@router.get(
    "",
    operation_id="actions_list",
    responses=responses(401, 403),
    summary="List the actions agents offer",
)
async def list_actions(
    request: Request, principal: Annotated[Principal, require("actions:read")]
) -> ActionList:
    """Kept after agents leave, so a job can be submitted while none is online."""
    actions = await services(request).store.action_list(principal.team_id)
    return ActionList(items=[ActionOut.of(a) for a in actions])
