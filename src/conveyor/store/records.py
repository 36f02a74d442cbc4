"""What the store hands back: plain, typed, immutable rows."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.engine import Row

from conveyor.errors import InvalidInput
from conveyor.states import AttemptOutcome, JobState


@dataclass(frozen=True, slots=True)
class Job:
    """A job as the public contract shows it."""

    id: uuid.UUID
    team_id: uuid.UUID
    action: str
    schema_hash: str | None  # the action's schema version it was validated against
    params: Any
    queue: str
    priority: int
    state: JobState
    run_at: datetime
    attempt: int
    attempt_floor: int
    max_attempts: int
    timeout_s: float | None
    labels: dict[str, str]
    agent_id: uuid.UUID | None
    lease_expires_at: datetime | None
    cancel_requested_at: datetime | None
    idempotency_key: str | None
    concurrency_key: str | None
    concurrency_limit: int | None
    parent_id: uuid.UUID | None
    progress: Any
    result: Any
    error: Any
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    seq: int
    created_by: uuid.UUID | None = None  # the user of the login that submitted it
    created_by_key: uuid.UUID | None = None  # or the API key (see :class:`Submitter`)
    schedule_id: uuid.UUID | None = None  # the schedule whose tick made it
    schedule_fire_at: datetime | None = None  # and that tick's fire time
    rate_key: str | None = None  # its starts count against this key's rate limit
    fair_key: str | None = None  # a fair queue shares its agents across these

    @classmethod
    def from_row(cls, row: Row[Any]) -> Job:
        m = row._mapping
        return cls(
            **{name: m[name] for name in cls.__slots__ if name != "state"},
            state=JobState(m["state"]),
        )


@dataclass(frozen=True, slots=True)
class Submitter:
    """Who submitted a job: a user (``name``: display name, else email) or an API key
    (``name``: the key's)."""

    kind: Literal["user", "key"]
    id: uuid.UUID
    name: str


@dataclass(frozen=True, slots=True)
class Submitted:
    """One submitted job: ``created`` is False when an idempotency key matched."""

    id: uuid.UUID
    state: JobState
    created: bool


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    """A job handed to an agent, with the lease token that fences its writes."""

    id: uuid.UUID
    action: str
    schema_hash: str | None
    params: Any
    queue: str
    priority: int
    attempt: int
    max_attempts: int
    lease_token: uuid.UUID
    lease_expires_at: datetime
    deadline_at: datetime | None
    timeout_s: float | None
    lease_s: float
    cancel_grace_s: float
    started_at: datetime
    queued_at: datetime  # when it became due (created or run_at): its wait is started_at - this
    traceparent: str | None = None  # the trace the job joins (conveyor.tracing)


@dataclass(frozen=True, slots=True)
class HeartbeatResult:
    """Leases still held (with their new expiry), lost, and cancel requests among them."""

    extended: dict[uuid.UUID, datetime]
    lost: list[uuid.UUID]
    cancel_requested: list[uuid.UUID]


@dataclass(frozen=True, slots=True)
class ReportResult:
    """Per-item outcome of a batched report: ``applied`` False means a stale lease."""

    job_id: uuid.UUID
    applied: bool
    state: JobState | None


@dataclass(frozen=True, slots=True)
class ChangeResult:
    """Per-item outcome of cancel or retry."""

    job_id: uuid.UUID
    state: JobState
    cancel_requested: bool = False


@dataclass(frozen=True, slots=True)
class BulkChange:
    """What one bulk cancel or retry did: how many jobs it changed, how many of those
    named it left alone, and how many matching jobs a further call would change.
    ``next_seq``: where that call goes on (below it); None when nothing remains."""

    affected: int
    skipped: int
    remaining: int
    next_seq: int | None = None


@dataclass(frozen=True, slots=True)
class Attempt:
    job_id: uuid.UUID
    attempt: int
    agent_id: uuid.UUID | None
    lease_token: uuid.UUID
    outcome: AttemptOutcome
    error: Any
    started_at: datetime
    finished_at: datetime | None


# agents, catalog, logs, artifacts, listing

_CURSOR = re.compile(r"([0-9]{1,9}):([0-9]{1,9})")


@dataclass(frozen=True, slots=True)
class Agent:
    """An agent as the team sees it; one row per (team, name), kept across reconnects."""

    id: uuid.UUID
    team_id: uuid.UUID
    name: str
    labels: dict[str, str]
    slots: int
    version: str
    queues: list[str]
    actions: list[dict[str, Any]]  # what it offered at its last hello: {"name", "schema_hash"}
    draining: bool
    key_id: uuid.UUID | None
    user_id: uuid.UUID | None
    connected_at: datetime | None
    last_seen_at: datetime | None
    disconnected_at: datetime | None
    created_at: datetime
    host: str  # the hostname its hello reported ("" for an agent that reports none)
    slots_busy: int  # jobs running on it now

    @property
    def connected(self) -> bool:
        return self.connected_at is not None and self.disconnected_at is None

    @classmethod
    def from_row(cls, row: Row[Any]) -> Agent:
        m = row._mapping
        values = {name: m[name] for name in cls.__slots__}
        values["queues"] = values["queues"] or []
        values["actions"] = values["actions"] or []
        return cls(**values)


@dataclass(frozen=True, slots=True)
class ActionVersion:
    """One schema version of an action, as some agent offered it."""

    schema_hash: str
    params_schema: dict[str, Any]
    last_seen_at: datetime


@dataclass(frozen=True, slots=True)
class ActionInfo:
    """An action of the catalog: its versions (most recently seen first) and who offers it now."""

    name: str
    versions: list[ActionVersion]
    agents: list[str]  # names of connected agents offering it
    description: str = ""  # what the most recently seen offer said the action does
    concurrency_limit: int | None = None  # at most this many of its jobs run at once


@dataclass(frozen=True, slots=True)
class LogChunkIn:
    """Lines of one attempt as an agent sent them, fenced by that attempt's lease token."""

    job_id: uuid.UUID
    lease_token: uuid.UUID
    attempt: int
    seq: int
    lines: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class LogAppended:
    """Per-chunk outcome of ``log_append``: ``stored`` False means a stale lease token."""

    job_id: uuid.UUID
    attempt: int
    seq: int
    stored: bool


@dataclass(frozen=True, slots=True, order=True)
class LogCursor:
    """A position in a job's log: after chunk ``seq`` of ``attempt``; text form "attempt:seq"."""

    attempt: int
    seq: int

    def __str__(self) -> str:
        return f"{self.attempt}:{self.seq}"

    @classmethod
    def parse(cls, text: str) -> LogCursor:
        """Read the "attempt:seq" form; :class:`InvalidInput` when it is not one."""
        match = _CURSOR.fullmatch(text)
        if match is None:
            raise InvalidInput(
                f"a log cursor looks like 'attempt:seq', got {text[:40]!r}", field="after"
            )
        return cls(int(match[1]), int(match[2]))


@dataclass(frozen=True, slots=True)
class LogChunkOut:
    attempt: int
    seq: int
    lines: list[dict[str, Any]]
    created_at: datetime

    @property
    def cursor(self) -> LogCursor:
        return LogCursor(self.attempt, self.seq)


@dataclass(frozen=True, slots=True)
class Artifact:
    """A file a job produced, kept in blob storage under ``storage_key``.

    ``replaced_storage_key`` is set only by ``artifact_record`` when the name was
    already taken: the caller deletes that blob once the new record is committed.
    """

    job_id: uuid.UUID
    name: str
    attempt: int
    size: int
    sha256: str
    content_type: str
    storage_key: str
    created_at: datetime
    published_at: datetime | None
    replaced_storage_key: str | None = None


@dataclass(frozen=True, slots=True)
class QueueSummary:
    """A queue that is configured or holds unfinished jobs, with its jobs per state."""

    name: str
    paused: bool
    counts: dict[str, int]
    rate_limit: RateLimit | None = None  # at most count starts per interval_s
    concurrency_limit: int | None = None  # at most this many of its jobs run at once
    fair: bool = False  # its agents are shared across the jobs' fair keys


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most ``count`` starts in any ``interval_s`` seconds (a sliding window); for a
    queue, or for the jobs of a rate key (``key``)."""

    count: int
    interval_s: float
    key: str | None = None


@dataclass(frozen=True, slots=True)
class JobPage:
    """One page of jobs, newest first; pass ``next_cursor`` back for the next (None: last)."""

    items: list[Job]
    next_cursor: int | None


@dataclass(frozen=True, slots=True)
class Event:
    """One outbox entry: ``data`` is small (ids, states, sequence numbers)."""

    seq: int
    kind: str
    object_id: uuid.UUID
    data: dict[str, Any]
    created_at: datetime


# accounts: users, teams, members, API keys, refresh tokens, signing keys


@dataclass(frozen=True, slots=True)
class User:
    """A person who logs in; ``password_hash`` never leaves the server."""

    id: uuid.UUID
    email: str
    display_name: str
    password_hash: str | None
    is_superuser: bool
    disabled_at: datetime | None
    created_at: datetime
    credentials_epoch: int  # bumped by every password change or reset
    credentials_kept_session: uuid.UUID | None  # the login the last change kept, if any

    @property
    def disabled(self) -> bool:
        return self.disabled_at is not None

    def accepts(self, epoch: int, session_id: uuid.UUID | None) -> bool:
        """Whether a token issued under ``epoch`` for ``session_id`` survived the
        password changes since: issued under the current credentials, or part of
        the login that made the last change."""
        if epoch >= self.credentials_epoch:
            return True
        return session_id is not None and session_id == self.credentials_kept_session


@dataclass(frozen=True, slots=True)
class Team:
    id: uuid.UUID
    slug: str
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Membership:
    """One team a user belongs to, and their role there."""

    team_id: uuid.UUID
    slug: str
    name: str
    role: str
    role_permissions: list[str] | None = None  # a custom role's grants; None for built-in ones


@dataclass(frozen=True, slots=True)
class UserAccess:
    """What authenticating a user needs in one read: the user and their teams (first = default)."""

    user: User
    memberships: list[Membership]


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An API key's row; ``secret_hash`` (SHA-256 of the whole key) never leaves the server."""

    id: uuid.UUID
    team_id: uuid.UUID
    kind: str  # "agent" or "client"
    name: str
    prefix: str
    secret_hash: str
    scopes: list[str]
    created_by: uuid.UUID | None
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    client_cert_cn: str | None = None  # mutual TLS: the certificate this agent key is bound to
    limits: dict[str, Any] | None = None  # an agent key's {"actions": [...], "labels": {...}}


@dataclass(frozen=True, slots=True)
class RefreshOutcome:
    """What presenting a refresh token did.

    ``rotated``: it was valid, is now used, and its successor is stored.
    ``reused``: it had been used before, so its whole family is now revoked.
    ``invalid``: unknown, expired or revoked.
    """

    status: Literal["rotated", "reused", "invalid"]
    user_id: uuid.UUID | None = None
    family_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A JWT signing secret, named by ``kid``; a retired key still verifies, never signs."""

    kid: str
    secret: str
    created_at: datetime
    retired_at: datetime | None = None


# audit


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One audit row: who did what to which object, from where, and how it ended."""

    seq: int
    id: uuid.UUID
    team_id: uuid.UUID | None
    actor_kind: str
    actor_id: uuid.UUID | None
    actor_display: str
    action: str
    object_type: str | None
    object_id: str | None
    outcome: str
    status: int
    client_addr: str | None
    details: dict[str, Any] | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AuditPage:
    """One page of audit rows, newest first; ``next_cursor`` None on the last."""

    items: list[AuditEvent]
    next_cursor: int | None
