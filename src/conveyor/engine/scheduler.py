"""Promote scheduled jobs (delays, retry backoff) whose time has come, and fire the
cron schedules' due ticks (:class:`~conveyor.engine.schedules.Schedules`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from conveyor.engine.service import Service
from conveyor.store import Store

FireDue = Callable[[datetime | None], Awaitable[int]]

SCHEDULER_INTERVAL_S = 0.5


class Scheduler(Service):
    name = "scheduler"

    def __init__(self, store: Store, interval_s: float = SCHEDULER_INTERVAL_S, batch: int = 1000):
        super().__init__(interval_s)
        self.store = store
        self.batch = batch
        # Schedules.fire_due, set by the server's wiring once the submission service
        # exists (ticks submit through it; the engine cannot import it: a cycle).
        self.fire_schedules: FireDue | None = None

    async def run_once(self, now: datetime | None = None) -> int:
        promoted = len(await self.store.job_promote_due(limit=self.batch, now=now))
        fired = await self.fire_schedules(now) if self.fire_schedules is not None else 0
        return promoted + fired
