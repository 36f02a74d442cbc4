"""The engine of one server replica: the store, the bus and the loops around it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from types import TracebackType

from conveyor.engine.events import EventBus
from conveyor.engine.listener import POLL_INTERVAL_S, Listener, OutboxPoller
from conveyor.engine.metrics import DEPTH_INTERVAL_S, Metrics, QueueDepths
from conveyor.engine.reaper import REAPER_INTERVAL_S, Reaper
from conveyor.engine.retention import (
    KEEP_EVENTS,
    KEEP_OFFLINE_AGENTS,
    RETENTION_BATCH,
    RETENTION_INTERVAL_S,
    ArtifactsDeleted,
    Retention,
)
from conveyor.engine.scheduler import SCHEDULER_INTERVAL_S, Scheduler
from conveyor.engine.service import Service
from conveyor.store import Committed, KeepFinished, Store


@dataclass(frozen=True)
class EngineConfig:
    scheduler_interval_s: float = SCHEDULER_INTERVAL_S
    reaper_interval_s: float = REAPER_INTERVAL_S
    # No lease is reaped this long after the replica starts or its store comes back, so
    # agents can reconnect and heartbeat first (the server uses the lease length).
    reaper_grace_s: float = 0.0
    poll_interval_s: float = POLL_INTERVAL_S
    listen: bool = True  # PostgreSQL LISTEN/NOTIFY between replicas
    # Retention: finished jobs are kept this long after finishing, per final state
    # (None = forever); outbox events this long (None = forever).
    keep_finished: KeepFinished = field(default_factory=KeepFinished)
    keep_events: timedelta | None = KEEP_EVENTS
    keep_offline_agents: timedelta | None = KEEP_OFFLINE_AGENTS  # then the agent row goes
    retention_interval_s: float = RETENTION_INTERVAL_S
    depth_interval_s: float = DEPTH_INTERVAL_S  # /metrics' queue depth: one count this often
    metrics: bool = True  # off: no registry, no observation anywhere, no depth count
    retention_batch: int = RETENTION_BATCH


class Engine:
    """Wires the store's commits to the bus and runs the engine loops.

    Every operation is on :attr:`store`; the engine adds the loops (scheduler,
    reaper, retention, outbox poller, PostgreSQL listener). Agents get their work
    from the dispatcher (:class:`~conveyor.engine.hub.AgentHub`), which waits on
    :attr:`bus`.
    ``on_artifacts_deleted`` receives the storage keys of artifacts whose jobs
    retention deleted, to delete the blobs.
    """

    def __init__(
        self,
        store: Store,
        config: EngineConfig | None = None,
        *,
        on_artifacts_deleted: ArtifactsDeleted | None = None,
    ) -> None:
        self.store = store
        self.config = config or EngineConfig()
        self.bus = EventBus()
        # This replica's own registry, served at /metrics; None when switched off, and
        # then nothing on any path observes anything (each call site checks for None).
        self.metrics = Metrics() if self.config.metrics else None
        if self.metrics is not None:
            self.metrics.watch_store(store)
        store.on_commit(self._published)
        self.scheduler = Scheduler(store, self.config.scheduler_interval_s)
        self.reaper = Reaper(
            store,
            self.config.reaper_interval_s,
            grace_s=self.config.reaper_grace_s,
            on_reaped=self.metrics.on_reaped if self.metrics is not None else None,
        )
        self.retention = Retention(
            store,
            self.config.retention_interval_s,
            keep=self.config.keep_finished,
            keep_events=self.config.keep_events,
            keep_offline_agents=self.config.keep_offline_agents,
            batch=self.config.retention_batch,
            on_artifacts_deleted=on_artifacts_deleted,
        )
        self.depths = (
            QueueDepths(store, self.metrics, self.config.depth_interval_s)
            if self.metrics is not None
            else None
        )
        self.poller = OutboxPoller(store, self.bus, self.config.poll_interval_s)
        self.listener: Listener | None = None
        if store.dialect == "postgresql" and self.config.listen:
            self.listener = Listener(store.url, self.bus, forget=store.forget_cached)

    @classmethod
    async def open(
        cls,
        url: str,
        config: EngineConfig | None = None,
        *,
        on_artifacts_deleted: ArtifactsDeleted | None = None,
    ) -> Engine:
        return cls(await Store.open(url), config, on_artifacts_deleted=on_artifacts_deleted)

    @property
    def services(self) -> list[Service]:
        loops = [self.scheduler, self.reaper, self.retention, self.poller, self.depths]
        return [loop for loop in loops if loop is not None]

    async def start(self) -> None:
        self.bus.last_seq = await self.store.event_last_seq()
        for service in self.services:
            service.start()
        if self.listener is not None:
            self.listener.start()

    async def stop(self) -> None:
        for service in self.services:
            await service.stop()
        if self.listener is not None:
            await self.listener.stop()

    async def close(self) -> None:
        await self.stop()
        await self.store.close()

    async def __aenter__(self) -> Engine:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _published(self, committed: Committed) -> None:
        self.bus.publish(committed.last_event_seq, committed.work_available, committed.control)
