"""The store: one async method per query, ``team_id`` first where rows are team-owned.

Every time-dependent method takes ``now``: None means the database clock; tests
pass a time to move the clock instead of sleeping.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa

from conveyor.errors import Conflict
from conveyor.states import JobState
from conveyor.store import migrate
from conveyor.store.database import Database, Publish
from conveyor.store.queries import claim, control, leases, maintenance, reads, submit
from conveyor.store.records import (
    Attempt,
    ChangeResult,
    ClaimedJob,
    HeartbeatResult,
    Job,
    ReportResult,
    Submitted,
)

DEFAULT_BATCH_LIMIT = 1000


class Store:
    """Conveyor's durable state on SQLite or PostgreSQL."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @classmethod
    async def open(cls, url: str, *, migrate_schema: bool = True, pool_size: int = 10,
                   sqlite_synchronous: str = "FULL") -> Store:  # fmt: skip
        """Open a store; a fresh database is migrated on first use.

        With ``migrate_schema=False`` a database that is not at this code's schema
        revision is refused (:class:`SchemaOutdated` or :class:`SchemaTooNew`).
        """
        db = Database(url, pool_size=pool_size, sqlite_synchronous=sqlite_synchronous)
        engine = db.sync_engine()
        try:
            if migrate_schema:
                migrate.upgrade(engine)
            migrate.check(engine)
        except BaseException:
            await db.close()
            raise
        finally:
            engine.dispose()
        return cls(db)

    @property
    def dialect(self) -> str:
        return self.db.dialect

    def on_commit(self, publish: Publish) -> None:
        self.db.on_commit(publish)

    async def close(self) -> None:
        await self.db.close()

    # teams and queues

    async def team_create(self, slug: str, name: str) -> uuid.UUID:
        return await self.db.write(control.create_team, None, slug, name)

    async def team_by_slug(self, slug: str) -> uuid.UUID | None:
        return await self.db.read(reads.team_by_slug, None, slug)

    async def queue_set_paused(self, team_id: uuid.UUID, name: str, paused: bool) -> None:
        await self.db.write(control.set_queue_paused, None, team_id, name, paused)

    # jobs

    async def job_submit_many(
        self, team_id: uuid.UUID, specs: list[submit.JobSpec], *, now: datetime | None = None
    ) -> list[Submitted]:
        if not specs:
            return []
        return await self.db.write(submit.submit_jobs, now, team_id, specs)

    async def job_claim(
        self, team_id: uuid.UUID, request: claim.ClaimRequest, *, now: datetime | None = None
    ) -> list[ClaimedJob]:
        return await self.db.write(claim.claim_jobs, now, team_id, request)

    async def lease_extend(
        self, team_id: uuid.UUID, held: list[leases.Lease], *, now: datetime | None = None
    ) -> HeartbeatResult:
        return await self.db.write(leases.extend_leases, now, team_id, held)

    async def job_report(
        self, team_id: uuid.UUID, reports: list[leases.Report], *, now: datetime | None = None
    ) -> list[ReportResult]:
        return await self.db.write(leases.apply_reports, now, team_id, reports)

    async def job_cancel(
        self, team_id: uuid.UUID, job_ids: list[uuid.UUID], *, now: datetime | None = None
    ) -> list[ChangeResult]:
        return await self.db.write(control.cancel_jobs, now, team_id, job_ids)

    async def job_retry(
        self, team_id: uuid.UUID, job_ids: list[uuid.UUID], *, now: datetime | None = None
    ) -> list[ChangeResult]:
        try:
            return await self.db.write(control.retry_jobs, now, team_id, job_ids)
        except sa.exc.IntegrityError:
            raise Conflict(
                "another unfinished job holds this job's idempotency key; it cannot run again "
                "until that one finishes"
            ) from None

    async def job_promote_due(
        self, *, limit: int = DEFAULT_BATCH_LIMIT, now: datetime | None = None
    ) -> list[uuid.UUID]:
        return await self.db.write(maintenance.promote_due, now, limit)

    async def job_reap_expired(
        self, *, limit: int = DEFAULT_BATCH_LIMIT, now: datetime | None = None
    ) -> list[tuple[uuid.UUID, JobState]]:
        return await self.db.write(maintenance.reap_expired, now, limit)

    async def job_get(self, team_id: uuid.UUID, job_id: uuid.UUID) -> Job:
        return await self.db.read(reads.get_job, None, team_id, job_id)

    async def job_get_many(self, team_id: uuid.UUID, job_ids: list[uuid.UUID]) -> list[Job]:
        return await self.db.read(reads.get_jobs, None, team_id, job_ids)

    async def job_count_by_state(self, team_id: uuid.UUID) -> dict[str, int]:
        return await self.db.read(reads.count_by_state, None, team_id)

    async def attempt_list(self, team_id: uuid.UUID, job_id: uuid.UUID) -> list[Attempt]:
        return await self.db.read(reads.list_attempts, None, team_id, job_id)

    async def event_last_seq(self) -> int:
        return await self.db.read(reads.last_event_seq, None)

    async def job_next_run_at(self) -> datetime | None:
        value = await self.db.read(reads.next_run_at, None)
        assert value is None or isinstance(value, datetime)
        return value
