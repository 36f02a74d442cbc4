"""``GET /api/v1/events``: the team's job and agent changes as server-sent events.

Read from the outbox, so a client that reconnects with ``Last-Event-ID`` gets
every change it missed; ``?job_id=`` narrows the stream to one job (how a client
waits for a result without polling).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterable
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Header, Query, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import BaseModel, ConfigDict

from conveyor import bounds
from conveyor.api.audit import record_request
from conveyor.api.deps import require, services
from conveyor.api.errors import responses
from conveyor.api.models import EventOut
from conveyor.api.signed import SignedUrl, path_of, resource_of, url_of
from conveyor.api.sse import Stream, event_stream_responses, parse_event_id
from conveyor.auth.permissions import Principal
from conveyor.bounds import Name
from conveyor.engine.outbox import OutboxReader, lookbehind_for

router = APIRouter(prefix="/api/v1/events", tags=["events"])

PERMISSION = "jobs:read"
STREAM_EVENTS = (
    "Server-sent events named by their kind (`job`, `agent`, `log`, `artifact`); the id of"
    " each resumes the stream with `Last-Event-ID`."
)
PAGE = 500

_read_events = require(PERMISSION, signed="events")  # EventSource: a signed URL


@dataclass(frozen=True)
class Opened:
    principal: Principal
    after: int
    job_id: uuid.UUID | None
    kinds: frozenset[str] | None


async def _open(
    principal: Annotated[Principal, _read_events],
    request: Request,
    job_id: uuid.UUID | None = None,
    kind: Annotated[
        list[Annotated[Name, Query(max_length=100)]] | None,
        Query(max_length=50, description="only these kinds (repeat)"),
    ] = None,
    after: Annotated[
        int | None, Query(ge=0, le=bounds.INT64_MAX, description="start after this event id")
    ] = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> Opened:
    """Everything that can refuse the stream, decided before it starts."""
    store = services(request).store
    if job_id is not None:
        await store.job_get(principal.team_id, job_id)  # 404 for a job of another team
    start = parse_event_id(last_event_id)
    if start is None:
        start = after if after is not None else await store.event_last_seq()
    kinds = frozenset(k for value in kind for k in value.split(",") if k) if kind else None
    return Opened(principal, start, job_id, kinds or None)


@router.get(
    "",
    operation_id="events_stream",
    response_class=EventSourceResponse,
    responses=event_stream_responses(EventOut, STREAM_EVENTS, 401, 403, 404, 422),
    summary="Follow the team's changes (server-sent events)",
)
async def stream_events(
    principal: Annotated[Principal, _read_events],
    request: Request,
    opened: Annotated[Opened, Depends(_open)],
) -> AsyncIterable[ServerSentEvent]:
    """Each event is named by its kind (``job``, ``agent``, ``log``, ``artifact``); its id
    resumes the stream. Without ``Last-Event-ID`` or ``after`` it starts at the present."""
    stream = Stream(request, PERMISSION)
    store = stream.svc.store
    reader = OutboxReader(opened.after, lookbehind_for(store.dialect))
    loop = asyncio.get_running_loop()
    while True:
        signal = stream.signal()
        start = reader.read_from(loop.time())
        while True:
            batch = await store.events_after(
                principal.team_id,
                start,
                limit=PAGE,
                object_id=opened.job_id,
                skip=reader.delivered(),
            )
            for event in batch:
                if reader.fresh(event.seq) and (opened.kinds is None or event.kind in opened.kinds):
                    yield ServerSentEvent(
                        data=EventOut.of(event), event=event.kind, id=str(reader.high)
                    )
            if len(batch) < PAGE:
                break
            start = batch[-1].seq
        if not await stream.still_allowed():
            return
        await stream.wait(signal)


class EventsUrlRequest(BaseModel):
    """Which stream the URL opens: the team's, or one job's (``job_id``)."""

    model_config = ConfigDict(extra="forbid")

    job_id: uuid.UUID | None = None


@router.post(
    "/url",
    operation_id="events_stream_sign",
    responses=responses(401, 403, 404, 413, 422),
    summary="A signed URL to follow the team's events from a browser (EventSource)",
)
async def sign_events_url(
    request: Request,
    principal: Annotated[Principal, require(PERMISSION, audit="events.sign_url")],
    body: Annotated[EventsUrlRequest | None, Body()] = None,
) -> SignedUrl:
    """The URL opens this stream (the team's, or one job's) without a bearer header, for a
    few minutes, and only while its user may still read the team's jobs; ``after`` and
    ``kind`` may be added to it."""
    svc = services(request)
    job_id = body.job_id if body is not None else None
    query = {}
    if job_id is not None:
        await svc.store.job_get(principal.team_id, job_id)  # 404 for another team's job
        query["job_id"] = str(job_id)
    resource = resource_of(path_of(["events"]), query, "events")
    token, expires = await svc.auth.signed_urls.issue(principal, "events", resource)
    await record_request(request, "job" if job_id else None, job_id)
    return SignedUrl(url=url_of(["events"], query, token), expires_at=expires)
