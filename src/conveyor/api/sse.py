"""What the server-sent event streams share: waking on changes, and staying authorised.

A stream takes the bus's change signal *before* it reads the store and waits on
it after, so a change committed in between is never missed; the long jittered
timeout is only a safety net for a lost notification. A stream re-authenticates
its caller now and then, so a revoked key or a disabled user stops receiving.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

from pydantic import BaseModel
from starlette.requests import HTTPConnection

from conveyor.api.deps import Services, reauthenticate, services
from conveyor.api.errors import responses
from conveyor.engine.events import Signal
from conveyor.errors import ConveyorError, InvalidInput

SAFETY_WAIT_S = 15.0
"""Longest wait between two store reads without a signal (jittered ±20 %)."""

RECHECK_S = 30.0
"""How often an open stream re-checks the caller's credentials."""


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a stream route: its errors are JSON envelopes, not events."""
    envelope = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}}
    return {
        status: {"description": entry["description"], "content": envelope}
        for status, entry in responses(*statuses).items()
    }


def event_stream_responses(
    data: type[BaseModel], events: str, *statuses: int
) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a stream route: the model of its events' data, the events in
    words, and its errors (JSON envelopes, not events)."""
    return {200: {"model": data, "description": events}, **error_responses(*statuses)}


def safety_wait() -> float:
    return SAFETY_WAIT_S * random.uniform(0.8, 1.2)


class Stream:
    """One open stream's view of the server: change signals and a credential re-check."""

    def __init__(self, conn: HTTPConnection, permission: str) -> None:
        self.svc: Services = services(conn)
        self.permission = permission
        self._conn = conn
        self._next_check = asyncio.get_running_loop().time() + RECHECK_S

    def signal(self) -> Signal:
        """Take this before reading the store; :meth:`wait` on it after."""
        return self.svc.engine.bus.change_signal()

    async def wait(self, signal: Signal) -> None:
        await signal.wait(safety_wait())

    async def still_allowed(self) -> bool:
        """False once the caller's credentials no longer grant the stream's permission."""
        loop = asyncio.get_running_loop()
        if loop.time() < self._next_check:
            return True
        self._next_check = loop.time() + RECHECK_S
        try:
            principal = await reauthenticate(self.svc, self._conn)
        except ConveyorError:
            return False
        return principal.can(self.permission)


def parse_event_id(value: str | None) -> int | None:
    """A ``Last-Event-ID`` of the events stream (a sequence number); None when absent."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if not value.isdigit() or len(value) > 18:
        raise InvalidInput(
            f"Last-Event-ID must be an event id this stream sent, got {value[:40]!r}",
            field="Last-Event-ID",
        )
    return int(value)
