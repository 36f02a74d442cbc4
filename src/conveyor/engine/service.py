"""The base of every engine loop: start/stop, a jittered interval, ``run_once``.

Loops are safe to run on every replica at once: the database makes concurrent
runs harmless (SKIP LOCKED, conditional updates), not a leader. Tests call
``run_once(now=...)`` directly, or await ``ran`` instead of sleeping.
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
        self.ran = Signal()  # fires after each pass; replaced each time
        self._task: asyncio.Task[None] | None = None
        self._wake = Signal()

    @abstractmethod
    async def run_once(self, now: datetime | None = None) -> int:
        """One pass; returns how many things it changed."""

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name=f"conveyor-{self.name}")

    def wake(self) -> None:
        """Run the next pass now instead of at the end of the interval."""
        self._wake.fire()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def next_delay(self) -> float:
        return self.interval_s * random.uniform(1 - self.jitter, 1 + self.jitter)

    async def _loop(self) -> None:
        while True:
            wake, self._wake = self._wake, Signal()
            changed = 0
            try:
                changed = await self.run_once()
            except Exception:
                log.exception("engine loop failed; retrying", service=self.name)
            self.ran, ran = Signal(), self.ran
            ran.fire()
            if changed == 0:
                await wake.wait(self.next_delay())
