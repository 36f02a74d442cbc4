"""Job submission: the one entry point every caller uses to create jobs.

The HTTP routes, and later the scheduler's cron ticks, dependency release, fan-out,
broadcast and a webhook's test-send, all submit here, so a job is checked the same
way whoever asks: the caller may run the action (``shell`` only with its explicit
grant), the team's catalog knows the action, the params fit its JSON Schema, and
the store's limits and idempotency hold. Nothing is enqueued unless every job of a
batch passes. The jobs go through the dispatcher, so one for an idle agent of this
replica is claimed in the submit's own transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from conveyor import tracing
from conveyor.auth.permissions import Principal
from conveyor.engine.hub import AgentHub
from conveyor.engine.params_schema import validate_params
from conveyor.errors import ConveyorError, InvalidInput, PermissionDenied
from conveyor.store import AuditEntry, JobSpec, Store
from conveyor.store.records import ActionVersion, Submitted


@dataclass(frozen=True, slots=True)
class JobRequest:
    """One job a caller asks for; a field left None takes the server's default."""

    action: str
    params: Any = field(default_factory=dict)
    queue: str | None = None
    priority: int | None = None
    run_at: datetime | None = None
    max_attempts: int | None = None
    timeout_s: float | None = None
    cancel_grace_s: float | None = None
    labels: dict[str, str] | None = None
    idempotency_key: str | None = None
    concurrency_key: str | None = None
    concurrency_limit: int | None = None
    rate_key: str | None = None
    fair_key: str | None = None


_OPTIONS = tuple(f.name for f in fields(JobRequest) if f.name not in ("action", "params"))
"""The fields a request may leave to the defaults (the store's :class:`JobSpec` has them)."""


class Submission:
    """Checks job requests and enqueues them; the lease length is the server's."""

    def __init__(self, store: Store, hub: AgentHub, *, lease_s: float) -> None:
        self.store = store
        self.hub = hub
        self.lease_s = lease_s

    async def submit(
        self,
        caller: Principal,
        requests: Sequence[JobRequest],
        *,
        audit: AuditEntry | None = None,
    ) -> list[Submitted]:
        """Enqueue every job of ``requests`` in one transaction, or none.

        Raises the :class:`ConveyorError` of the first job refused; in a batch of
        several its message and details name that job's index. A job whose
        idempotency key matches an existing one with the same params comes back as
        that job (``created`` False).
        """
        if not tracing.enabled():
            specs = await self.specs(caller, requests)
            return await self.hub.submit(caller.team_id, specs, audit=audit)
        attributes: tracing.Attributes = {
            "conveyor.team_id": str(caller.team_id),
            "conveyor.jobs": len(requests),
        }
        with tracing.span("conveyor.submit", attributes=attributes) as span:
            specs = await self.specs(caller, requests)  # each carries this span's context
            submitted = await self.hub.submit(caller.team_id, specs, audit=audit)
            if span is not None and len(submitted) == 1:
                span.set_attribute("conveyor.job_id", str(submitted[0].id))
            return submitted

    async def specs(self, caller: Principal, requests: Sequence[JobRequest]) -> list[JobSpec]:
        """The jobs as the store takes them, every check of :meth:`submit` passed, nothing
        enqueued: for a caller that inserts them in a transaction of its own (a
        schedule's tick, with its tick row)."""
        versions: dict[str, ActionVersion | None] = {}
        specs = []
        for index, request in enumerate(requests):
            try:
                specs.append(await self._spec(caller, request, versions))
            except ConveyorError as exc:
                if len(requests) == 1:
                    raise
                raise type(exc)(
                    f"jobs[{index}]: {exc.message}", **exc.details, index=index
                ) from None
        return specs

    async def _spec(
        self,
        caller: Principal,
        request: JobRequest,
        versions: dict[str, ActionVersion | None],
    ) -> JobSpec:
        """The job as the store takes it, once the caller, the action and the params passed."""
        action = request.action
        if not caller.can_submit(action):
            raise PermissionDenied(
                f"you need the `jobs:create:{action}` permission to run this action",
                action=action,
            )
        if action not in versions:  # a batch looks each action up once
            versions[action] = await self.store.action_latest(caller.team_id, action)
        version = versions[action]
        if version is None:
            raise InvalidInput(
                f"unknown action {action!r}: no agent of this team has offered it", action=action
            )
        validate_params(action, version, request.params)
        given = {name: value for name in _OPTIONS if (value := getattr(request, name)) is not None}
        return JobSpec(
            action=action,
            params=request.params,
            schema_hash=version.schema_hash,
            created_by=caller.user_id,
            created_by_key=caller.key_id,
            lease_s=self.lease_s,
            traceparent=tracing.traceparent(),  # None while tracing is off
            **given,
        )
