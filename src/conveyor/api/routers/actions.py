"""The team's action catalog: what its agents offer, with each params schema version;
an action's concurrency limit (docs/flow-control.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from conveyor import bounds
from conveyor.api.audit import audit_entry
from conveyor.api.deps import require, services
from conveyor.api.errors import responses
from conveyor.api.fleet_models import ActionList, ActionOut, ActionPatch
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


ActionName = Annotated[bounds.Name, Path(min_length=1, max_length=bounds.NAME_MAX)]


@router.patch(
    "/{name}",
    operation_id="actions_update",
    responses=responses(401, 403, 404, 413, 422),
    summary="Limit how many jobs of an action run at once",
)
async def update_action(
    name: ActionName,
    body: ActionPatch,
    request: Request,
    principal: Annotated[Principal, require("actions:manage", audit="actions.update")],
) -> ActionOut:
    """At most ``concurrency_limit`` jobs of the action run at once across the team's
    agents; the others wait (waiting reason ``concurrency_limit``). Null lifts it. 404
    for an action no agent of the team has offered."""
    store = services(request).store
    await store.action_set_limit(
        principal.team_id, name, body.concurrency_limit,
        audit=audit_entry(request, "action", name, concurrency_limit=body.concurrency_limit),
    )  # fmt: skip
    found = await store.action_list(principal.team_id)
    return next(ActionOut.of(a) for a in found if a.name == name)
