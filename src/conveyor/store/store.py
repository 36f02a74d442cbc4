"""The store: one async method per query, ``team_id`` first where rows are team-owned.

Every time-dependent method takes ``now``: None means the database clock; tests
pass a time to move the clock instead of sleeping. This module holds the jobs,
their events and retention; the mixins hold the rest, one concern per file:
accounts (accounts_store), the audit log and self-service (audit_store), teams
(team_store), agents, catalog, logs and artifacts (fleet_store), schedules
(schedule_store), flow control (flow_store), stats rollups (stats_store).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

import sqlalchemy as sa

from conveyor.errors import Conflict, InvalidInput
from conveyor.states import WAITING, JobState
from conveyor.store import migrate
from conveyor.store.accounts_store import AccountsStore
from conveyor.store.audit_store import AccountsAndAudit
from conveyor.store.database import Database
from conveyor.store.fleet_store import FleetStore
from conveyor.store.flow_store import FlowStore
from conveyor.store.queries import (
    bulk,
    claim,
    control,
    leases,
    listing,
    maintenance,
    reads,
    retention,
    submit,
    waiting,
)
from conveyor.store.queries.audit import AuditEntry, audited, ids_detail
from conveyor.store.queries.idempotency import DEFAULT_WINDOW
from conveyor.store.queries.job_filter import JobFilter, filter_detail
from conveyor.store.queries.maintenance import DEFAULT_BATCH_LIMIT
from conveyor.store.read_cache import TOPICS
from conveyor.store.records import (
    Attempt,
    BulkChange,
    ChangeResult,
    ClaimedJob,
    Event,
    HeartbeatResult,
    Job,
    JobPage,
    QueueSummary,
    ReportResult,
    Submitted,
    Submitter,
)
from conveyor.store.schedule_store import ScheduleStore
from conveyor.store.stats_store import StatsStore
from conveyor.store.team_store import TeamStore
from conveyor.store.transaction import Publish


class Store(
    TeamStore, AccountsStore, AccountsAndAudit, FleetStore, ScheduleStore, FlowStore, StatsStore
):
    """Conveyor's durable state on SQLite or PostgreSQL."""

    def __init__(self, db: Database, *, idempotency_window: timedelta = DEFAULT_WINDOW) -> None:
        self.db = db
        # How long a finished job keeps its idempotency key (see queries/idempotency).
        self.idempotency_window = idempotency_window

    @classmethod
    async def open(cls, url: str, *, migrate_schema: bool = True, pool_size: int = 10,
                   sqlite_synchronous: str = "FULL",
                   idempotency_window: timedelta = DEFAULT_WINDOW) -> Store:  # fmt: skip
        """Open a store; a fresh database is migrated on first use.

        With ``migrate_schema=False`` a database that is not at this code's schema
        revision is refused (:class:`SchemaOutdated` or :class:`SchemaTooNew`).
        ``idempotency_window``: how long after its job finishes a key still returns
        that job (0: only while it is unfinished).
        """
        if idempotency_window < timedelta(0):
            raise InvalidInput("the idempotency window must not be negative")
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
        return cls(db, idempotency_window=idempotency_window)

    @property
    def dialect(self) -> str:
        return self.db.dialect

    @property
    def url(self) -> str:
        """The database URL, with the driver the store picked."""
        return self.db.url

    def observe_calls(self, observe: Callable[[str, str, float], None]) -> None:
        """Be told (read or write, operation, seconds) after every store call (metrics)."""
        self.db.observe = observe

    def pool_use(self) -> list[tuple[str, int, int]]:
        """(pool, size, connections in use) of each of the store's connection pools."""
        return self.db.pool_use()

    def on_commit(self, publish: Publish) -> None:
        self.db.on_commit(publish)

    def forget_cached(self, topic: str) -> None:
        """Drop cached reads of ``topic`` (another process changed it: see read_cache)."""
        if topic in TOPICS:
            self.db.cache.forget(topic)

    async def close(self) -> None:
        await self.db.close()

    # teams and queues

    async def team_create(self, slug: str, name: str) -> uuid.UUID:
        return await self.db.write(control.create_team, None, slug, name)

    async def team_by_slug(self, slug: str) -> uuid.UUID | None:
        return await self.db.read(reads.team_by_slug, None, slug)

    async def queue_list(self, team_id: uuid.UUID) -> list[QueueSummary]:
        """Configured queues and those holding unfinished jobs, by name."""
        return await self.db.read(reads.queue_overview, None, team_id)

    async def queue_set_paused(
        self, team_id: uuid.UUID, name: str, paused: bool, *, audit: AuditEntry | None = None
    ) -> None:
        await self.db.write(audited(control.set_queue_paused, audit), None, team_id, name, paused)

    # jobs

    async def job_submit_many(
        self,
        team_id: uuid.UUID,
        specs: list[submit.JobSpec],
        *,
        now: datetime | None = None,
        audit: AuditEntry | None = None,
    ) -> list[Submitted]:
        if not specs:
            return []
        window = self.idempotency_window
        return await self.db.write(submit.submit_jobs, now, team_id, specs, audit, window)

    async def job_submit_and_claim(
        self,
        team_id: uuid.UUID,
        specs: list[submit.JobSpec],
        requests: list[claim.ClaimRequest],
        *,
        now: datetime | None = None,
        audit: AuditEntry | None = None,
    ) -> tuple[list[Submitted], list[list[ClaimedJob]]]:
        """Submit, then claim the new jobs for agents already waiting idle (``requests``).

        On PostgreSQL, when the first agent may run every new job now, one
        autocommit statement inserts them already claimed (:func:`claim.submit_to`);
        if something queued comes first or the queue is paused it inserts them
        queued, and they are claimed in a second transaction. Otherwise, or when an
        idempotency key is already held (a retry: the statement wrote nothing), the
        insert and the claims share one transaction (:func:`claim.submit_and_claim`).
        The claims are listed in the order of ``requests``.
        """
        if not specs:
            return [], [[] for _ in requests]
        config = await self.flow_config(team_id)
        taker = claim.taker_for(self.db.dialect, specs, requests, config)
        if taker is not None:
            try:
                submitted, taken = await self.db.write_statement(
                    claim.submit_to, now, team_id, specs, audit, taker
                )
            except sa.exc.IntegrityError:
                taker = None  # a held key, or what the usual submit refuses the same way
        if taker is None:
            op = claim.submit_and_claim
            window = self.idempotency_window
            return await self.db.write(op, now, team_id, specs, audit, requests, window, config)
        if taken:
            return submitted, [taken] + [[] for _ in requests[1:]]
        # Something queued comes first, or the queue is paused: claim as usual.
        claims = await self.db.write(
            claim.claim_submitted, now, team_id, submitted, requests, config
        )
        return submitted, claims

    async def job_claim(
        self, team_id: uuid.UUID, request: claim.ClaimRequest, *, now: datetime | None = None
    ) -> list[ClaimedJob]:
        config = await self.flow_config(team_id)
        op = claim.claim_noting_retry
        claimed, retry_in_s = await self.db.write(op, now, team_id, request, config)
        if retry_in_s is not None:
            self.note_flow_retry(retry_in_s)
        return claimed

    async def lease_extend(
        self, team_id: uuid.UUID, held: list[leases.Lease], *, now: datetime | None = None
    ) -> HeartbeatResult:
        return await self.db.write(leases.extend_leases, now, team_id, held)

    async def job_report(
        self, team_id: uuid.UUID, reports: list[leases.Report], *, now: datetime | None = None
    ) -> list[ReportResult]:
        config = await self.flow_config(team_id)
        return await self.db.write(leases.apply_reports, now, team_id, reports, config)

    async def job_cancel(
        self,
        team_id: uuid.UUID,
        job_ids: list[uuid.UUID],
        *,
        now: datetime | None = None,
        audit: AuditEntry | None = None,
    ) -> list[ChangeResult]:
        return await self.db.write(audited(control.cancel_jobs, audit), now, team_id, job_ids)

    async def job_retry(
        self,
        team_id: uuid.UUID,
        job_ids: list[uuid.UUID],
        *,
        now: datetime | None = None,
        audit: AuditEntry | None = None,
    ) -> list[ChangeResult]:
        try:
            return await self.db.write(audited(control.retry_jobs, audit), now, team_id, job_ids)
        except sa.exc.IntegrityError:
            raise Conflict(
                "another unfinished job holds this job's idempotency key; it cannot run again "
                "until that one finishes"
            ) from None

    async def job_cancel_many(
        self,
        team_id: uuid.UUID,
        *,
        ids: list[uuid.UUID] | None = None,
        where: JobFilter | None = None,
        limit: int = bulk.BULK_MAX,
        below: int | None = None,
        now: datetime | None = None,
        audit: AuditEntry | None = None,
    ) -> BulkChange:
        """Cancel the jobs named by ``ids``, or up to ``limit`` of those ``where`` matches
        (newest first; with ``below``, only older than it), as :meth:`job_cancel` does; a
        job it cannot cancel is skipped."""
        bulk.check_selection(ids, where, limit, below)
        op = audited(bulk.cancel_many, audit, _bulk_details(ids, where))
        return await self.db.write(op, now, team_id, ids, where, limit, below)

    async def job_retry_many(
        self,
        team_id: uuid.UUID,
        *,
        ids: list[uuid.UUID] | None = None,
        where: JobFilter | None = None,
        limit: int = bulk.BULK_MAX,
        below: int | None = None,
        now: datetime | None = None,
        audit: AuditEntry | None = None,
    ) -> BulkChange:
        """Retry the dead or cancelled jobs named by ``ids``, or up to ``limit`` of those
        ``where`` matches (newest first; with ``below``, only older than it), as
        :meth:`job_retry` does; others are skipped."""
        bulk.check_selection(ids, where, limit, below)
        op = audited(bulk.retry_many, audit, _bulk_details(ids, where))
        try:
            return await self.db.write(op, now, team_id, ids, where, limit, below)
        except sa.exc.IntegrityError:
            raise Conflict(
                "another unfinished job holds the idempotency key of a job to retry; "
                "it cannot run again until that one finishes"
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

    async def job_waiting_reasons(
        self, team_id: uuid.UUID, page: list[Job], *, now: datetime | None = None
    ) -> dict[uuid.UUID, str]:
        """Why each waiting job of ``page`` waits (see :class:`waiting.WaitingReason`);
        ``now`` is the time rate limits are judged at."""
        if not any(job.state in WAITING for job in page):
            return {}
        return await self.db.read(waiting.waiting_reasons, now, team_id, page)

    async def job_submitters(
        self, team_id: uuid.UUID, page: list[Job]
    ) -> dict[uuid.UUID, Submitter]:
        """Who submitted each job of ``page`` (jobs that do not record it are left out)."""
        if not any(job.created_by or job.created_by_key for job in page):
            return {}
        return await self.db.read(reads.submitters, None, team_id, page)

    async def job_count_by_state(self, team_id: uuid.UUID) -> dict[str, int]:
        return await self.db.read(reads.count_by_state, None, team_id)

    async def job_depths(self) -> list[tuple[str, str, int]]:
        """(queue, state, count) of unfinished jobs across all teams: for /metrics."""
        return await self.db.read(reads.depths, None)

    async def attempt_list(self, team_id: uuid.UUID, job_id: uuid.UUID) -> list[Attempt]:
        return await self.db.read(reads.list_attempts, None, team_id, job_id)

    async def event_last_seq(self) -> int:
        return await self.db.read(reads.last_event_seq, None)

    # listing and events

    async def job_list(
        self,
        team_id: uuid.UUID,
        *,
        states: list[str] | None = None,
        queue: str | None = None,
        action: str | None = None,
        agent_id: uuid.UUID | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        q: str | None = None,
        where: JobFilter | None = None,
        limit: int = 50,
        cursor: int | None = None,
    ) -> JobPage:
        """Jobs newest first; ``cursor`` is the previous page's ``next_cursor``.

        The filters are :class:`JobFilter`'s (``q``: an id prefix, or text in the
        action or the params), given one by one or as ``where``.
        """
        if where is None:
            where = JobFilter(
                tuple(states) if states is not None else None, queue, action, agent_id,
                created_after, created_before, q,
            )  # fmt: skip
        return await self.db.read(listing.list_jobs, None, team_id, where, limit=limit,
                                  cursor=cursor)  # fmt: skip

    async def events_after(
        self,
        team_id: uuid.UUID,
        after_seq: int,
        *,
        limit: int = 500,
        object_id: uuid.UUID | None = None,
        skip: Sequence[int] = (),
    ) -> list[Event]:
        return await self.db.read(
            listing.events_after, None, team_id, after_seq, limit=limit, object_id=object_id,
            skip=skip,
        )  # fmt: skip

    async def event_control_after(
        self, after_seq: int, *, limit: int = 500, skip: Sequence[int] = ()
    ) -> list[Event]:
        """Every team's ``control`` events (cancel, drain for an agent) after ``after_seq``."""
        return await self.db.read(
            listing.control_events_after, None, after_seq, limit=limit, skip=skip
        )

    async def job_next_run_at(self) -> datetime | None:
        value = await self.db.read(reads.next_run_at, None)
        assert value is None or isinstance(value, datetime)
        return value

    # retention

    async def job_prune_finished(
        self,
        keep: retention.KeepFinished,
        *,
        limit: int = DEFAULT_BATCH_LIMIT,
        now: datetime | None = None,
    ) -> retention.Pruned:
        """Delete up to ``limit`` finished jobs older than ``keep`` allows, with their
        attempts, logs, dependency edges and artifact rows.

        Returns the artifacts' storage keys: the caller deletes those blobs after
        this commits (a blob without a row is garbage; a row without a blob is a
        broken link).
        """
        retention.check_limit(limit)
        if keep.keeps_all:
            return retention.Pruned(jobs=0, storage_keys=[])
        return await self.db.write(retention.prune_finished, now, keep, limit)

    async def event_prune(
        self, keep: timedelta, *, limit: int = DEFAULT_BATCH_LIMIT, now: datetime | None = None
    ) -> int:
        """Delete up to ``limit`` outbox events older than ``keep``; returns how many."""
        retention.check_limit(limit)
        return await self.db.write(retention.prune_events, now, keep, limit)


def _bulk_details(
    ids: list[uuid.UUID] | None, where: JobFilter | None
) -> Callable[[AuditEntry, BulkChange], AuditEntry]:
    """The audit row of a bulk change: how the jobs were chosen and what it did."""

    def describe(entry: AuditEntry, done: BulkChange) -> AuditEntry:
        chosen = ids_detail(ids) if ids is not None else {"filter": filter_detail(where)}
        counts = {"affected": done.affected, "skipped": done.skipped, "remaining": done.remaining}
        mode = "ids" if ids is not None else "filter"
        return replace(entry, details={"mode": mode, **chosen, **counts})

    return describe
