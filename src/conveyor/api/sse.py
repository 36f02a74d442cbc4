"""What the server-sent event streams share: waking on changes, and staying authorised.

A stream takes the bus's change signal *before* it reads the store and waits on
it after, so a change committed in between is never missed; the long jittered
timeout is only a safety net for a lost notification. A stream re-authenticates
its caller now and then, so a revoked key or a disabled user stops receiving.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from typing import Any

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


class OutboxReader:
    """Reads a team's outbox in order, including events committed out of seq order.

    On PostgreSQL a transaction can take a lower seq than another and commit after
    it; a reader that only asks for ``seq > last`` would skip it for good. This one
    re-reads a short window behind what it delivered (``lookbehind_s``) and hands
    out each event once. SQLite commits one writer at a time, so it needs no window.
    """

    def __init__(self, start: int, lookbehind_s: float) -> None:
        self.high = start  # highest seq delivered: the stream's resume point
        self.lookbehind_s = lookbehind_s
        self._marks: deque[tuple[float, int]] = deque()  # (time, high then)
        self._sent: set[int] = set()
        self._low = start

    def read_from(self, now: float) -> int:
        """Where the next read starts: the resume point as it was ``lookbehind_s`` ago."""
        if self.lookbehind_s <= 0:
            return self.high
        self._marks.append((now, self.high))
        while self._marks and self._marks[0][0] < now - self.lookbehind_s:
            self._low = self._marks.popleft()[1]
        self._sent = {seq for seq in self._sent if seq > self._low}
        return self._low

    def fresh(self, seq: int) -> bool:
        """Whether ``seq`` is new to this reader (and now counts as delivered)."""
        if seq <= self._low or seq in self._sent or (self.lookbehind_s <= 0 and seq <= self.high):
            return False
        if self.lookbehind_s > 0:
            self._sent.add(seq)
        self.high = max(self.high, seq)
        return True
