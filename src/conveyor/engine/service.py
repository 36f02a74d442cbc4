"""The base of every engine loop: start/stop, a jittered interval, ``run_once``.

Loops are safe to run on every replica at once: the database makes concurrent
runs harmless (SKIP LOCKED, conditional updates), not a leader. Tests call
``run_once(now=...)`` directly, or ``await service.wake().wait(t)`` (a pass that
started after the call has ended) instead of sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from abc import ABC, abstractmethod
from datetime import datetime

import structlog

from conveyor.engine.events import Signal

log = structlog.get_logger(__name__)


class Service(ABC):
    name = "service"

    def __init__(self, interval_s: float, jitter: float = 0.25) -> None:
        if interval_s <= 0 or not 0 <= jitter < 1:
            raise ValueError(f"{self.name}: interval must be positive and jitter in [0, 1)")
        self.interval_s = interval_s
        self.jitter = jitter
        self.ran = Signal()  # fires after the pass in progress (or the next); replaced each time
        self._task: asyncio.Task[None] | None = None
        self._wake = Signal()
        self._next_ran = Signal()  # fires after the next pass to *start*

    @abstractmethod
    async def run_once(self, now: datetime | None = None) -> int:
        """One pass; returns how many things it changed."""

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name=f"conveyor-{self.name}")

    def wake(self) -> Signal:
        """Run a pass now instead of at the end of the interval.

        Returns a signal that fires once a pass that started after this call has
        ended, so the caller knows the pass saw everything it committed before.
        """
        self._wake.fire()
        return self._next_ran

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _pass(self) -> int:
        """One pass of the loop (a service may hold back; an explicit run_once never does)."""
        return await self.run_once()

    def next_delay(self) -> float:
        return self.interval_s * random.uniform(1 - self.jitter, 1 + self.jitter)

    async def _loop(self) -> None:
        while True:
            # Taken before the pass: a wake() during the pass or the wait ends the
            # wait, so a wake-up is never lost.
            self._wake = wake = Signal()
            started, self._next_ran = self._next_ran, Signal()
            changed = 0
            try:
                changed = await self._pass()
            except Exception:
                log.exception("engine loop failed; retrying", service=self.name)
            self.ran, ran = Signal(), self.ran
            ran.fire()
            started.fire()
            if changed == 0:  # a pass that changed something may have left more
                await wake.wait(self.next_delay())
