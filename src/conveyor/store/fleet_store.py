"""The store's fleet methods: agents, the action catalog, job logs and artifacts.

A mixin of :class:`conveyor.store.Store`, kept apart so each file holds one concern;
``team_id`` comes first on every method.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from conveyor.protocol import ActionOffer
from conveyor.store.database import Database
from conveyor.store.queries import agents, artifacts, catalog, logs, retention
from conveyor.store.queries.audit import AuditEntry, audited
from conveyor.store.queries.forget import forgetting
from conveyor.store.queries.maintenance import DEFAULT_BATCH_LIMIT
from conveyor.store.read_cache import CATALOG
from conveyor.store.records import (
    ActionInfo,
    ActionVersion,
    Agent,
    Artifact,
    LogAppended,
    LogChunkIn,
    LogChunkOut,
    LogCursor,
)


class FleetStore:
    """Fleet methods over ``self.db``."""

    db: Database

    async def agent_connect(
        self,
        team_id: uuid.UUID,
        *,
        name: str,
        labels: dict[str, str],
        slots: int,
        version: str,
        queues: list[str],
        actions: list[ActionOffer],
        key_id: uuid.UUID | None,
        user_id: uuid.UUID | None,
        host: str = "",
        now: datetime | None = None,
    ) -> uuid.UUID:
        """Record a (re)connected agent and its offers; the id is stable per (team, name)."""
        return await self.db.write(
            forgetting(CATALOG, agents.connect), now, team_id, name=name, labels=labels, slots=slots,
            version=version, queues=queues, actions=actions, key_id=key_id, user_id=user_id,
            host=host,
        )  # fmt: skip

    async def agent_disconnect(
        self,
        team_id: uuid.UUID,
        agent_id: uuid.UUID,
        *,
        connected_at: datetime | None = None,
        now: datetime | None = None,
    ) -> None:
        """Mark an agent gone; pass its ``connected_at`` to leave a newer connection alone."""
        await self.db.write(agents.disconnect, now, team_id, agent_id, connected_at)

    async def agents_seen(
        self, team_id: uuid.UUID, agent_ids: list[uuid.UUID], *, now: datetime | None = None
    ) -> None:
        if agent_ids:
            await self.db.write(agents.seen, now, team_id, agent_ids)

    async def agent_prune_offline(
        self, keep: timedelta, *, limit: int = DEFAULT_BATCH_LIMIT, now: datetime | None = None
    ) -> int:
        """Delete up to ``limit`` agents (any team) offline for longer than ``keep``."""
        retention.check_limit(limit)
        return await self.db.write(agents.prune_offline, now, keep, limit)

    async def agent_list(self, team_id: uuid.UUID) -> list[Agent]:
        return await self.db.read(agents.list_agents, None, team_id)

    async def agent_get(self, team_id: uuid.UUID, agent_id: uuid.UUID) -> Agent:
        return await self.db.read(agents.get_agent, None, team_id, agent_id)

    async def agent_set_draining(
        self,
        team_id: uuid.UUID,
        agent_id: uuid.UUID,
        draining: bool,
        *,
        audit: AuditEntry | None = None,
    ) -> Agent:
        op = audited(agents.set_draining, audit)
        return await self.db.write(op, None, team_id, agent_id, draining)

    async def action_list(self, team_id: uuid.UUID) -> list[ActionInfo]:
        return await self.db.read(catalog.list_actions, None, team_id)

    async def action_latest(self, team_id: uuid.UUID, name: str) -> ActionVersion | None:
        return await self.db.read_cached(
            CATALOG, (team_id, name), catalog.latest_version, team_id, name
        )

    async def log_append(
        self,
        team_id: uuid.UUID,
        chunks: list[LogChunkIn],
        *,
        max_line_bytes: int = logs.MAX_LINE_BYTES,
        max_attempt_bytes: int = logs.MAX_ATTEMPT_LOG_BYTES,
        now: datetime | None = None,
    ) -> list[LogAppended]:
        """Store agents' log chunks, each fenced by its attempt's token; one result per chunk."""
        if not chunks:
            return []
        return await self.db.write(
            logs.append, now, team_id, chunks,
            max_line_bytes=max_line_bytes, max_attempt_bytes=max_attempt_bytes,
        )  # fmt: skip

    async def log_read(
        self,
        team_id: uuid.UUID,
        job_id: uuid.UUID,
        *,
        after: LogCursor | None = None,
        limit: int = 1000,
    ) -> list[LogChunkOut]:
        return await self.db.read(logs.read, None, team_id, job_id, after=after, limit=limit)

    async def artifact_record(
        self,
        team_id: uuid.UUID,
        job_id: uuid.UUID,
        lease_token: uuid.UUID,
        *,
        name: str,
        size: int,
        sha256: str,
        content_type: str,
        storage_key: str,
    ) -> Artifact:
        """Record an uploaded file (LeaseLost unless the token holds the running job).

        When the name was taken, ``replaced_storage_key`` names the blob to delete.
        """
        return await self.db.write(
            artifacts.record, None, team_id, job_id, lease_token, name=name, size=size,
            sha256=sha256, content_type=content_type, storage_key=storage_key,
        )  # fmt: skip

    async def artifact_list(self, team_id: uuid.UUID, job_id: uuid.UUID) -> list[Artifact]:
        return await self.db.read(artifacts.list_artifacts, None, team_id, job_id)

    async def artifact_get(self, team_id: uuid.UUID, job_id: uuid.UUID, name: str) -> Artifact:
        return await self.db.read(artifacts.get_artifact, None, team_id, job_id, name)

    async def job_lease_valid(
        self, team_id: uuid.UUID, job_id: uuid.UUID, lease_token: uuid.UUID
    ) -> bool:
        return await self.db.read(artifacts.lease_valid, None, team_id, job_id, lease_token)
