"""The team's agents: who is connected, with what; drain one before maintenance."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Request

from conveyor.api.audit import audit_entry
from conveyor.api.deps import require, services
from conveyor.api.errors import responses
from conveyor.api.fleet_models import AgentList, AgentOut
from conveyor.auth.permissions import Principal

router = APIRouter(prefix="/api/v1/agents", tags=["agents"])


@router.get(
    "", operation_id="agents_list", responses=responses(401, 403), summary="List the team's agents"
)
async def list_agents(
    request: Request, principal: Annotated[Principal, require("agents:read")]
) -> AgentList:
    agents = await services(request).store.agent_list(principal.team_id)
    return AgentList(items=[AgentOut.of(a) for a in agents])


@router.post(
    "/{agent_id}/drain",
    operation_id="agents_drain",
    responses=responses(401, 403, 404, 422),
    summary="Drain an agent: it finishes its jobs and takes no new ones",
)
async def drain_agent(
    agent_id: uuid.UUID,
    request: Request,
    principal: Annotated[Principal, require("agents:manage", audit="agents.drain")],
) -> AgentOut:
    """Recorded in the store (a reconnect keeps it) and pushed to the agent by whichever
    replica holds its connection."""
    agent = await services(request).store.agent_set_draining(
        principal.team_id, agent_id, True, audit=audit_entry(request, "agent", agent_id)
    )
    return AgentOut.of(agent)
