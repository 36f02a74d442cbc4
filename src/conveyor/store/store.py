"""The store: one async method per query, ``team_id`` first where rows are team-owned.

Every time-dependent method takes ``now``: None means the database clock; tests
pass a time to move the clock instead of sleeping.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from conveyor.errors import Conflict, NotFound
from conveyor.protocol import ActionOffer
from conveyor.states import WAITING, JobState
from conveyor.store import migrate
from conveyor.store.audit_store import AccountsAndAudit
from conveyor.store.database import Database, Publish, Tx
from conveyor.store.queries import (
    accounts,
    agents,
    artifacts,
    catalog,
    claim,
    control,
    leases,
    listing,
    logs,
    maintenance,
    reads,
    retention,
    submit,
    waiting,
)
from conveyor.store.queries.audit import AuditEntry, audited, ids_detail
from conveyor.store.records import (
    ActionInfo,
    ActionVersion,
    Agent,
    ApiKey,
    Artifact,
    Attempt,
    ChangeResult,
    ClaimedJob,
    Event,
    HeartbeatResult,
    Job,
    JobPage,
    LogAppended,
    LogChunkIn,
    LogChunkOut,
    LogCursor,
    Membership,
    RefreshOutcome,
    ReportResult,
    SigningKey,
    Submitted,
    Team,
    User,
    UserAccess,
)
from conveyor.store.team_store import TeamStore

DEFAULT_BATCH_LIMIT = 1000


def _about_jobs(entry: AuditEntry, submitted: list[Submitted]) -> AuditEntry:
    """A submission's audit row names its job, or how many and which when a batch."""
    if len(submitted) == 1:
        return entry.about("job", submitted[0].id)
    return entry.about("job", None, **ids_detail([s.id for s in submitted]))


def _found(message: str) -> Callable[[AuditEntry, bool], AuditEntry]:
    """For writes that answer False when their object is missing: refuse, in the
    transaction, to record a success that changed nothing."""

    def check(entry: AuditEntry, found: bool) -> AuditEntry:
        if not found:
            raise NotFound(message)
        return entry

    return check


class Store(TeamStore, AccountsAndAudit):
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

    async def queue_set_paused(
        self, team_id: uuid.UUID, name: str, paused: bool, *, audit: AuditEntry | None = None
    ) -> None:
        await self.db.write(audited(control.set_queue_paused, audit), None, team_id, name, paused)

    # accounts

    async def user_create(
        self,
        email: str,
        password_hash: str | None,
        *,
        display_name: str = "",
        is_superuser: bool = False,
        team_id: uuid.UUID | None = None,
        role: str | None = None,
    ) -> User:
        """Create a user (email lower-cased; :class:`Conflict` if taken), with a first team."""
        return await self.db.write(
            accounts.create_user, None, email, password_hash, display_name=display_name,
            is_superuser=is_superuser, team_id=team_id, role=role,
        )  # fmt: skip

    async def user_by_email(self, email: str) -> User | None:
        return await self.db.read(accounts.user_by_email, None, email)

    async def user_get(self, user_id: uuid.UUID) -> User | None:
        return await self.db.read(accounts.get_user, None, user_id)

    async def user_access(self, user_id: uuid.UUID) -> UserAccess | None:
        """The user and their teams (default first) in one read, for authentication."""
        return await self.db.read(accounts.user_access, None, user_id)

    async def user_set_password(
        self, user_id: uuid.UUID, password_hash: str, *, end_sessions: bool = True
    ) -> None:
        await self.db.write(
            accounts.set_password, None, user_id, password_hash, end_sessions=end_sessions
        )

    async def user_set_disabled(self, user_id: uuid.UUID, disabled: bool) -> None:
        await self.db.write(accounts.set_disabled, None, user_id, disabled)

    async def team_get(self, team_id: uuid.UUID) -> Team | None:
        return await self.db.read(accounts.get_team, None, team_id)

    async def member_add(self, team_id: uuid.UUID, user_id: uuid.UUID, role: str) -> None:
        await self.db.write(accounts.add_member, None, team_id, user_id, role)

    async def member_role(self, team_id: uuid.UUID, user_id: uuid.UUID) -> str | None:
        return await self.db.read(accounts.member_role, None, team_id, user_id)

    async def teams_of_user(self, user_id: uuid.UUID) -> list[Membership]:
        return await self.db.read(accounts.teams_of_user, None, user_id)

    async def api_key_create(
        self,
        team_id: uuid.UUID,
        *,
        kind: str,
        name: str,
        prefix: str,
        secret_hash: str,
        scopes: list[str],
        created_by: uuid.UUID | None,
        expires_at: datetime | None,
        client_cert_cn: str | None = None,
        limits: dict[str, Any] | None = None,
        now: datetime | None = None,
        audit: AuditEntry | None = None,
    ) -> ApiKey:
        op = audited(accounts.create_api_key, audit, lambda e, key: e.about("api_key", key.id))
        return await self.db.write(
            op, now, team_id, kind=kind, name=name, prefix=prefix,
            secret_hash=secret_hash, scopes=scopes, created_by=created_by, expires_at=expires_at,
            client_cert_cn=client_cert_cn,
            limits=limits,
        )  # fmt: skip

    async def api_key_by_prefix(self, prefix: str) -> ApiKey | None:
        return await self.db.read(accounts.api_key_by_prefix, None, prefix)

    async def api_key_access(self, prefix: str) -> tuple[ApiKey, UserAccess | None] | None:
        """The key and its creator's access to the key's team, in one read (authentication)."""
        return await self.db.read(accounts.api_key_access, None, prefix)

    async def api_key_list(self, team_id: uuid.UUID) -> list[ApiKey]:
        return await self.db.read(accounts.list_api_keys, None, team_id)

    async def api_key_revoke(
        self, team_id: uuid.UUID, key_id: uuid.UUID, *, audit: AuditEntry | None = None
    ) -> bool:
        """Revoke a key of the team (idempotent); False when the team has no such key
        (:class:`NotFound` when audited: no success is recorded for it)."""
        op = audited(accounts.revoke_api_key, audit, _found(f"API key {key_id} not found"))
        return await self.db.write(op, None, team_id, key_id)

    async def api_key_touch(
        self, key_id: uuid.UUID, *, min_interval_s: float = 60.0, now: datetime | None = None
    ) -> None:
        """Set ``last_used_at`` unless it was set less than ``min_interval_s`` ago."""
        await self.db.write(accounts.touch_api_key, now, key_id, min_interval_s)

    async def refresh_create(
        self,
        user_id: uuid.UUID,
        family_id: uuid.UUID,
        token_hash: str,
        expires_at: datetime,
        *,
        now: datetime | None = None,
        audit: AuditEntry | None = None,
    ) -> None:
        await self.db.write(
            audited(accounts.create_refresh, audit), now, user_id, family_id, token_hash, expires_at
        )

    async def refresh_rotate(
        self, token_hash: str, new_hash: str, expires_at: datetime, *, now: datetime | None = None
    ) -> RefreshOutcome:
        """Atomically use a refresh token: rotated, reused (family revoked) or invalid."""
        return await self.db.write(accounts.rotate_refresh, now, token_hash, new_hash, expires_at)

    async def refresh_live_owner(self, token_hash: str) -> uuid.UUID | None:
        """The user a usable refresh token belongs to; None when spent, revoked or expired."""
        return await self.db.read(accounts.live_refresh_owner, None, token_hash)

    async def refresh_revoke_family(self, family_id: uuid.UUID) -> None:
        await self.db.write(accounts.revoke_family, None, family_id)

    async def refresh_revoke_token_family(
        self, token_hash: str, *, user_id: uuid.UUID | None = None, audit: AuditEntry | None = None
    ) -> bool:
        """Logout: revoke the family of this token (of ``user_id``, when given); False
        when there is no such token (:class:`NotFound` when audited)."""
        op = audited(
            accounts.revoke_family_of,
            audit,
            _found("no such refresh token of yours: nothing was logged out"),
        )
        return await self.db.write(op, None, token_hash, user_id=user_id)

    async def refresh_revoke_user(self, user_id: uuid.UUID) -> None:
        await self.db.write(accounts.revoke_user_refresh, None, user_id)

    async def signing_key_current(self) -> SigningKey:
        """The key to sign with; the first call on a fresh database makes one (race-safe)."""
        key = await self.db.read(accounts.signing_key_current_or_none, None)
        if key is not None:
            return key
        return await self.db.write(accounts.current_signing_key, None)

    async def signing_key_rotate(self) -> SigningKey:
        """Retire the current signing key and make the next (old tokens still verify)."""
        return await self.db.write(accounts.rotate_signing_key, None)

    async def signing_key_get(self, kid: str) -> SigningKey | None:
        return await self.db.read(accounts.get_signing_key, None, kid)

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
        op = audited(submit.submit_jobs, audit, _about_jobs)
        return await self.db.write(op, now, team_id, specs)

    async def job_submit_and_claim(
        self,
        team_id: uuid.UUID,
        specs: list[submit.JobSpec],
        requests: list[claim.ClaimRequest],
        *,
        now: datetime | None = None,
        audit: AuditEntry | None = None,
    ) -> tuple[list[Submitted], list[list[ClaimedJob]]]:
        """Submit, then claim the new jobs for ``requests`` in the same transaction.

        For agents already waiting idle: see :func:`claim.claim_submitted`. The
        claims are listed in the order of ``requests``.
        """
        submit_op = audited(submit.submit_jobs, audit, _about_jobs)

        def op(
            tx: Tx, team_id: uuid.UUID, specs: list[submit.JobSpec]
        ) -> tuple[list[Submitted], list[list[ClaimedJob]]]:
            submitted = submit_op(tx, team_id, specs)
            return submitted, claim.claim_submitted(tx, team_id, submitted, requests)

        if not specs:
            return [], [[] for _ in requests]
        return await self.db.write(op, now, team_id, specs)

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
        self, team_id: uuid.UUID, page: list[Job]
    ) -> dict[uuid.UUID, str]:
        """Why each waiting job of ``page`` waits (see :class:`waiting.WaitingReason`)."""
        if not any(job.state in WAITING for job in page):
            return {}
        return await self.db.read(waiting.waiting_reasons, None, team_id, page)

    async def job_count_by_state(self, team_id: uuid.UUID) -> dict[str, int]:
        return await self.db.read(reads.count_by_state, None, team_id)

    async def attempt_list(self, team_id: uuid.UUID, job_id: uuid.UUID) -> list[Attempt]:
        return await self.db.read(reads.list_attempts, None, team_id, job_id)

    async def event_last_seq(self) -> int:
        return await self.db.read(reads.last_event_seq, None)

    # agents, catalog, logs, artifacts, listing

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
        now: datetime | None = None,
    ) -> uuid.UUID:
        """Record a (re)connected agent and its offers; the id is stable per (team, name)."""
        return await self.db.write(
            agents.connect, now, team_id, name=name, labels=labels, slots=slots,
            version=version, queues=queues, actions=actions, key_id=key_id, user_id=user_id,
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
        return await self.db.read(catalog.latest_version, None, team_id, name)

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

    async def job_list(
        self,
        team_id: uuid.UUID,
        *,
        states: list[str] | None = None,
        queue: str | None = None,
        action: str | None = None,
        agent_id: uuid.UUID | None = None,
        limit: int = 50,
        cursor: int | None = None,
    ) -> JobPage:
        """Jobs newest first; ``cursor`` is the previous page's ``next_cursor``."""
        return await self.db.read(
            listing.list_jobs, None, team_id, states=states, queue=queue, action=action,
            agent_id=agent_id, limit=limit, cursor=cursor,
        )  # fmt: skip

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
