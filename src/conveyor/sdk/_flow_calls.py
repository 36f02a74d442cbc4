"""Flow control as :class:`~conveyor.sdk._calls.Call` values, shared by both clients:
queue settings, action limits, rate keys (docs/flow-control.md)."""

from __future__ import annotations

from typing import Any, Final

from conveyor.sdk._calls import Call, _models, _nothing, seg
from conveyor.sdk.models import Action, Queue, RateKey, RateLimit


class _Keep:
    def __repr__(self) -> str:
        return "KEEP"


KEEP: Final[Any] = _Keep()
"""A queue setting :func:`update_queue` leaves as it is (None clears a limit)."""

RateSpec = RateLimit | tuple[int, float] | None
"""A rate limit: a :class:`RateLimit`, ``(count, interval_s)``, or None for none."""


def rate_body(rate: RateSpec) -> dict[str, Any] | None:
    if rate is None:
        return None
    if isinstance(rate, RateLimit):
        return {"count": rate.count, "interval_s": rate.interval_s}
    count, interval_s = rate
    return {"count": count, "interval_s": interval_s}


def update_queue(
    name: str,
    *,
    paused: bool = KEEP,
    rate_limit: RateSpec = KEEP,
    concurrency_limit: int | None = KEEP,
    fair: bool = KEEP,
) -> Call[Queue]:
    body: dict[str, Any] = {}
    if paused is not KEEP:
        body["paused"] = paused
    if rate_limit is not KEEP:
        body["rate_limit"] = rate_body(rate_limit)
    if concurrency_limit is not KEEP:
        body["concurrency_limit"] = concurrency_limit
    if fair is not KEEP:
        body["fair"] = fair
    return Call("PATCH", f"queues/{seg(name)}", Queue.model_validate, body=body)


def set_action_limit(name: str, limit: int | None) -> Call[Action]:
    body = {"concurrency_limit": limit}
    return Call("PATCH", f"actions/{seg(name)}", Action.model_validate, body=body)


def rate_limits() -> Call[list[RateKey]]:
    return Call("GET", "rate-limits", _models(RateKey))


def set_rate_limit(key: str, count: int, interval_s: float) -> Call[RateKey]:
    body = {"count": count, "interval_s": interval_s}
    return Call("PUT", f"rate-limits/{seg(key)}", RateKey.model_validate, body=body)


def delete_rate_limit(key: str) -> Call[None]:
    return Call("DELETE", f"rate-limits/{seg(key)}", _nothing)
