"""What the client hands back: typed mirrors of the API's JSON.

Models ignore fields they do not know, so a newer server never breaks an older
client; a field a new server adds shows up here once this package learns it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from conveyor.states import JobState


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Submitter(_Answer):
    """Who submitted a job: a user (``name``: display name, else email) or an API key."""

    kind: str  # "user" or "key"; a newer server may add kinds
    id: uuid.UUID
    name: str = ""


class Job(_Answer):
    """A job as ``GET /api/v1/jobs/{id}`` shows it."""

    id: uuid.UUID
    action: str
    params: Any = None
    queue: str = "default"
    priority: int = 0
    state: JobState
    attempt: int = 0
    max_attempts: int = 1
    progress: Any = None
    result: Any = None
    error: Any = None
    agent_id: uuid.UUID | None = None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    run_at: datetime | None = None
    timeout_s: float | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    idempotency_key: str | None = None
    concurrency_key: str | None = None
    rate_key: str | None = None  # its starts count against this key's rate limit
    fair_key: str | None = None  # a fair queue shares its agents across these
    parent_id: uuid.UUID | None = None
    cancel_requested: bool = False
    cancel_requested_at: datetime | None = None
    waiting_reason: str | None = None
    created_by: Submitter | None = None
    schedule_id: uuid.UUID | None = None  # the schedule whose tick made it, if one did
    schedule_fire_at: datetime | None = None  # …and that tick's fire time

    @property
    def is_terminal(self) -> bool:
        """Whether the job is done (succeeded, dead or cancelled) and will not change by itself."""
        return self.state.is_terminal

    @property
    def succeeded(self) -> bool:
        return self.state == JobState.SUCCEEDED


class JobRequest(BaseModel):
    """One job to submit; fields left unset take the server's defaults."""

    model_config = ConfigDict(extra="forbid")

    action: str
    params: Any = Field(default_factory=dict)
    queue: str | None = None
    priority: int | None = None
    run_at: datetime | None = None
    max_attempts: int | None = None
    timeout_s: float | None = None
    labels: dict[str, str] | None = None
    idempotency_key: str | None = None
    concurrency_key: str | None = None
    rate_key: str | None = None
    fair_key: str | None = None

    def body(self) -> dict[str, Any]:
        """The JSON the API takes: only what was given."""
        return self.model_dump(mode="json", exclude_none=True)


class JobFilter(BaseModel):
    """Which jobs a list or a bulk cancel/retry is about; a field left unset matches any.

    ``created_after`` is inclusive, ``created_before`` exclusive; ``q`` is an id prefix
    (dashes allowed), or text in the action's name or in the params.
    """

    model_config = ConfigDict(extra="forbid")

    state: list[str] | None = None
    queue: str | None = None
    action: str | None = None
    agent_id: uuid.UUID | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    q: str | None = None
    schedule_id: uuid.UUID | None = None  # jobs this schedule's ticks made

    def body(self) -> dict[str, Any]:
        """The JSON the API takes: only what was given."""
        return self.model_dump(mode="json", exclude_none=True)


class BulkResult(_Answer):
    """What one bulk cancel or retry did.

    ``affected``: jobs changed; ``skipped``: ids not changed (not in a state it applies
    to, or not there); ``remaining``: jobs the filter still matches below ``next_cursor``
    (0 with ids); ``next_cursor``: where a further request goes on, None when done.
    """

    affected: int
    skipped: int = 0
    remaining: int = 0
    next_cursor: str | None = None


class JobPage(_Answer):
    """One page of ``GET /api/v1/jobs``; pass ``next_cursor`` back for the next one."""

    items: list[Job]
    next_cursor: int | str | None = None


class LogLine(_Answer):
    """One line a job wrote, with the attempt it belongs to."""

    attempt: int = 1
    ts: float | None = None  # seconds since the epoch, when the agent read the line
    stream: str = "log"
    text: str


class Artifact(_Answer):
    """A file a job produced."""

    name: str
    size: int
    content_type: str = "application/octet-stream"
    sha256: str | None = None
    attempt: int | None = None
    created_at: datetime | None = None


class Agent(_Answer):
    """An agent the team has seen."""

    id: uuid.UUID
    name: str
    labels: dict[str, str] = Field(default_factory=dict)
    slots: int = 0
    slots_busy: int = 0  # jobs running on it now
    version: str = ""
    host: str = ""  # the hostname it reported when it connected
    queues: list[str] = Field(default_factory=list)
    actions: list[dict[str, Any]] = Field(default_factory=list)
    connected: bool = False
    draining: bool = False
    connected_at: datetime | None = None
    last_seen_at: datetime | None = None
    disconnected_at: datetime | None = None
    created_at: datetime | None = None


class ActionVersion(_Answer):
    """One version of an action's parameter schema."""

    schema_hash: str
    params_schema: dict[str, Any] = Field(default_factory=dict)
    last_seen_at: datetime | None = None


class Action(_Answer):
    """An action some agent of the team offers (or offered), with its schemas."""

    name: str
    description: str = ""  # the task's docstring (first paragraph) or the TOML description
    versions: list[ActionVersion] = Field(default_factory=list)
    agents: list[str] = Field(default_factory=list)
    concurrency_limit: int | None = None  # at most this many of its jobs run at once


class AuditEvent(_Answer):
    """One audit row: who did what to which object, when, from where, and how it ended."""

    id: uuid.UUID
    at: datetime
    actor_kind: str
    actor_id: uuid.UUID | None = None
    actor_display: str = ""
    action: str
    object_type: str | None = None
    object_id: str | None = None
    outcome: str
    status: int
    client_addr: str | None = None
    team_id: uuid.UUID | None = None
    details: dict[str, Any] | None = None


class AuditPage(_Answer):
    """One page of ``GET /api/v1/audit``, newest first."""

    items: list[AuditEvent]
    next_cursor: str | None = None


class ApiKey(_Answer):
    """An API key; ``secret`` is set only in the answer that created it."""

    id: uuid.UUID
    name: str
    kind: Literal["agent", "client"] | str
    prefix: str = ""
    scopes: list[str] = Field(default_factory=list)
    created_at: datetime | None = None
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    client_cert_cn: str | None = None
    actions: list[str] | None = None  # an agent key limited to these actions
    labels: dict[str, str] | None = None  # …whose agents must carry these labels
    secret: str | None = None


class TokenPair(_Answer):
    """What ``POST auth/login`` and ``auth/refresh`` answer."""

    access_token: str
    refresh_token: str | None = None  # null when a browser keeps it in a cookie
    token_type: str = "bearer"
    expires_in: int | None = None


class RateLimit(_Answer):
    """At most ``count`` starts in any window of ``interval_s`` seconds."""

    count: int
    interval_s: float


class RateKey(_Answer):
    """A rate key's limit: the jobs naming it start at most ``count`` times per ``interval_s``."""

    key: str
    count: int
    interval_s: float


class Queue(_Answer):
    """A queue of the team: paused or not, its limits and fairness, with its unfinished
    jobs counted by state."""

    name: str
    paused: bool = False
    counts: dict[str, int] = Field(default_factory=dict)
    rate_limit: RateLimit | None = None
    concurrency_limit: int | None = None
    fair: bool = False


class Event(_Answer):
    """One change of the team from ``GET /api/v1/events``; ``seq`` resumes the stream."""

    seq: int
    kind: str
    object_id: uuid.UUID
    data: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime | None = None


class Team(_Answer):
    """A team; ``role`` and ``permissions`` are yours there."""

    id: uuid.UUID
    slug: str
    name: str
    role: str | None = None
    permissions: list[str] = Field(default_factory=list)


class Member(_Answer):
    user_id: uuid.UUID
    email: str
    display_name: str = ""
    role: str
    joined_at: datetime | None = None


class Role(_Answer):
    """A team's role; built-in ones have no id and cannot be changed."""

    id: uuid.UUID | None = None
    name: str
    description: str = ""
    permissions: list[str] = Field(default_factory=list)
    builtin: bool = False


class Invite(_Answer):
    """An invitation; ``code`` is set only in the answer that created it."""

    id: uuid.UUID
    role: str
    max_uses: int | None = None
    uses: int = 0
    created_at: datetime | None = None
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    code: str | None = None


class JoinRequest(_Answer):
    id: uuid.UUID
    team_id: uuid.UUID
    user_id: uuid.UUID
    email: str
    message: str = ""
    state: str
    role: str | None = None
    created_at: datetime | None = None
    decided_at: datetime | None = None


class ScheduleTick(_Answer):
    """One fire time of a schedule and what came of it: a job, or a skip and why."""

    fire_at: datetime
    kind: str  # "cron" or "manual" (run now)
    outcome: str  # "submitted" or "skipped"
    skip_reason: str | None = None  # overlap, missed, rights_revoked, invalid
    message: str | None = None
    job_id: uuid.UUID | None = None
    job_state: str | None = None
    created_at: datetime | None = None


class Schedule(_Answer):
    """A cron schedule: which job it submits, when, and what it does about misses and overlaps."""

    id: uuid.UUID
    name: str
    description: str = ""
    action: str
    params: Any = None
    queue: str = "default"
    priority: int = 0
    labels: dict[str, str] = Field(default_factory=dict)
    max_attempts: int | None = None
    timeout_s: float | None = None
    cron: str
    cron_description: str = ""
    timezone: str = "UTC"
    paused: bool = False
    misfire_policy: str = "latest"  # catch_up, latest or skip
    catchup_window_s: int = 3600
    overlap: str = "skip"  # allow, skip or cancel_previous
    run_as_key_id: uuid.UUID | None = None
    next_fire_times: list[datetime] = Field(default_factory=list)  # empty while paused
    created_by: Submitter | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    last_tick: ScheduleTick | None = None


class SchedulePage(_Answer):
    """One page of ``GET /api/v1/schedules``."""

    items: list[Schedule]
    next_cursor: str | None = None


class ScheduleTickPage(_Answer):
    """One page of a schedule's ticks, newest first."""

    items: list[ScheduleTick]
    next_cursor: str | None = None


class SchedulePreview(_Answer):
    """What a cron expression means and when it fires next, before it is saved."""

    cron_description: str
    next_fire_times: list[datetime] = Field(default_factory=list)


class ScheduleRequest(BaseModel):
    """A new schedule; only the fields given are sent, the others take the server's defaults
    (shown here)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    action: str
    cron: str
    params: Any = Field(default_factory=dict)
    description: str = ""
    timezone: str = "UTC"
    queue: str = "default"
    priority: int = 0
    labels: dict[str, str] = Field(default_factory=dict)
    max_attempts: int | None = None
    timeout_s: float | None = None
    paused: bool = False
    misfire_policy: Literal["catch_up", "latest", "skip"] = "latest"
    catchup_window_s: int = 3600
    overlap: Literal["allow", "skip", "cancel_previous"] = "skip"
    run_as_key_id: uuid.UUID | None = None

    def body(self) -> dict[str, Any]:
        """The JSON the API takes: only what was given."""
        return self.model_dump(mode="json", exclude_unset=True)


class ScheduleChange(BaseModel):
    """A change to a schedule: only the fields set are sent; ``None`` clears an optional one."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    action: str | None = None
    cron: str | None = None
    params: Any = None
    description: str | None = None
    timezone: str | None = None
    queue: str | None = None
    priority: int | None = None
    labels: dict[str, str] | None = None
    max_attempts: int | None = None
    timeout_s: float | None = None
    paused: bool | None = None
    misfire_policy: Literal["catch_up", "latest", "skip"] | None = None
    catchup_window_s: int | None = None
    overlap: Literal["allow", "skip", "cancel_previous"] | None = None
    run_as_key_id: uuid.UUID | None = None

    def body(self) -> dict[str, Any]:
        """The JSON the API takes: exactly the fields given."""
        return self.model_dump(mode="json", exclude_unset=True)
