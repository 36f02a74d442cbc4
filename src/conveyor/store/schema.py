"""The one schema, as SQLAlchemy Core tables, for both dialects.

Alembic migrations must produce exactly this (``tests/migrations`` checks it).
Ids are UUIDs and carry no order; ``jobs.seq`` is the submission order and the
primary key, so inserts append on both dialects (a rowid on SQLite).
"""

from __future__ import annotations

import sqlalchemy as sa

from conveyor import bounds
from conveyor.store.flow_schema import flow_tables
from conveyor.store.rollup_schema import rollup_tables, unfinished_index
from conveyor.store.schedule_schema import schedule_tables
from conveyor.store.types import GUID, BigSerial, JSONDoc, Timestamp

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

JOB_STATES = ("pending", "scheduled", "queued", "running", "succeeded", "dead", "cancelled")
UNFINISHED = "state IN ('pending', 'scheduled', 'queued', 'running')"


def _created_at() -> sa.Column[object]:
    return sa.Column("created_at", Timestamp(), nullable=False)


teams = sa.Table(
    "teams",
    metadata,
    sa.Column("id", GUID(), primary_key=True),
    sa.Column("slug", sa.String(64), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    _created_at(),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", GUID(), primary_key=True),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    sa.Column("display_name", sa.String(200), nullable=False, server_default=""),
    sa.Column("password_hash", sa.String(255)),
    sa.Column("disabled_at", Timestamp()),
    _created_at(),
    sa.Column("is_superuser", sa.Boolean(), nullable=False, server_default=sa.false()),
    # Bumped by a password change or reset: access tokens carry the epoch they were
    # issued under, and an older one is refused, except the kept session's (the login
    # that changed its own password goes on).
    sa.Column("credentials_epoch", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("credentials_kept_session", GUID()),
)

# Who belongs to which team, with which role (owner, admin, operator, viewer, …).
team_members = sa.Table(
    "team_members",
    metadata,
    sa.Column("team_id", GUID(), sa.ForeignKey("teams.id"), primary_key=True),
    sa.Column("user_id", GUID(), sa.ForeignKey("users.id"), primary_key=True, index=True),
    sa.Column("role", sa.String(64), nullable=False),
    _created_at(),
)

# Custom roles of a team: a name and the permissions it grants. Members hold a
# role by name (``team_members.role``); built-in role names are never stored here.
team_roles = sa.Table(
    "team_roles",
    metadata,
    sa.Column("id", GUID(), primary_key=True),
    sa.Column("team_id", GUID(), sa.ForeignKey("teams.id"), nullable=False),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("description", sa.String(500), nullable=False, server_default=""),
    sa.Column("permissions", JSONDoc, nullable=False),
    _created_at(),
    sa.Column("updated_at", Timestamp(), nullable=False),
    sa.UniqueConstraint("team_id", "name"),
)

# Invitations: the code is shown once, ``code_hash`` (SHA-256) finds it; ``max_uses``
# None means any number of uses until it expires or is revoked.
team_invites = sa.Table(
    "team_invites",
    metadata,
    sa.Column("id", GUID(), primary_key=True),
    sa.Column("team_id", GUID(), sa.ForeignKey("teams.id"), nullable=False, index=True),
    sa.Column("code_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("role", sa.String(64), nullable=False),
    sa.Column("max_uses", sa.Integer()),
    sa.Column("uses", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("created_by", GUID()),
    _created_at(),
    sa.Column("expires_at", Timestamp(), nullable=False),
    sa.Column("revoked_at", Timestamp()),
    sa.CheckConstraint("max_uses IS NULL OR max_uses >= 1", name="max_uses_positive"),
)

# Requests to join a team, decided by its admins; one open request per user and team.
team_join_requests = sa.Table(
    "team_join_requests",
    metadata,
    sa.Column("id", GUID(), primary_key=True),
    sa.Column("team_id", GUID(), sa.ForeignKey("teams.id"), nullable=False),
    sa.Column("user_id", GUID(), sa.ForeignKey("users.id"), nullable=False),
    sa.Column("message", sa.String(500), nullable=False, server_default=""),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("role", sa.String(64)),
    sa.Column("decided_by", GUID()),
    sa.Column("decided_at", Timestamp()),
    _created_at(),
    sa.CheckConstraint("state IN ('pending', 'accepted', 'rejected')", name="state_known"),
    sa.Index("ix_team_join_requests_team_id_state", "team_id", "state"),
    sa.Index(
        "ix_team_join_requests_open",
        "team_id",
        "user_id",
        unique=True,
        sqlite_where=sa.text("state = 'pending'"),
        postgresql_where=sa.text("state = 'pending'"),
    ),
)

# API keys: ``prefix`` finds the row, ``secret_hash`` (SHA-256 of the whole key)
# proves it; the key itself is shown once and never stored.
api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", GUID(), primary_key=True),
    sa.Column("team_id", GUID(), sa.ForeignKey("teams.id"), nullable=False, index=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("prefix", sa.String(32), nullable=False, unique=True),
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("scopes", JSONDoc, nullable=False),
    sa.Column("created_by", GUID()),
    _created_at(),
    sa.Column("expires_at", Timestamp()),
    sa.Column("last_used_at", Timestamp()),
    sa.Column("revoked_at", Timestamp()),
    # Mutual TLS: an agent key bound to a certificate works only over a connection whose
    # verified client certificate has this common name.
    sa.Column("client_cert_cn", sa.String(200)),
    # An agent key's limits: {"actions": [...], "labels": {...}}; None: no limits.
    sa.Column("limits", JSONDoc),
    sa.CheckConstraint("kind IN ('agent', 'client')", name="kind_known"),
)

# Refresh tokens rotate on every use; a family is one login's chain of tokens.
refresh_tokens = sa.Table(
    "refresh_tokens",
    metadata,
    sa.Column("id", GUID(), primary_key=True),
    sa.Column("user_id", GUID(), sa.ForeignKey("users.id"), nullable=False, index=True),
    sa.Column("family_id", GUID(), nullable=False, index=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    _created_at(),
    sa.Column("expires_at", Timestamp(), nullable=False),
    sa.Column("used_at", Timestamp()),
    sa.Column("revoked_at", Timestamp()),
)

# JWT signing keys, shared by every replica through the store; ``kid`` names one.
signing_keys = sa.Table(
    "signing_keys",
    metadata,
    sa.Column("kid", sa.String(64), primary_key=True),
    sa.Column("secret", sa.String(128), nullable=False),
    _created_at(),
    sa.Column("retired_at", Timestamp()),
)

queues = sa.Table(
    "queues",
    metadata,
    sa.Column("team_id", GUID(), sa.ForeignKey("teams.id"), primary_key=True),
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("paused", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("concurrency_limit", sa.Integer()),
    _created_at(),
    # Flow control (revision 0012, queries/flow.py): at most rate_count starts in any
    # rate_interval_s seconds; a fair queue shares its agents across jobs.fair_key.
    sa.Column("rate_count", sa.Integer()),
    sa.Column("rate_interval_s", sa.Float()),
    sa.Column("fair", sa.Boolean(), nullable=False, server_default=sa.false()),
)

agents = sa.Table(
    "agents",
    metadata,
    sa.Column("id", GUID(), primary_key=True),
    sa.Column("team_id", GUID(), sa.ForeignKey("teams.id"), nullable=False, index=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("labels", JSONDoc, nullable=False),
    sa.Column("slots", sa.Integer(), nullable=False),
    sa.Column("version", sa.String(50), nullable=False, server_default=""),
    sa.Column("connected_at", Timestamp()),
    sa.Column("last_seen_at", Timestamp()),
    sa.Column("draining", sa.Boolean(), nullable=False, server_default=sa.false()),
    _created_at(),
    # What the agent offered at its last hello: [{"name", "schema_hash"}], queues.
    sa.Column("actions", JSONDoc),
    sa.Column("queues", JSONDoc),
    sa.Column("key_id", GUID()),
    sa.Column("user_id", GUID()),
    sa.Column("disconnected_at", Timestamp()),
    sa.Column("host", sa.String(bounds.HOST_MAX), nullable=False, server_default=""),  # hello's
)

# The action catalog: one row per (action, schema version) an agent offered.
actions = sa.Table(
    "actions",
    metadata,
    sa.Column("team_id", GUID(), sa.ForeignKey("teams.id"), primary_key=True),
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("schema_hash", sa.String(64), primary_key=True),
    sa.Column("params_schema", JSONDoc, nullable=False),
    sa.Column("first_seen_at", Timestamp(), nullable=False),
    sa.Column("last_seen_at", Timestamp(), nullable=False),
    sa.Column(
        "description", sa.String(bounds.ACTION_DESCRIPTION_MAX), nullable=False, server_default=""
    ),
)

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("seq", BigSerial, primary_key=True, autoincrement=True),
    sa.Column("id", GUID(), nullable=False, unique=True),
    sa.Column("team_id", GUID(), sa.ForeignKey("teams.id"), nullable=False),
    sa.Column("action", sa.String(200), nullable=False),
    sa.Column("schema_hash", sa.String(64)),
    sa.Column("params", JSONDoc, nullable=False),
    sa.Column("params_hash", sa.String(64), nullable=False),
    sa.Column("queue", sa.String(100), nullable=False),
    sa.Column("priority", sa.SmallInteger(), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("run_at", Timestamp(), nullable=False),
    # attempt counts every claim; attempt_floor is where the current budget of
    # max_attempts started (a manual retry or a release moves it).
    sa.Column("attempt", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("attempt_floor", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("max_attempts", sa.Integer(), nullable=False),
    sa.Column("backoff_base_s", sa.Float(), nullable=False),
    sa.Column("backoff_max_s", sa.Float(), nullable=False),
    sa.Column("timeout_s", sa.Float()),
    sa.Column("lease_s", sa.Float(), nullable=False),
    sa.Column("cancel_grace_s", sa.Float(), nullable=False),
    sa.Column("labels", JSONDoc, nullable=False),  # selector an agent's labels must satisfy
    sa.Column("lease_token", GUID()),
    sa.Column("lease_expires_at", Timestamp()),
    sa.Column("deadline_at", Timestamp()),  # started_at + timeout_s, enforced by the reaper
    sa.Column("agent_id", GUID()),
    sa.Column("cancel_requested_at", Timestamp()),
    sa.Column("idempotency_key", sa.String(200)),
    sa.Column("concurrency_key", sa.String(200)),
    sa.Column("concurrency_limit", sa.Integer()),
    sa.Column("parent_id", GUID()),
    sa.Column("pending_dependencies", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("progress", JSONDoc),
    sa.Column("result", JSONDoc),
    sa.Column("error", JSONDoc),
    # Who submitted it: the user of a login (``created_by``) or the API key (``created_by_key``).
    sa.Column("created_by", GUID()),
    _created_at(),
    sa.Column("updated_at", Timestamp(), nullable=False),
    sa.Column("started_at", Timestamp()),
    sa.Column("finished_at", Timestamp()),
    sa.Column("created_by_key", GUID()),
    # The schedule and fire time whose tick made it (revision 0011; no foreign key:
    # a schedule may be deleted, its jobs stay).
    sa.Column("schedule_id", GUID()),
    sa.Column("schedule_fire_at", Timestamp()),
    sa.Column("rate_key", sa.String(200)),  # rate_limits.key: starts counted per key
    sa.Column("fair_key", sa.String(200)),  # a fair queue shares its agents across these
    # The W3C trace context it carries to its agent (revision 0014; conveyor.tracing).
    sa.Column("traceparent", sa.String(55)),
    sa.CheckConstraint("priority BETWEEN -100 AND 100", name="priority_range"),
    sa.CheckConstraint(f"state IN {JOB_STATES!r}", name="state_known"),
    sa.CheckConstraint("max_attempts >= 1", name="max_attempts_positive"),
    sa.CheckConstraint(
        "concurrency_key IS NULL OR concurrency_limit >= 1", name="concurrency_limit_positive"
    ),
    # The claim path: only queued jobs, in claim order.
    sa.Index(
        "ix_jobs_claim",
        "team_id",
        "queue",
        sa.text("priority DESC"),
        "run_at",
        "seq",
        sqlite_where=sa.text("state = 'queued'"),
        postgresql_where=sa.text("state = 'queued'"),
    ),
    sa.Index(
        "ix_jobs_due",
        "run_at",
        sqlite_where=sa.text("state = 'scheduled'"),
        postgresql_where=sa.text("state = 'scheduled'"),
    ),
    sa.Index(
        "ix_jobs_lease",
        "lease_expires_at",
        sqlite_where=sa.text("state = 'running'"),
        postgresql_where=sa.text("state = 'running'"),
    ),
    sa.Index(
        "ix_jobs_deadline",
        "deadline_at",
        sqlite_where=sa.text("state = 'running' AND deadline_at IS NOT NULL"),
        postgresql_where=sa.text("state = 'running' AND deadline_at IS NOT NULL"),
    ),
    sa.Index(
        "ix_jobs_running_key",
        "team_id",
        "concurrency_key",
        sqlite_where=sa.text("state = 'running' AND concurrency_key IS NOT NULL"),
        postgresql_where=sa.text("state = 'running' AND concurrency_key IS NOT NULL"),
    ),
    # Idempotency keys are unique per team among all jobs: a finished job holds its
    # key until its window has passed and the key is used again (queries/submit.py).
    sa.Index(
        "ix_jobs_idempotency_key",
        "team_id",
        "idempotency_key",
        unique=True,
        sqlite_where=sa.text("idempotency_key IS NOT NULL"),
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    ),
    # The rule before revision 0007 (unique among unfinished jobs), implied by the one
    # above; kept while servers of the previous version may run (expand/contract).
    sa.Index(
        "ix_jobs_idempotency",
        "team_id",
        "idempotency_key",
        unique=True,
        sqlite_where=sa.text(f"idempotency_key IS NOT NULL AND {UNFINISHED}"),
        postgresql_where=sa.text(f"idempotency_key IS NOT NULL AND {UNFINISHED}"),
    ),
    sa.Index("ix_jobs_team_state", "team_id", "state", "seq"),
    # The job list, newest first: a team's page, and a page of one action (revision 0010).
    sa.Index("ix_jobs_team_seq", "team_id", "seq"),
    sa.Index("ix_jobs_team_action", "team_id", "action", "seq"),
    # Retention finds old finished jobs without scanning the table.
    sa.Index(
        "ix_jobs_finished",
        "state",
        "finished_at",
        sqlite_where=sa.text("state IN ('succeeded', 'cancelled', 'dead')"),
        postgresql_where=sa.text("state IN ('succeeded', 'cancelled', 'dead')"),
    ),
    # A fair queue's claim walks its fair keys, each in claim order (revision 0012).
    sa.Index(
        "ix_jobs_fair",
        "team_id",
        "queue",
        "fair_key",
        sa.text("priority DESC"),
        "run_at",
        "seq",
        sqlite_where=sa.text("state = 'queued' AND fair_key IS NOT NULL"),
        postgresql_where=sa.text("state = 'queued' AND fair_key IS NOT NULL"),
    ),
    sa.Index(
        "ix_jobs_parent",
        "parent_id",
        sqlite_where=sa.text("parent_id IS NOT NULL"),
        postgresql_where=sa.text("parent_id IS NOT NULL"),
    ),
    # A schedule's runs, newest first (its live ones: the overlap policy).
    sa.Index(
        "ix_jobs_schedule",
        "schedule_id",
        "seq",
        sqlite_where=sa.text("schedule_id IS NOT NULL"),
        postgresql_where=sa.text("schedule_id IS NOT NULL"),
    ),
)

schedules, schedule_ticks = schedule_tables(metadata)

# One row per concurrency key: claimers lock it (PostgreSQL) before counting the
# key's running jobs, so a limit holds across any number of claimers.
concurrency_keys = sa.Table(
    "concurrency_keys",
    metadata,
    sa.Column("team_id", GUID(), sa.ForeignKey("teams.id"), primary_key=True),
    sa.Column("key", sa.String(200), primary_key=True),
)

# Flow control (0012, queries/flow.py): limits per action and rate key; rate_starts.
action_limits, rate_limits, rate_starts = flow_tables(metadata)
job_minutes, job_minute_times, job_hour_times = rollup_tables(metadata)
unfinished_index(jobs)

job_dependencies = sa.Table(
    "job_dependencies",
    metadata,
    sa.Column("job_id", GUID(), sa.ForeignKey("jobs.id"), primary_key=True),
    sa.Column("depends_on_id", GUID(), sa.ForeignKey("jobs.id"), primary_key=True, index=True),
)

job_attempts = sa.Table(
    "job_attempts",
    metadata,
    sa.Column("job_id", GUID(), sa.ForeignKey("jobs.id"), primary_key=True),
    sa.Column("attempt", sa.Integer(), primary_key=True),
    sa.Column("team_id", GUID(), nullable=False),
    sa.Column("agent_id", GUID()),
    sa.Column("lease_token", GUID(), nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("error", JSONDoc),
    sa.Column("started_at", Timestamp(), nullable=False),
    sa.Column("finished_at", Timestamp()),
)

job_logs = sa.Table(
    "job_logs",
    metadata,
    sa.Column("job_id", GUID(), sa.ForeignKey("jobs.id"), primary_key=True),
    sa.Column("attempt", sa.Integer(), primary_key=True),
    sa.Column("chunk_seq", sa.Integer(), primary_key=True),
    sa.Column("team_id", GUID(), nullable=False),
    sa.Column("lines", JSONDoc, nullable=False),
    sa.Column("size", sa.Integer(), nullable=False),
    _created_at(),
)

artifacts = sa.Table(
    "artifacts",
    metadata,
    sa.Column("job_id", GUID(), sa.ForeignKey("jobs.id"), primary_key=True),
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("attempt", sa.Integer(), nullable=False),
    sa.Column("team_id", GUID(), nullable=False),
    sa.Column("size", sa.BigInteger(), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("content_type", sa.String(200), nullable=False),
    sa.Column("storage_key", sa.String(500), nullable=False),
    sa.Column("published_at", Timestamp()),
    _created_at(),
)

# The outbox: every change with a sequence number, so listeners resume from a seq
# and a replica that missed a notification catches up by reading from here.
events = sa.Table(
    "events",
    metadata,
    sa.Column("seq", BigSerial, primary_key=True, autoincrement=True),
    sa.Column("team_id", GUID(), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("object_id", GUID(), nullable=False),
    sa.Column("data", JSONDoc, nullable=False),
    _created_at(),
    sa.Index("ix_events_team_seq", "team_id", "seq"),
)

# The audit log: one row per state-changing API request by a person or a client
# key, written in the transaction of the change it records (a refused request
# gets its row in a write of its own). ``id`` is the request's audit id, so a
# request whose change committed is never recorded twice.
audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("seq", BigSerial, primary_key=True, autoincrement=True),
    sa.Column("id", GUID(), nullable=False, unique=True),
    sa.Column("team_id", GUID()),
    sa.Column("actor_kind", sa.String(16), nullable=False),
    sa.Column("actor_id", GUID()),
    sa.Column("actor_display", sa.String(320), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("object_type", sa.String(32)),
    sa.Column("object_id", sa.String(255)),
    sa.Column("outcome", sa.String(64), nullable=False),
    sa.Column("status", sa.Integer(), nullable=False),
    sa.Column("client_addr", sa.String(64)),
    sa.Column("details", JSONDoc),
    _created_at(),
    sa.Index("ix_audit_log_team_seq", "team_id", "seq"),
)

# Failed logins per account and per client address, shared by every replica:
# a key that reaches the limit within its window is refused until the window ends.
login_throttle = sa.Table(
    "login_throttle",
    metadata,
    sa.Column("key", sa.String(400), primary_key=True),
    sa.Column("failures", sa.Integer(), nullable=False),
    sa.Column("window_start", Timestamp(), nullable=False),
)
