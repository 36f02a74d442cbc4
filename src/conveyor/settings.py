"""Typed settings; the only module that reads the environment (``CONVEYOR_*``)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "CONVEYOR_"
DEFAULT_DATABASE_URL = "sqlite:///conveyor.db"


class StoreSettings(BaseSettings):
    """Where the state lives. ``CONVEYOR_DATABASE_URL``: ``sqlite:///path`` or ``postgresql://…``."""

    model_config = SettingsConfigDict(env_prefix="CONVEYOR_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    # FULL is durable; NORMAL may lose the last commits on power loss (not on a crash).
    sqlite_synchronous: str = "FULL"


class ServerSettings(BaseSettings):
    """How ``conveyor server`` runs. Environment: ``CONVEYOR_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="CONVEYOR_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    sqlite_synchronous: str = "FULL"
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: str = "."  # blobs (artifacts) live under <data_dir>/artifacts
    # Agent leases: an agent heartbeats every heartbeat_s; a job whose lease is not
    # renewed for lease_s is reclaimed. Tests shorten both.
    lease_s: float = 30.0
    heartbeat_s: float = 10.0
    max_body_bytes: int = 1024 * 1024  # JSON request bodies (params are capped at 256 KiB)
    max_artifact_bytes: int = 10 * 1024**3
    # Flush agent traffic (results, heartbeats, logs) to the store in batches this often.
    coalesce_ms: float = 2.0


class AuthSettings(BaseSettings):
    """Token lifetimes and claims. Environment: ``CONVEYOR_<NAME>`` (e.g. ``CONVEYOR_ACCESS_TTL_S``)."""

    model_config = SettingsConfigDict(env_prefix="CONVEYOR_", extra="ignore")

    access_ttl_s: int = 900  # short-lived: a leaked access token is useful for minutes
    refresh_ttl_s: int = 30 * 86_400  # each refresh starts a new period
    issuer: str = "conveyor"
    audience: str = "conveyor-api"
    key_touch_interval_s: float = 60.0  # record an API key's last use at most this often
