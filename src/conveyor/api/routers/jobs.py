"""Jobs: submit (validated against the team's action catalog), list, read, cancel, retry.

A job is refused before it is enqueued when its action is unknown to the team or
its params fail the action's JSON Schema, so a bad job never reaches an agent.
Lists page with an opaque keyset cursor: inserting between pages gives no
duplicate and no gap.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, ValidationError, best_match
from referencing.exceptions import Unresolvable

from conveyor.api.audit import audit_entry
from conveyor.api.deps import require, services
from conveyor.api.errors import responses
from conveyor.api.models import (
    AttemptList,
    AttemptOut,
    JobBatchCreate,
    JobBatchOut,
    JobCreate,
    JobList,
    JobOut,
)
from conveyor.auth.permissions import Principal
from conveyor.errors import ConveyorError, InvalidInput, InvalidParams, PermissionDenied
from conveyor.store import JobSpec, Store
from conveyor.store.records import ActionVersion, Job

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])

SHELL_ACTION = "shell"
SHELL_PERMISSION = "jobs:create:shell"
"""The ad-hoc shell action runs any command: only an explicit grant allows it."""

_VALIDATOR_CACHE_SIZE = 1024
_validators: dict[str, Draft202012Validator] = {}


# submit


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses=responses(401, 403, 409, 413, 422),
    summary="Submit a job",
)
async def create_job(
    principal: Annotated[Principal, require("jobs:create", any_action=True, audit="jobs.create")],
    body: JobCreate,
    request: Request,
    response: Response,
) -> JobOut:
    """201 with the new job; 200 with the existing one when its idempotency key matched."""
    svc = services(request)
    store = svc.store
    specs = await _specs(request, principal, [body])
    [submitted] = await svc.hub.submit(principal.team_id, specs, audit=audit_entry(request))
    if not submitted.created:
        response.status_code = status.HTTP_200_OK
    return await job_out(store, principal.team_id, submitted.id)


@router.post(
    "/batch",
    status_code=status.HTTP_201_CREATED,
    responses=responses(401, 403, 409, 413, 422),
    summary="Submit several jobs at once",
)
async def create_jobs(
    principal: Annotated[
        Principal, require("jobs:create", any_action=True, audit="jobs.create_batch")
    ],
    body: JobBatchCreate,
    request: Request,
) -> JobBatchOut:
    """All jobs are validated first; then all are enqueued in one transaction, or none."""
    svc = services(request)
    store = svc.store
    specs = await _specs(request, principal, body.jobs)
    submitted = await svc.hub.submit(principal.team_id, specs, audit=audit_entry(request))
    found = await store.job_get_many(principal.team_id, [s.id for s in submitted])
    return JobBatchOut(items=await jobs_out(store, principal.team_id, found))


async def _specs(request: Request, principal: Principal, bodies: list[JobCreate]) -> list[JobSpec]:
    """Check permission, action and params of each job; errors name the job's index."""
    store = services(request).store
    versions: dict[str, ActionVersion | None] = {}
    specs = []
    for index, body in enumerate(bodies):
        try:
            if not _may_create(principal, body.action):
                raise PermissionDenied(
                    f"you need the `jobs:create:{body.action}` permission to run this action",
                    action=body.action,
                )
            if body.action not in versions:
                versions[body.action] = await store.action_latest(principal.team_id, body.action)
            version = versions[body.action]
            if version is None:
                raise InvalidInput(
                    f"unknown action {body.action!r}: no agent of this team has offered it",
                    action=body.action,
                )
            _validate_params(body.action, version, body.params)
            specs.append(_spec(body, version, principal, services(request).settings.lease_s))
        except ConveyorError as exc:
            if len(bodies) == 1:
                raise
            raise type(exc)(f"jobs[{index}]: {exc.message}", **exc.details, index=index) from None
    return specs


def _may_create(principal: Principal, action: str) -> bool:
    if action == SHELL_ACTION:
        return SHELL_PERMISSION in principal.permissions
    return principal.can(f"jobs:create:{action}")


def _spec(body: JobCreate, version: ActionVersion, principal: Principal, lease_s: float) -> JobSpec:
    """The job as the store takes it; the lease length is the server's (agents heartbeat to it)."""
    given: dict[str, Any] = {
        name: getattr(body, name)
        for name in body.model_fields_set - {"action", "params"}
        if getattr(body, name) is not None
    }
    return JobSpec(
        action=body.action,
        params=body.params,
        schema_hash=version.schema_hash,
        created_by=principal.user_id,
        lease_s=lease_s,
        **given,
    )


def _validator(version: ActionVersion) -> Draft202012Validator:
    """A compiled validator per schema version (the hash names the schema's content)."""
    found = _validators.get(version.schema_hash)
    if found is None:
        try:
            Draft202012Validator.check_schema(version.params_schema)
        except SchemaError as exc:
            raise InvalidInput(
                f"the action's params schema is not a valid JSON Schema ({exc.message}); "
                "fix the agent that offers it"
            ) from None
        found = Draft202012Validator(version.params_schema)
        if len(_validators) >= _VALIDATOR_CACHE_SIZE:
            _validators.pop(next(iter(_validators)))
        _validators[version.schema_hash] = found
    return found


def _validate_params(action: str, version: ActionVersion, params: Any) -> None:
    validator = _validator(version)
    try:
        error: ValidationError | None = best_match(validator.iter_errors(params))
    except Unresolvable as exc:
        raise InvalidInput(f"the action's params schema has an unresolvable $ref: {exc}") from None
    if error is None:
        return
    path = list(error.absolute_path)
    raise InvalidParams(
        f"params{_json_path(path)}: {error.message}",
        action=action,
        path=path,
        validator=str(error.validator),
        schema_hash=version.schema_hash,
    )


def _json_path(path: Iterable[str | int]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


# read


@router.get("", responses=responses(401, 403, 422), summary="List jobs, newest first")
async def list_jobs(
    principal: Annotated[Principal, require("jobs:read")],
    request: Request,
    state: Annotated[list[str] | None, Query(description="repeat or comma-separate")] = None,
    queue: str | None = None,
    action: str | None = None,
    agent_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
) -> JobList:
    states = [s for value in state for s in value.split(",") if s] if state else None
    page = await services(request).store.job_list(
        principal.team_id,
        states=states or None,
        queue=queue,
        action=action,
        agent_id=agent_id,
        limit=limit,
        cursor=decode_cursor(cursor) if cursor else None,
    )
    return JobList(
        items=await jobs_out(services(request).store, principal.team_id, page.items),
        next_cursor=encode_cursor(page.next_cursor) if page.next_cursor is not None else None,
    )


_CURSOR = re.compile(r"([a-z])([0-9]{1,19})")


def encode_cursor(seq: int, kind: str = "j") -> str:
    """Opaque to clients: they pass it back, never build it. ``kind`` names the list."""
    return base64.urlsafe_b64encode(f"{kind}{seq}".encode()).decode().rstrip("=")


def decode_cursor(text: str, kind: str = "j") -> int:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raw = ""
    match = _CURSOR.fullmatch(raw)
    if match is None or match[1] != kind:
        raise InvalidInput("cursor is not one this server gave out", field="cursor")
    return int(match[2])


@router.get("/{job_id}", responses=responses(401, 403, 404, 422), summary="Get a job")
async def get_job(
    job_id: uuid.UUID, request: Request, principal: Annotated[Principal, require("jobs:read")]
) -> JobOut:
    return await job_out(services(request).store, principal.team_id, job_id)


@router.get(
    "/{job_id}/attempts",
    responses=responses(401, 403, 404, 422),
    summary="Every attempt of a job: agent, start, end, outcome, error",
)
async def list_attempts(
    job_id: uuid.UUID, request: Request, principal: Annotated[Principal, require("jobs:read")]
) -> AttemptList:
    store = services(request).store
    await store.job_get(principal.team_id, job_id)  # 404 for a job of another team
    attempts = await store.attempt_list(principal.team_id, job_id)
    return AttemptList(items=[AttemptOut.of(a) for a in attempts])


# change


@router.post(
    "/{job_id}/cancel",
    responses=responses(401, 403, 404, 409, 422),
    summary="Cancel a job",
)
async def cancel_job(
    job_id: uuid.UUID,
    request: Request,
    principal: Annotated[Principal, require("jobs:cancel", audit="jobs.cancel")],
) -> JobOut:
    """A waiting job is cancelled at once; a running one is flagged and its agent told to stop
    (by whichever replica holds its connection, through the outbox).

    409 when the job already succeeded or died.
    """
    store = services(request).store
    await store.job_cancel(principal.team_id, [job_id], audit=audit_entry(request, "job", job_id))
    return await job_out(store, principal.team_id, job_id)


@router.post(
    "/{job_id}/retry",
    responses=responses(401, 403, 404, 409, 422),
    summary="Run a dead or cancelled job again",
)
async def retry_job(
    job_id: uuid.UUID,
    request: Request,
    principal: Annotated[Principal, require("jobs:retry", audit="jobs.retry")],
) -> JobOut:
    """The job gets a fresh set of attempts; 409 unless it is dead or cancelled."""
    store = services(request).store
    await store.job_retry(principal.team_id, [job_id], audit=audit_entry(request, "job", job_id))
    return await job_out(store, principal.team_id, job_id)


async def jobs_out(store: Store, team_id: uuid.UUID, found: list[Job]) -> list[JobOut]:
    """Jobs as the API shows them, each waiting one with its ``waiting_reason``."""
    reasons = await store.job_waiting_reasons(team_id, found)
    return [JobOut.of(job, reasons.get(job.id)) for job in found]


async def job_out(store: Store, team_id: uuid.UUID, job_id: uuid.UUID) -> JobOut:
    [job] = await jobs_out(store, team_id, [await store.job_get(team_id, job_id)])
    return job
