"""The REST API's request and response bodies: the public contract, typed.

Responses are built from store records by ``of`` constructors so a route never
leaks a column the contract does not name (lease tokens, secret hashes).
Requests forbid unknown fields, so a misspelt option is a 422, not silently dropped.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from conveyor import bounds
from conveyor.api.examples import JOB_CREATE, JOB_OUT, LOGIN_REQUEST, TOKEN_RESPONSE
from conveyor.bounds import Json, Labels, Name, Opaque
from conveyor.states import AttemptOutcome, JobState
from conveyor.store import records


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


# auth


class LoginRequest(_Request):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [LOGIN_REQUEST]})

    email: Name = Field(min_length=1, max_length=320)
    password: Opaque = Field(min_length=1, max_length=1024)
    cookie: bool = Field(
        default=False,
        description="For a browser: the refresh token goes in the HttpOnly cookie "
        "`conveyor_refresh` (scoped to /api/v1/auth) instead of the answer, whose "
        "`refresh_token` is then null.",
    )


class RefreshRequest(_Request):
    refresh_token: Opaque | None = Field(
        default=None,
        min_length=1,
        max_length=1024,
        description="Omitted: the `conveyor_refresh` cookie is used, and the request "
        "must carry the header `X-Conveyor-CSRF: 1`.",
    )


class SessionRequest(_Request):
    refresh_token: Opaque = Field(min_length=1, max_length=1024)


class RegisterRequest(_Request):
    email: Name = Field(min_length=1, max_length=320)
    password: Opaque = Field(min_length=1, max_length=1024)
    display_name: Name = Field(default="", max_length=200)


class PasswordChange(_Request):
    current_password: Opaque = Field(min_length=1, max_length=1024)
    new_password: Opaque = Field(min_length=1, max_length=1024)


class TokenResponse(BaseModel):
    """OAuth2-style token answer of login and refresh."""

    model_config = ConfigDict(json_schema_extra={"examples": [TOKEN_RESPONSE]})

    access_token: str
    refresh_token: str | None = Field(
        description="Null when the refresh token travels in the `conveyor_refresh` cookie."
    )
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class UserOut(BaseModel):
    id: uuid.UUID
    email: str
    display_name: str
    is_superuser: bool


class TeamOut(BaseModel):
    """A team; ``role`` and ``permissions`` are the caller's there (a UI shows only what they allow)."""

    id: uuid.UUID
    slug: str
    name: str
    role: str | None = None
    permissions: list[str]


class MeResponse(BaseModel):
    """Who the caller is, which team this request works in, and what it may do there."""

    kind: str
    user: UserOut | None
    key_id: uuid.UUID | None
    team_id: uuid.UUID | None
    team: TeamOut | None
    permissions: list[str]
    teams: list[TeamOut]


# jobs


class JobCreate(_Request):
    """One job to submit; omitted fields take the server's defaults."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [JOB_CREATE]})

    action: Name = Field(min_length=1, max_length=bounds.NAME_MAX)
    params: Json = Field(default_factory=dict)
    queue: Name | None = Field(default=None, min_length=1, max_length=bounds.QUEUE_MAX)
    priority: int | None = Field(default=None, ge=bounds.PRIORITY_MIN, le=bounds.PRIORITY_MAX)
    run_at: Annotated[datetime | None, AfterValidator(bounds.check_timestamp)] = Field(
        default=None, description="in the years 1970 to 2999"
    )
    max_attempts: int | None = Field(default=None, ge=1, le=bounds.MAX_ATTEMPTS_MAX)
    timeout_s: float | None = Field(default=None, gt=0, le=bounds.TIMEOUT_MAX_S)
    cancel_grace_s: float | None = Field(
        default=None,
        ge=0,
        le=bounds.CANCEL_GRACE_MAX_S,
        description="How long a cancelled job may take to stop",
    )
    labels: Labels | None = None
    idempotency_key: Name | None = Field(default=None, min_length=1, max_length=bounds.NAME_MAX)
    concurrency_key: Name | None = Field(default=None, min_length=1, max_length=bounds.NAME_MAX)
    concurrency_limit: int | None = Field(default=None, ge=1, le=bounds.CONCURRENCY_LIMIT_MAX)
    rate_key: Name | None = Field(
        default=None, min_length=1, max_length=bounds.NAME_MAX,
        description="Its starts count against this key's rate limit (PUT /api/v1/rate-limits)",
    )  # fmt: skip
    fair_key: Name | None = Field(
        default=None, min_length=1, max_length=bounds.NAME_MAX,
        description="A fair queue shares its agents across these; default: the submitter",
    )  # fmt: skip


class JobBatchCreate(_Request):
    """Several jobs submitted at once: all are accepted or none is."""

    jobs: list[JobCreate] = Field(min_length=1, max_length=bounds.BATCH_MAX)


class SubmitterOut(BaseModel):
    """Who submitted a job: a user (name: display name, else email) or an API key (its name)."""

    kind: Literal["user", "key"]
    id: uuid.UUID
    name: str

    @classmethod
    def of(cls, who: records.Submitter) -> SubmitterOut:
        return cls(kind=who.kind, id=who.id, name=who.name)


class JobOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [JOB_OUT]})

    id: uuid.UUID
    action: str
    params: Any
    queue: str
    priority: int
    state: JobState
    attempt: int
    max_attempts: int
    progress: Any
    result: Any
    error: Any
    agent_id: uuid.UUID | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    run_at: datetime
    labels: dict[str, str]
    timeout_s: float | None
    cancel_requested: bool
    cancel_requested_at: datetime | None
    idempotency_key: str | None
    concurrency_key: str | None
    rate_key: str | None = None
    fair_key: str | None = None
    parent_id: uuid.UUID | None
    waiting_reason: str | None = Field(
        default=None,
        description="Why a pending, scheduled or queued job has not started: dependencies, "
        "scheduled, retry_backoff, queue_paused, no_agent_offers_action, "
        "no_agent_matches_labels, no_agent_takes_queue, agents_draining, concurrency_limit, "
        "rate_limit, fairness, agents_busy. Null for other states.",
    )
    created_by: SubmitterOut | None = Field(
        default=None,
        description="Who submitted it; null for a job that does not record it (submitted "
        "before the server recorded submitters, or by the server itself)",
    )
    schedule_id: uuid.UUID | None = Field(
        default=None, description="The schedule whose tick made it; null for other jobs"
    )
    schedule_fire_at: datetime | None = Field(
        default=None, description="The fire time of that tick (a manual run: when it was asked)"
    )

    @classmethod
    def of(
        cls,
        job: records.Job,
        waiting_reason: str | None = None,
        created_by: records.Submitter | None = None,
    ) -> JobOut:
        return cls(
            id=job.id,
            action=job.action,
            params=job.params,
            queue=job.queue,
            priority=job.priority,
            state=job.state,
            attempt=job.attempt,
            max_attempts=job.max_attempts,
            progress=job.progress,
            result=job.result,
            error=job.error,
            agent_id=job.agent_id,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            run_at=job.run_at,
            labels=job.labels,
            timeout_s=job.timeout_s,
            cancel_requested=job.cancel_requested_at is not None,
            cancel_requested_at=job.cancel_requested_at,
            idempotency_key=job.idempotency_key,
            concurrency_key=job.concurrency_key,
            rate_key=job.rate_key,
            fair_key=job.fair_key,
            parent_id=job.parent_id,
            waiting_reason=waiting_reason,
            created_by=SubmitterOut.of(created_by) if created_by is not None else None,
            schedule_id=job.schedule_id,
            schedule_fire_at=job.schedule_fire_at,
        )


class JobList(BaseModel):
    """A page of jobs, newest first; ``next_cursor`` (opaque) fetches the next, None at the end."""

    items: list[JobOut]
    next_cursor: str | None


class JobBatchOut(BaseModel):
    items: list[JobOut]


class AttemptOut(BaseModel):
    attempt: int
    agent_id: uuid.UUID | None
    outcome: AttemptOutcome
    error: Any
    started_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, a: records.Attempt) -> AttemptOut:
        return cls(
            attempt=a.attempt,
            agent_id=a.agent_id,
            outcome=a.outcome,
            error=a.error,
            started_at=a.started_at,
            finished_at=a.finished_at,
        )


class AttemptList(BaseModel):
    items: list[AttemptOut]


# logs


class LogChunk(BaseModel):
    """Lines one attempt wrote, in order; ``cursor`` ("attempt:seq") resumes after it."""

    attempt: int
    seq: int
    cursor: str
    lines: list[dict[str, Any]]
    created_at: datetime

    @classmethod
    def of(cls, chunk: records.LogChunkOut) -> LogChunk:
        return cls(
            attempt=chunk.attempt,
            seq=chunk.seq,
            cursor=str(chunk.cursor),
            lines=chunk.lines,
            created_at=chunk.created_at,
        )


class LogPage(BaseModel):
    """Chunks after the cursor; pass ``next_cursor`` as ``after`` to read on."""

    items: list[LogChunk]
    next_cursor: str | None


# artifacts


class ArtifactOut(BaseModel):
    name: str
    size: int
    content_type: str
    sha256: str
    attempt: int
    published: bool = Field(
        description="True once its attempt succeeded; an unpublished artifact belongs to "
        "a running or failed attempt"
    )
    created_at: datetime

    @classmethod
    def of(cls, a: records.Artifact) -> ArtifactOut:
        return cls(
            name=a.name,
            size=a.size,
            content_type=a.content_type,
            sha256=a.sha256,
            attempt=a.attempt,
            published=a.published_at is not None,
            created_at=a.created_at,
        )


class ArtifactList(BaseModel):
    items: list[ArtifactOut]


# events


class EventOut(BaseModel):
    """One change of the team (the ``data`` of an SSE event; its id is ``seq``)."""

    seq: int
    kind: str
    object_id: uuid.UUID
    data: dict[str, Any]
    created_at: datetime

    @classmethod
    def of(cls, e: records.Event) -> EventOut:
        return cls(
            seq=e.seq, kind=e.kind, object_id=e.object_id, data=e.data, created_at=e.created_at
        )


# queues


class RateLimitSpec(_Request):
    """At most ``count`` starts in any window of ``interval_s`` seconds (a sliding window)."""

    count: int = Field(ge=1, le=bounds.RATE_COUNT_MAX)
    interval_s: float = Field(ge=bounds.RATE_INTERVAL_MIN_S, le=bounds.RATE_INTERVAL_MAX_S)


class RateLimitOut(BaseModel):
    count: int
    interval_s: float


class RateKeyOut(BaseModel):
    """A rate key's limit: its jobs start at most ``count`` times per ``interval_s``."""

    key: str
    count: int
    interval_s: float


class RateKeyList(BaseModel):
    items: list[RateKeyOut]


class QueueOut(BaseModel):
    name: str
    paused: bool
    counts: dict[str, int]
    rate_limit: RateLimitOut | None = Field(
        default=None, description="At most count starts per interval_s; null: none"
    )
    concurrency_limit: int | None = Field(
        default=None, description="At most this many of its jobs run at once; null: no limit"
    )
    fair: bool = Field(
        default=False, description="Its agents are shared fairly across the jobs' fair_key"
    )


class QueueList(BaseModel):
    items: list[QueueOut]


class QueuePatch(_Request):
    """The settings to change; a field left out stays as it is, null clears a limit."""

    paused: bool | None = None
    rate_limit: RateLimitSpec | None = None
    concurrency_limit: int | None = Field(default=None, ge=1, le=bounds.CONCURRENCY_LIMIT_MAX)
    fair: bool | None = None


# keys


class KeyCreate(_Request):
    kind: Literal["agent", "client"]
    name: Name = Field(min_length=1, max_length=bounds.NAME_MAX)
    scopes: list[Annotated[Name, Field(max_length=bounds.NAME_MAX)]] | None = Field(
        default=None, max_length=bounds.PERMISSIONS_MAX
    )
    expires_at: Annotated[datetime | None, AfterValidator(bounds.check_timestamp)] = Field(
        default=None, description="in the years 1970 to 2999"
    )
    actions: list[Annotated[Name, Field(max_length=bounds.NAME_MAX)]] | None = Field(
        default=None, max_length=100, description="agent keys: run only these actions"
    )
    labels: Labels | None = Field(
        default=None, description="agent keys: their agents must carry these labels"
    )
    client_cert_cn: Name | None = Field(
        default=None,
        max_length=200,
        description="agent keys only: connect only with a verified client certificate of this "
        "common name (mutual TLS)",
    )


class KeyOut(BaseModel):
    """An API key; ``secret`` is only in the answer that created it."""

    id: uuid.UUID
    kind: str
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    client_cert_cn: str | None = None
    actions: list[str] | None = None
    labels: dict[str, str] | None = None
    secret: str | None = None

    @classmethod
    def of(cls, key: records.ApiKey, secret: str | None = None) -> KeyOut:
        limits = key.limits or {}
        return cls(
            id=key.id,
            kind=key.kind,
            name=key.name,
            prefix=key.prefix,
            scopes=key.scopes,
            created_at=key.created_at,
            expires_at=key.expires_at,
            last_used_at=key.last_used_at,
            revoked_at=key.revoked_at,
            client_cert_cn=key.client_cert_cn,
            actions=limits.get("actions"),
            labels=limits.get("labels"),
            secret=secret,
        )


class KeyList(BaseModel):
    items: list[KeyOut]
