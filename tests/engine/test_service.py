"""The engine loop base: wake() ends a wait, busy passes repeat, ``ran`` fires per pass."""

from __future__ import annotations

import asyncio
from datetime import datetime

from conveyor.engine.service import Service

PROMPT_S = 20.0


class Counter(Service):
    """Counts passes; reports ``busy`` changes for its first passes."""

    name = "counter"

    def __init__(self, busy: int = 0) -> None:
        super().__init__(interval_s=3600)
        self.passes = 0
        self.busy = busy
        self.reached = asyncio.Event()

    async def run_once(self, now: datetime | None = None) -> int:
        self.passes += 1
        if self.passes > self.busy:
            self.reached.set()
            return 0
        return 1


async def test_wake_ends_the_wait_and_signals_the_pass() -> None:
    svc = Counter()
    first = svc.wake()
    svc.start()
    try:
        assert await first.wait(PROMPT_S)
        assert svc.passes == 1
        # The loop now waits an hour; wake() must end that wait, not the next one.
        assert await svc.wake().wait(PROMPT_S)
        assert svc.passes == 2
        ran = svc.ran
        assert await svc.wake().wait(PROMPT_S)
        assert ran._event.is_set() and svc.passes == 3
    finally:
        await svc.stop()


async def test_a_pass_that_changed_something_runs_again_at_once() -> None:
    svc = Counter(busy=3)
    svc.start()
    try:
        async with asyncio.timeout(PROMPT_S):
            await svc.reached.wait()
        assert svc.passes == 4
    finally:
        await svc.stop()
