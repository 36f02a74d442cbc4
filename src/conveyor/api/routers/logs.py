"""A job's log: read page by page after a cursor, or follow it live over SSE.

Both speak the same cursor, "attempt:seq" (the chunk after which to continue),
so a client can read what is there, then follow from where it stopped.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent

from conveyor.api.audit import record_request
from conveyor.api.deps import require, services
from conveyor.api.errors import responses
from conveyor.api.models import LogChunk, LogPage
from conveyor.api.signed import SignedUrl, path_of, url_of
from conveyor.api.sse import Stream, event_stream_responses
from conveyor.auth.permissions import Principal
from conveyor.errors import NotFound
from conveyor.store.records import LogCursor

router = APIRouter(prefix="/api/v1/jobs", tags=["logs"])

PERMISSION = "jobs:read"
STREAM_EVENTS = (
    "Server-sent events: `log`, one chunk of the log each (its id is the chunk's cursor, for"
    " `Last-Event-ID`); then `end` (`{state, cursor}`) once the job is finished and its whole"
    " log was sent."
)
STREAM_PAGE = 200

_read_logs = require(PERMISSION)
_follow_logs = require(PERMISSION, signed="logs")  # a browser's EventSource: signed URL


@router.get(
    "/{job_id}/logs",
    operation_id="logs_read",
    responses=responses(401, 403, 404, 422),
    summary="Read a job's log after a cursor",
)
async def read_logs(
    principal: Annotated[Principal, _read_logs],
    job_id: uuid.UUID,
    request: Request,
    after: Annotated[str | None, Query(max_length=40, description='"attempt:seq"')] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 1000,
) -> LogPage:
    """Chunks in order (every attempt); ``next_cursor`` is where to continue (the last
    chunk's cursor, or ``after`` itself when nothing new is there yet)."""
    store = services(request).store
    cursor = LogCursor.parse(after) if after else None
    await store.job_get(principal.team_id, job_id)  # 404 for a job of another team
    chunks = await store.log_read(principal.team_id, job_id, after=cursor, limit=limit)
    last = str(chunks[-1].cursor) if chunks else after
    return LogPage(items=[LogChunk.of(c) for c in chunks], next_cursor=last)


@dataclass(frozen=True)
class Opened:
    principal: Principal
    job_id: uuid.UUID
    after: LogCursor | None


async def _open(
    principal: Annotated[Principal, _follow_logs],
    job_id: uuid.UUID,
    request: Request,
    after: Annotated[str | None, Query(max_length=40, description='"attempt:seq"')] = None,
    last_event_id: Annotated[str | None, Header(max_length=40)] = None,
) -> Opened:
    """Everything that can refuse the stream, decided before it starts."""
    resume = last_event_id or after
    cursor = LogCursor.parse(resume.strip()) if resume and resume.strip() else None
    await services(request).store.job_get(principal.team_id, job_id)
    return Opened(principal, job_id, cursor)


@router.get(
    "/{job_id}/logs/stream",
    operation_id="logs_stream",
    response_class=EventSourceResponse,
    responses=event_stream_responses(LogChunk, STREAM_EVENTS, 401, 403, 404, 422),
    summary="Follow a job's log (server-sent events)",
)
async def stream_logs(
    principal: Annotated[Principal, _follow_logs],
    request: Request,
    opened: Annotated[Opened, Depends(_open)],
) -> AsyncIterable[ServerSentEvent]:
    """``log`` events carry one chunk each (id: its cursor, for ``Last-Event-ID``); an
    ``end`` event follows once the job is finished and its whole log was sent."""
    stream = Stream(request, PERMISSION)
    store = stream.svc.store
    team_id, job_id, cursor = principal.team_id, opened.job_id, opened.after
    while True:
        signal = stream.signal()
        try:
            job = await store.job_get(team_id, job_id)  # before the log: see the docstring
        except NotFound:
            job = None
        chunks = await store.log_read(team_id, job_id, after=cursor, limit=STREAM_PAGE)
        for chunk in chunks:
            cursor = chunk.cursor
            yield ServerSentEvent(data=LogChunk.of(chunk), event="log", id=str(cursor))
        if len(chunks) == STREAM_PAGE:
            continue
        # A job's log is stored before its result, so when the job was already
        # finished before this read, the read saw the whole log.
        if job is None or job.state.is_terminal:
            state = job.state.value if job is not None else "deleted"
            cursor_text = str(cursor) if cursor is not None else None
            yield ServerSentEvent(data={"state": state, "cursor": cursor_text}, event="end")
            return
        if not await stream.still_allowed():
            return
        await stream.wait(signal)


@router.post(
    "/{job_id}/logs/stream/url",
    operation_id="logs_stream_sign",
    responses=responses(401, 403, 404, 422),
    summary="A signed URL to follow a job's log from a browser (EventSource)",
)
async def sign_logs_url(
    job_id: uuid.UUID,
    request: Request,
    principal: Annotated[Principal, require(PERMISSION, audit="logs.sign_url")],
) -> SignedUrl:
    """The URL works without a bearer header, for this job's log stream only, for a few
    minutes, and only while its user may still read the job."""
    svc = services(request)
    await svc.store.job_get(principal.team_id, job_id)  # 404 for a job of another team
    segments = ["jobs", str(job_id), "logs", "stream"]
    token, expires = await svc.auth.signed_urls.issue(principal, "logs", path_of(segments))
    await record_request(request, "job", job_id)
    return SignedUrl(url=url_of(segments, {}, token), expires_at=expires)
