"""The dispatch span: a job's claim for an agent, as a span of the job's own trace."""

from __future__ import annotations

import uuid

from conveyor import tracing
from conveyor.store.records import ClaimedJob


def dispatch_span(
    agent_id: uuid.UUID, agent_name: str, job: ClaimedJob, began_ns: int | None
) -> str | None:
    """Record a job's claim for an agent as a span of the job's trace (a new trace for
    a job submitted untraced); its context is what the agent's spans join."""
    attributes: tracing.Attributes = {
        "conveyor.job_id": str(job.id), "conveyor.action": job.action,
        "conveyor.queue": job.queue, "conveyor.attempt": job.attempt,
        "conveyor.agent_id": str(agent_id), "conveyor.agent": agent_name,
    }  # fmt: skip
    with tracing.span(
        "conveyor.dispatch", parent=job.traceparent, attributes=attributes, start_ns=began_ns
    ):
        return tracing.traceparent()
