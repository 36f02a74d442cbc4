"""Typed settings; the only module that reads the environment (``CONVEYOR_*``)."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from conveyor.bounds import LEASE_MAX_S
from conveyor.secrets import FileSecretsSource, production_problems
from conveyor.tracing import TracingMode

ENV_PREFIX = "CONVEYOR_"
DEFAULT_DATABASE_URL = "sqlite:///conveyor.db"


class _WithSecretFiles(BaseSettings):
    """Settings whose ``SECRET_FIELDS`` may come from ``CONVEYOR_<NAME>_FILE`` too."""

    SECRET_FIELDS: ClassVar[frozenset[str]] = frozenset({"database_url"})

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        files = FileSecretsSource(settings_cls, cls.SECRET_FIELDS)
        return init_settings, env_settings, files, dotenv_settings, file_secret_settings


LogFormat = Literal["auto", "json", "console"]
LogLevel = Literal["debug", "info", "warning", "error", "critical"]


class LogSettings(BaseSettings):
    """How a server or an agent logs. Environment: ``CONVEYOR_LOG_FORMAT``, ``CONVEYOR_LOG_LEVEL``."""

    model_config = SettingsConfigDict(env_prefix="CONVEYOR_", extra="ignore")

    # auto: JSON lines unless stderr is a terminal (then readable columns).
    log_format: LogFormat = "auto"
    log_level: LogLevel = "info"
    # One line per HTTP request (uvicorn's access log, with the request id and duration).
    log_access: bool = True

    @field_validator("log_format", "log_level", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


class TracingSettings(BaseSettings):
    """OpenTelemetry traces (conveyor.tracing). Environment: ``CONVEYOR_TRACING``; the
    exporter is configured by the standard ``OTEL_*`` variables."""

    model_config = SettingsConfigDict(env_prefix="CONVEYOR_", extra="ignore")

    # off: nothing of OpenTelemetry is imported. otlp: OTLP over HTTP (the `tracing`
    # extra). console: spans printed as JSON, to have a look.
    tracing: TracingMode = "off"

    @field_validator("tracing", mode="before")
    @classmethod
    def _lower_mode(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


class StoreSettings(_WithSecretFiles):
    """Where the state lives. ``CONVEYOR_DATABASE_URL``: ``sqlite:///path`` or ``postgresql://…``."""

    model_config = SettingsConfigDict(env_prefix="CONVEYOR_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    # FULL is durable; NORMAL may lose the last commits on power loss (not on a crash).
    sqlite_synchronous: str = "FULL"


class ServerSettings(_WithSecretFiles, LogSettings, TracingSettings):
    """How ``conveyor server`` runs. Environment: ``CONVEYOR_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="CONVEYOR_", extra="ignore")
    SECRET_FIELDS: ClassVar[frozenset[str]] = frozenset(
        {"database_url", "admin_password", "metrics_token"}
    )

    database_url: str = DEFAULT_DATABASE_URL
    sqlite_synchronous: str = "FULL"
    # "production" refuses default secrets and a missing TLS configuration at start.
    env: str = "development"
    # HTTPS: PEM certificate chain and private key; SIGHUP reloads both.
    tls_cert: str | None = None
    tls_key: str | None = None
    # A second listener for agents that requires a client certificate from this CA.
    agent_port: int | None = None
    agent_client_ca: str | None = None
    # Only read to refuse a weak one in production (``conveyor up`` creates the admin).
    admin_password: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: str = "."  # blobs (artifacts) live under <data_dir>/artifacts
    # Agent leases: an agent heartbeats every heartbeat_s; a job whose lease is not
    # renewed for lease_s is reclaimed. Tests shorten both.
    lease_s: float = Field(30.0, gt=0, le=LEASE_MAX_S)
    heartbeat_s: float = Field(10.0, gt=0, le=LEASE_MAX_S)
    # The dispatcher claims on signals (a submit, a job released or ending, new credits);
    # this slow, jittered poll is only the safety net for a lost one.
    dispatch_poll_s: float = Field(default=5.0, gt=0)
    max_body_bytes: int = 1024 * 1024  # JSON request bodies (params are capped at 256 KiB)
    max_artifact_bytes: int = 10 * 1024**3
    # Flush agent traffic (results, heartbeats, logs) to the store in batches this often.
    coalesce_ms: float = 2.0
    # A finished job keeps its idempotency key this long (a retried submit gets it back
    # instead of a second job); 0: only while it is unfinished.
    idempotency_window_s: float = Field(default=86_400.0, ge=0)
    # Agents offline (or silent) this long are deleted by retention: seconds or an
    # ISO 8601 duration (``P7D``). Ephemeral agents would otherwise pile up.
    agent_prune_after: timedelta = timedelta(days=1)
    # Proxies whose X-Forwarded-For is believed: comma-separated addresses or CIDR
    # networks (e.g. "10.0.0.0/8,127.0.0.1"). Empty: the socket peer is the client.
    trusted_proxies: str = ""
    # Prometheus instrumentation: off serves no /metrics and observes nothing (no cost).
    metrics: bool = True
    # /metrics is public when empty; otherwise it wants `Authorization: Bearer <token>`.
    metrics_token: str = ""
    # Seconds between two counts of unfinished jobs by queue and state (conveyor_queue_depth).
    metrics_depth_s: float = Field(default=15.0, gt=0)
    # The built web dashboard to serve at / (a folder with index.html). Empty: the one
    # built into the package (conveyor/ui); a page saying how to build it when missing.
    ui_dir: str = ""
    # Test-only: the fault suite switches fencing of agents' results off to prove its
    # history checker catches a stale result applied (see conveyor.engine.unfenced).
    # Honoured only when CONVEYOR_TESTING=1 is set too; never set either in production.
    testing: bool = False
    testing_unfenced_results: bool = False

    @property
    def unfenced_results(self) -> bool:
        """Apply stale results: only with both test switches on."""
        return self.testing and self.testing_unfenced_results

    def production_problems(self) -> list[str]:
        """What stops this server from starting in production mode (``conveyor server``
        refuses it; ``conveyor doctor`` reports it in any mode)."""
        return production_problems(
            database_url=self.database_url,
            default_database_url=DEFAULT_DATABASE_URL,
            tls_cert=self.tls_cert,
            tls_key=self.tls_key,
            admin_password=self.admin_password,
        )

    @model_validator(mode="after")
    def _no_test_switches_in_production(self) -> ServerSettings:
        if self.env == "production" and (self.testing or self.testing_unfenced_results):
            raise ValueError(
                "CONVEYOR_TESTING and CONVEYOR_TESTING_UNFENCED_RESULTS are for the test "
                "suite only: a production server refuses to start with them set"
            )
        return self


class AuthSettings(BaseSettings):
    """Token lifetimes and claims. Environment: ``CONVEYOR_<NAME>`` (e.g. ``CONVEYOR_ACCESS_TTL_S``)."""

    model_config = SettingsConfigDict(env_prefix="CONVEYOR_", extra="ignore")

    access_ttl_s: int = 900  # short-lived: a leaked access token is useful for minutes
    refresh_ttl_s: int = 30 * 86_400  # each refresh starts a new period
    issuer: str = "conveyor"
    audience: str = "conveyor-api"
    key_touch_interval_s: float = 60.0  # record an API key's last use at most this often
    # "open" lets anyone create an account (with a team of their own) at POST auth/register.
    registration: Literal["open", "closed"] = "closed"
    # Failed logins allowed per window, per account (email) and per client address.
    login_max_failures_per_account: int = 10
    login_max_failures_per_address: int = 50
    login_window_s: float = 900.0
    # Signed URLs (browser downloads, EventSource) stay valid this long after issue.
    signed_url_ttl_s: int = 300
