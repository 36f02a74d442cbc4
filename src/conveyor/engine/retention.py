"""Prune old finished jobs, old outbox events, long-offline agents and the stats' rollups
older than a day, so the database stays its working size.

One pass deletes one bounded batch of each; the loop runs again at once while a
pass found something, so a backlog drains in short transactions. Every replica
may run it: batches are disjoint on PostgreSQL (SKIP LOCKED) and SQLite has one
writer. Artifact blobs are deleted after their rows, by the callback the server
gives (the engine knows no blob storage).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import structlog

from conveyor.engine.service import Service
from conveyor.store import KeepFinished, Store

log = structlog.get_logger(__name__)

RETENTION_INTERVAL_S = 60.0
RETENTION_BATCH = 1000
KEEP_EVENTS = timedelta(days=1)
KEEP_OFFLINE_AGENTS = timedelta(days=1)

# Called with the storage keys of artifacts whose rows were deleted (committed).
ArtifactsDeleted = Callable[[list[str]], Awaitable[None] | None]


class Retention(Service):
    name = "retention"

    def __init__(
        self,
        store: Store,
        interval_s: float = RETENTION_INTERVAL_S,
        *,
        keep: KeepFinished | None = None,
        keep_events: timedelta | None = KEEP_EVENTS,
        keep_offline_agents: timedelta | None = KEEP_OFFLINE_AGENTS,
        batch: int = RETENTION_BATCH,
        on_artifacts_deleted: ArtifactsDeleted | None = None,
    ) -> None:
        super().__init__(interval_s)
        if batch < 1:
            raise ValueError("retention: batch must be at least 1")
        for name, age in (
            ("keep_events", keep_events),
            ("keep_offline_agents", keep_offline_agents),
        ):
            if age is not None and age < timedelta(0):
                raise ValueError(f"retention: {name} must not be negative")
        self.store = store
        self.keep = keep if keep is not None else KeepFinished()
        self.keep_events = keep_events
        self.keep_offline_agents = keep_offline_agents
        self.batch = batch
        self.on_artifacts_deleted = on_artifacts_deleted

    async def run_once(self, now: datetime | None = None) -> int:
        pruned = await self.store.job_prune_finished(self.keep, limit=self.batch, now=now)
        events = 0
        await self.store.login_throttle_prune(now=now)  # counters of windows long ended
        if self.keep_events is not None:
            events = await self.store.event_prune(self.keep_events, limit=self.batch, now=now)
        agents = 0
        if self.keep_offline_agents is not None:
            agents = await self.store.agent_prune_offline(
                self.keep_offline_agents, limit=self.batch, now=now
            )
        # The stats' rollups: drop those beyond a day, fold old minutes' time buckets into hours.
        rollups = await self.store.stats_prune(now=now) + await self.store.stats_fold(now=now)
        if pruned.jobs or events or agents or rollups:
            log.info("retention pruned", jobs=pruned.jobs, events=events, agents=agents,
                     rollups=rollups)  # fmt: skip
        if pruned.storage_keys and self.on_artifacts_deleted is not None:
            try:
                done = self.on_artifacts_deleted(pruned.storage_keys)
                if inspect.isawaitable(done):
                    await done
            except Exception:
                # The rows are gone either way; a blob left behind only costs space.
                log.exception("deleting pruned artifacts' blobs failed",
                              keys=len(pruned.storage_keys))  # fmt: skip
        return pruned.jobs + events + agents + rollups
