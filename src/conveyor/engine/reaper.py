"""End attempts whose lease expired or whose run timeout passed."""

from __future__ import annotations

from datetime import datetime

from conveyor.engine.service import Service
from conveyor.store import Store

REAPER_INTERVAL_S = 1.0


class Reaper(Service):
    name = "reaper"

    def __init__(self, store: Store, interval_s: float = REAPER_INTERVAL_S, batch: int = 1000):
        super().__init__(interval_s)
        self.store = store
        self.batch = batch

    async def run_once(self, now: datetime | None = None) -> int:
        return len(await self.store.job_reap_expired(limit=self.batch, now=now))
