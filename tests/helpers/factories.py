"""Small builders for tests: a claim request for an agent that runs everything."""

from __future__ import annotations

import uuid

from conveyor.store import ClaimRequest


def agent_request(
    limit: int = 10,
    *,
    actions: tuple[str, ...] = ("demo.echo",),
    queues: tuple[str, ...] = ("default",),
    labels: dict[str, str] | None = None,
    agent_id: uuid.UUID | None = None,
    versions: dict[str, list[str]] | None = None,
) -> ClaimRequest:
    offered = {a: [] for a in actions} if versions is None else versions
    return ClaimRequest(
        agent_id=agent_id or uuid.uuid4(),
        queues=list(queues),
        actions={k: list(v) for k, v in offered.items()},
        labels=labels or {},
        limit=limit,
    )
