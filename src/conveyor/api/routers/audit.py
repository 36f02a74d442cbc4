"""``GET /api/v1/audit``: the team's audit log, newest first, filtered and paged."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from conveyor.api.deps import require, services
from conveyor.api.errors import responses
from conveyor.api.routers.jobs import decode_cursor, encode_cursor
from conveyor.auth.permissions import AUDIT_READ, Principal
from conveyor.bounds import Name
from conveyor.errors import InvalidInput
from conveyor.store import AuditFilter
from conveyor.store.records import AuditEvent

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])

CURSOR_KIND = "a"


class AuditEventOut(BaseModel):
    """Who (``actor_*``) did what (``action``) to which object, when, from where, and how
    it ended (``outcome``: ``success`` or the error code, with the HTTP ``status``)."""

    id: uuid.UUID
    at: datetime
    team_id: uuid.UUID | None
    actor_kind: str
    actor_id: uuid.UUID | None
    actor_display: str
    action: str
    object_type: str | None
    object_id: str | None
    outcome: str
    status: int
    client_addr: str | None
    details: dict[str, Any] | None

    @classmethod
    def of(cls, row: AuditEvent) -> AuditEventOut:
        fields = {name: getattr(row, name) for name in cls.model_fields if name != "at"}
        return cls(at=row.created_at, **fields)


class AuditList(BaseModel):
    items: list[AuditEventOut]
    next_cursor: str | None


def _aware(value: datetime | None, name: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise InvalidInput(f"{name} needs a time zone (e.g. 2026-01-31T12:00:00Z)", field=name)
    return value


@router.get(
    "",
    operation_id="audit_list",
    responses=responses(401, 403, 422),
    summary="Read the team's audit log",
)
async def list_audit(
    principal: Annotated[Principal, require(AUDIT_READ)],
    request: Request,
    actor: Annotated[uuid.UUID | None, Query(description="a user id or key id")] = None,
    action: Annotated[
        Name | None, Query(max_length=64, description='exact, or a prefix ending in "."')
    ] = None,
    object_type: Annotated[Name | None, Query(max_length=32)] = None,
    object_id: Annotated[Name | None, Query(max_length=255)] = None,
    since: Annotated[datetime | None, Query(description="from this time (inclusive)")] = None,
    until: Annotated[datetime | None, Query(description="before this time")] = None,
    outcome: Annotated[
        Name | None, Query(max_length=64, description='"success", "failure" or an error code')
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
) -> AuditList:
    where = AuditFilter(
        actor_id=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        since=_aware(since, "since"),
        until=_aware(until, "until"),
        outcome=outcome,
    )
    page = await services(request).store.audit_list(
        principal.team_id,
        where,
        limit=limit,
        cursor=decode_cursor(cursor, CURSOR_KIND) if cursor else None,
    )
    return AuditList(
        items=[AuditEventOut.of(row) for row in page.items],
        next_cursor=None
        if page.next_cursor is None
        else encode_cursor(page.next_cursor, CURSOR_KIND),
    )
