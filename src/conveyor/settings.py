"""Typed settings; the only module that reads the environment (``CONVEYOR_*``)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///conveyor.db"


class StoreSettings(BaseSettings):
    """Where the state lives. ``CONVEYOR_DATABASE_URL``: ``sqlite:///path`` or ``postgresql://…``."""

    model_config = SettingsConfigDict(env_prefix="CONVEYOR_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    # FULL is durable; NORMAL may lose the last commits on power loss (not on a crash).
    sqlite_synchronous: str = "FULL"
