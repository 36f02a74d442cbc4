"""Rate keys: N starts per interval for the jobs that name a key (docs/flow-control.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from conveyor import bounds
from conveyor.api.audit import audit_entry
from conveyor.api.deps import require, services
from conveyor.api.errors import responses
from conveyor.api.models import RateKeyList, RateKeyOut, RateLimitSpec
from conveyor.auth.permissions import Principal

router = APIRouter(prefix="/api/v1/rate-limits", tags=["rate_limits"])

RateKey = Annotated[bounds.Name, Path(min_length=1, max_length=bounds.NAME_MAX)]


@router.get(
    "",
    operation_id="rate_limits_list",
    responses=responses(401, 403),
    summary="List the rate keys with a limit",
)
async def list_rate_limits(
    request: Request, principal: Annotated[Principal, require("queues:read")]
) -> RateKeyList:
    found = await services(request).store.rate_limit_list(principal.team_id)
    return RateKeyList(
        items=[RateKeyOut(key=r.key or "", count=r.count, interval_s=r.interval_s) for r in found]
    )


@router.put(
    "/{key}",
    operation_id="rate_limits_set",
    responses=responses(401, 403, 413, 422),
    summary="Limit the starts of a rate key's jobs",
)
async def set_rate_limit(
    key: RateKey,
    body: RateLimitSpec,
    request: Request,
    principal: Annotated[Principal, require("queues:manage", audit="rate_limits.set")],
) -> RateKeyOut:
    """Jobs submitted with this ``rate_key`` start at most ``count`` times in any
    ``interval_s`` window; the others wait (waiting reason ``rate_limit``)."""
    await services(request).store.rate_limit_set(
        principal.team_id, key, body.count, body.interval_s,
        audit=audit_entry(request, "rate_limit", key, count=body.count,
                          interval_s=body.interval_s),
    )  # fmt: skip
    return RateKeyOut(key=key, count=body.count, interval_s=body.interval_s)


@router.delete(
    "/{key}",
    operation_id="rate_limits_delete",
    status_code=204,
    responses=responses(401, 403, 404, 422),
    summary="Lift a rate key's limit",
)
async def delete_rate_limit(
    key: RateKey,
    request: Request,
    principal: Annotated[Principal, require("queues:manage", audit="rate_limits.delete")],
) -> Response:
    """Its jobs then start as soon as agents take them. 404 when the key has no limit."""
    await services(request).store.rate_limit_delete(
        principal.team_id, key, audit=audit_entry(request, "rate_limit", key)
    )
    return Response(status_code=204)
