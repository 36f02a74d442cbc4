"""Jobs: submit (validated against the team's action catalog), list, read, cancel, retry
(one job, or many at once).

Submitting is the engine's :class:`~conveyor.engine.Submission` (catalog, params,
permissions per action, defaults, idempotency): these routes only translate HTTP.
Lists page with an opaque keyset cursor: inserting between pages gives no
duplicate and no gap.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status

from conveyor import bounds
from conveyor.api.audit import audit_entry
from conveyor.api.deps import require, services
from conveyor.api.errors import responses
from conveyor.api.job_filter_models import (
    CREATED_AFTER,
    CREATED_BEFORE,
    Instant,
    JobBulkOut,
    JobBulkRequest,
    JobFilter,
    Q,
    SearchText,
    parse_states,
)
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
from conveyor.bounds import Name
from conveyor.engine import JobRequest
from conveyor.errors import InvalidInput
from conveyor.store import Store
from conveyor.store.records import BulkChange, Job

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])


# submit


@router.post(
    "",
    operation_id="jobs_create",
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
    [submitted] = await svc.submission.submit(
        principal, [job_request(body)], audit=audit_entry(request)
    )
    if not submitted.created:
        response.status_code = status.HTTP_200_OK
    return await job_out(svc.store, principal.team_id, submitted.id)


@router.post(
    "/batch",
    operation_id="jobs_create_batch",
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
    submitted = await svc.submission.submit(
        principal, [job_request(job) for job in body.jobs], audit=audit_entry(request)
    )
    found = await svc.store.job_get_many(principal.team_id, [s.id for s in submitted])
    return JobBatchOut(items=await jobs_out(svc.store, principal.team_id, found))


def job_request(body: JobCreate) -> JobRequest:
    """The body as the submission service takes it; what the client left out stays None."""
    return JobRequest(**{name: getattr(body, name) for name in body.model_fields_set})


# read


@router.get(
    "",
    operation_id="jobs_list",
    responses=responses(401, 403, 422),
    summary="List jobs, newest first",
)
async def list_jobs(
    principal: Annotated[Principal, require("jobs:read")],
    request: Request,
    state: Annotated[
        list[Annotated[Name, Query(max_length=100)]] | None,
        Query(max_length=20, description="repeat or comma-separate"),
    ] = None,
    queue: Annotated[Name | None, Query(max_length=bounds.NAME_MAX)] = None,
    action: Annotated[Name | None, Query(max_length=bounds.NAME_MAX)] = None,
    agent_id: uuid.UUID | None = None,
    created_after: Annotated[Instant | None, Query(description=CREATED_AFTER)] = None,
    created_before: Annotated[Instant | None, Query(description=CREATED_BEFORE)] = None,
    q: Annotated[SearchText | None, Query(max_length=bounds.SEARCH_MAX, description=Q)] = None,
    schedule_id: Annotated[
        uuid.UUID | None, Query(description="only the jobs this schedule's ticks made")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
) -> JobList:
    where = JobFilter.model_construct(
        state=parse_states(state), queue=queue, action=action, agent_id=agent_id,
        created_after=created_after, created_before=created_before, q=q,
        schedule_id=schedule_id,
    )  # fmt: skip  # each field is checked above, as the model would
    page = await services(request).store.job_list(
        principal.team_id,
        where=where.for_store(),
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
    if match is None or match[1] != kind or int(match[2]) > bounds.INT64_MAX:
        raise InvalidInput("cursor is not one this server gave out", field="cursor")
    return int(match[2])


# change many


@router.post(
    "/cancel",
    operation_id="jobs_cancel_many",
    responses=responses(401, 403, 422),
    summary="Cancel many jobs: by ids, or every job a filter matches",
)
async def cancel_jobs(
    body: JobBulkRequest,
    request: Request,
    principal: Annotated[Principal, require("jobs:cancel", audit="jobs.cancel_many")],
) -> JobBulkOut:
    """Each job as ``POST /jobs/{id}/cancel`` does: a waiting one is cancelled at once, a
    running one is flagged and its agent told to stop. A job already finished (or asked to
    stop), another team's or absent is skipped. At most 10,000 per call, newest first:
    call again with ``cursor`` set to ``next_cursor`` until it is null. One audit row per
    call."""
    store = services(request).store
    done = await store.job_cancel_many(
        principal.team_id, **_selection(body), audit=audit_entry(request)
    )
    return _bulk_out(done)


@router.post(
    "/retry",
    operation_id="jobs_retry_many",
    responses=responses(401, 403, 409, 422),
    summary="Retry many dead or cancelled jobs: by ids, or every job a filter matches",
)
async def retry_jobs(
    body: JobBulkRequest,
    request: Request,
    principal: Annotated[Principal, require("jobs:retry", audit="jobs.retry_many")],
) -> JobBulkOut:
    """Each job as ``POST /jobs/{id}/retry`` does: a fresh set of attempts. A job not dead
    or cancelled, another team's or absent is skipped. At most 10,000 per call, newest
    first: call again with ``cursor`` set to ``next_cursor`` until it is null. One audit
    row per call."""
    store = services(request).store
    done = await store.job_retry_many(
        principal.team_id, **_selection(body), audit=audit_entry(request)
    )
    return _bulk_out(done)


_BULK = "b"
"""The kind letter of a bulk change's cursor (a list's cursor is not one)."""


def _selection(body: JobBulkRequest) -> dict[str, Any]:
    """The store's ``ids=``, or ``where=`` and where an earlier call left off."""
    if body.ids is not None:
        return {"ids": body.ids}
    assert body.filter is not None  # the model allows nothing else
    below = decode_cursor(body.cursor, _BULK) if body.cursor is not None else None
    return {"where": body.filter.for_store(), "below": below}


def _bulk_out(done: BulkChange) -> JobBulkOut:
    following = encode_cursor(done.next_seq, _BULK) if done.next_seq is not None else None
    return JobBulkOut.of(done, following)


@router.get(
    "/{job_id}",
    operation_id="jobs_read",
    responses=responses(401, 403, 404, 422),
    summary="Get a job",
)
async def get_job(
    job_id: uuid.UUID, request: Request, principal: Annotated[Principal, require("jobs:read")]
) -> JobOut:
    return await job_out(services(request).store, principal.team_id, job_id)


@router.get(
    "/{job_id}/attempts",
    operation_id="jobs_attempts_list",
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
    operation_id="jobs_cancel",
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
    operation_id="jobs_retry",
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
    """Jobs as the API shows them, each waiting one with its ``waiting_reason``, each with
    who submitted it."""
    reasons = await store.job_waiting_reasons(team_id, found)
    submitters = await store.job_submitters(team_id, found)
    return [JobOut.of(job, reasons.get(job.id), submitters.get(job.id)) for job in found]


async def job_out(store: Store, team_id: uuid.UUID, job_id: uuid.UUID) -> JobOut:
    [job] = await jobs_out(store, team_id, [await store.job_get(team_id, job_id)])
    return job
