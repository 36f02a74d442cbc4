"""The agents and the action catalog as the REST API shows them (the fleet's side of
the contract; jobs, logs and keys are in :mod:`conveyor.api.models`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from conveyor import bounds
from conveyor.store import records


class AgentOut(BaseModel):
    """An agent of the team: what it offers, how busy it is, where it runs."""

    id: uuid.UUID
    name: str
    labels: dict[str, str]
    slots: int
    slots_busy: int = Field(description="Jobs running on it now (of its slots)")
    version: str
    host: str = Field(description="The hostname it reported when it connected; empty if none")
    queues: list[str]
    actions: list[dict[str, Any]]
    connected: bool
    draining: bool
    connected_at: datetime | None
    last_seen_at: datetime | None
    disconnected_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, a: records.Agent) -> AgentOut:
        return cls(
            id=a.id,
            name=a.name,
            labels=a.labels,
            slots=a.slots,
            slots_busy=a.slots_busy,
            version=a.version,
            host=a.host,
            queues=a.queues,
            actions=a.actions,
            connected=a.connected,
            draining=a.draining,
            connected_at=a.connected_at,
            last_seen_at=a.last_seen_at,
            disconnected_at=a.disconnected_at,
            created_at=a.created_at,
        )


class AgentList(BaseModel):
    items: list[AgentOut]


class ActionVersionOut(BaseModel):
    schema_hash: str
    params_schema: dict[str, Any]
    last_seen_at: datetime


class ActionOut(BaseModel):
    """An action of the team's catalog: its schema versions (newest first) and who offers it."""

    name: str
    description: str = Field(
        description="What it does: the task's docstring (first paragraph) or the shell "
        "action's TOML description, as the most recently seen agent offered it"
    )
    versions: list[ActionVersionOut]
    agents: list[str]
    concurrency_limit: int | None = Field(
        default=None, description="At most this many of its jobs run at once; null: no limit"
    )

    @classmethod
    def of(cls, a: records.ActionInfo) -> ActionOut:
        return cls(
            name=a.name,
            description=a.description,
            versions=[
                ActionVersionOut(
                    schema_hash=v.schema_hash,
                    params_schema=v.params_schema,
                    last_seen_at=v.last_seen_at,
                )
                for v in a.versions
            ],
            agents=a.agents,
            concurrency_limit=a.concurrency_limit,
        )


class ActionPatch(BaseModel):
    """An action's settings: its concurrency limit (null lifts it)."""

    model_config = ConfigDict(extra="forbid")

    concurrency_limit: int | None = Field(ge=1, le=bounds.CONCURRENCY_LIMIT_MAX)


class ActionList(BaseModel):
    items: list[ActionOut]
