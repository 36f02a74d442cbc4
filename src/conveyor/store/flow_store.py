"""The store's flow-control methods: queue limits and fairness, action limits, rate keys.

A mixin of :class:`conveyor.store.Store`, kept apart so each file holds one concern;
``team_id`` comes first on every method. What the limits do is :mod:`.queries.flow`.
"""

from __future__ import annotations

import time
import uuid

from conveyor.store.database import Database
from conveyor.store.queries import flow, flow_settings
from conveyor.store.queries.audit import AuditEntry, audited
from conveyor.store.queries.flow_settings import QueueChange
from conveyor.store.read_cache import FLOW
from conveyor.store.records import RateLimit


class FlowStore:
    """Flow-control methods over ``self.db``."""

    db: Database
    _flow_retry_at: float | None = None  # time.monotonic() of the next rate-limit retry

    def note_flow_retry(self, in_s: float) -> None:
        """A claim met a rate limit that frees a start in ``in_s`` seconds."""
        at = time.monotonic() + in_s
        if self._flow_retry_at is None or at < self._flow_retry_at or self.flow_retry_in() == 0:
            self._flow_retry_at = at

    def flow_retry_in(self) -> float | None:
        """Seconds until a rate limit met by a claim frees a start (None: none pending);
        the dispatcher claims again then (engine/hub.py)."""
        if self._flow_retry_at is None:
            return None
        return max(0.0, self._flow_retry_at - time.monotonic())

    def flow_retry_done(self) -> None:
        if self._flow_retry_at is not None and self._flow_retry_at <= time.monotonic():
            self._flow_retry_at = None

    async def flow_config(self, team_id: uuid.UUID) -> flow.FlowConfig:
        """Which of the team's queues and actions have flow settings (a cached copy)."""
        return await self.db.read_cached(FLOW, team_id, flow.read_config, team_id)

    async def queue_update(
        self,
        team_id: uuid.UUID,
        name: str,
        change: QueueChange,
        *,
        audit: AuditEntry | None = None,
    ) -> None:
        """Pause, resume, limit or make fair a queue (:class:`QueueChange`)."""
        op = audited(flow_settings.update_queue, audit)
        await self.db.write(op, None, team_id, name, change)

    async def action_set_limit(
        self,
        team_id: uuid.UUID,
        action: str,
        limit: int | None,
        *,
        audit: AuditEntry | None = None,
    ) -> None:
        op = audited(flow_settings.set_action_limit, audit)
        await self.db.write(op, None, team_id, action, limit)

    async def rate_limit_list(self, team_id: uuid.UUID) -> list[RateLimit]:
        return await self.db.read(flow_settings.list_rate_limits, None, team_id)

    async def rate_limit_set(
        self,
        team_id: uuid.UUID,
        key: str,
        count: int,
        interval_s: float,
        *,
        audit: AuditEntry | None = None,
    ) -> None:
        op = audited(flow_settings.set_rate_limit, audit)
        await self.db.write(op, None, team_id, key, count, interval_s)

    async def rate_limit_delete(
        self, team_id: uuid.UUID, key: str, *, audit: AuditEntry | None = None
    ) -> None:
        await self.db.write(audited(flow_settings.delete_rate_limit, audit), None, team_id, key)
