"""End attempts whose lease expired or whose run timeout passed.

A replica that just started, or just got its store back, waits :attr:`Reaper.grace_s`
before it reaps: while it (or its store) was down no heartbeat could be stored, so
every lease ran out through no fault of its agent, and a live agent needs a moment to
reconnect and heartbeat before its job is taken from it. The grace is this replica's
own: other replicas past theirs keep reaping, so a dead agent's job waits at most one
grace longer than its lease (see ``docs/engine.md``).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import datetime

from conveyor.engine.service import Service
from conveyor.errors import StoreUnavailable
from conveyor.states import JobState
from conveyor.store import Store

REAPER_INTERVAL_S = 1.0


class Reaper(Service):
    name = "reaper"

    def __init__(
        self,
        store: Store,
        interval_s: float = REAPER_INTERVAL_S,
        batch: int = 1000,
        *,
        grace_s: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        on_reaped: Callable[[list[tuple[uuid.UUID, JobState]]], None] | None = None,
    ) -> None:
        super().__init__(interval_s)
        self.store = store
        self.batch = batch
        self.grace_s = grace_s
        self._clock = clock  # tests move it instead of waiting out a grace
        self._reaps_from = 0.0  # on the clock: when this replica's grace ends
        self._on_reaped = on_reaped  # metrics: lease expiries, retries, dead jobs

    def start(self) -> None:
        self._hold()
        super().start()

    def in_grace(self) -> bool:
        return self._clock() < self._reaps_from

    async def run_once(self, now: datetime | None = None) -> int:
        reaped = await self.store.job_reap_expired(limit=self.batch, now=now)
        if reaped and self._on_reaped is not None:
            self._on_reaped(reaped)
        return len(reaped)

    async def _pass(self) -> int:
        """Reap, unless in the grace; a store that cannot be reached starts the grace over.

        Only an outage does: any other error (a pool timeout under load is one) leaves the
        grace as it is, or failures recurring within a lease would stop reaping for good.
        """
        try:
            if self.in_grace():
                await self.store.event_last_seq()  # only: is the store reachable?
                return 0
            return await self.run_once()
        except StoreUnavailable:
            self._hold()
            raise

    def _hold(self) -> None:
        self._reaps_from = self._clock() + self.grace_s
