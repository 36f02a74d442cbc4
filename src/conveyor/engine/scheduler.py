"""Promote scheduled jobs (delays, retry backoff) whose time has come."""

from __future__ import annotations

from datetime import datetime

from conveyor.engine.service import Service
from conveyor.store import Store

SCHEDULER_INTERVAL_S = 0.5


class Scheduler(Service):
    name = "scheduler"

    def __init__(self, store: Store, interval_s: float = SCHEDULER_INTERVAL_S, batch: int = 1000):
        super().__init__(interval_s)
        self.store = store
        self.batch = batch

    async def run_once(self, now: datetime | None = None) -> int:
        return len(await self.store.job_promote_due(limit=self.batch, now=now))
