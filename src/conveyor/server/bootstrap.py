"""First start: the default team, the first admin, and a key for local agents.

Used by ``conveyor up`` (and by tests that start a real server). It runs before
the server process starts, so on SQLite it never competes with the server's writer.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

from conveyor.auth.service import AuthService
from conveyor.settings import AuthSettings
from conveyor.store import Store

DEFAULT_TEAM_SLUG = "default"
LOCAL_AGENT_KEY_NAME = "local agents (conveyor up)"


@dataclass(frozen=True)
class Bootstrap:
    email: str
    password: str | None  # None when the admin already existed: never re-shown
    agent_key: str
    generated: bool = False  # the password was made here (else the operator gave it)


async def ensure_default_team(store: Store) -> uuid.UUID:
    team_id = await store.team_by_slug(DEFAULT_TEAM_SLUG)
    if team_id is None:
        try:
            team_id = await store.team_create(DEFAULT_TEAM_SLUG, "Default")
        except Exception:  # another replica made it first
            team_id = await store.team_by_slug(DEFAULT_TEAM_SLUG)
            if team_id is None:
                raise
    return team_id


async def bootstrap(
    database_url: str,
    *,
    email: str,
    password: str | None,
    agent_key_name: str = LOCAL_AGENT_KEY_NAME,
) -> Bootstrap:
    """Migrate; create the admin if missing; replace the local agents' key with a fresh one."""
    store = await Store.open(database_url)
    try:
        team_id = await ensure_default_team(store)
        auth = AuthService(store, AuthSettings())
        email = email.strip().lower()
        shown: str | None = None
        admin = await store.user_by_email(email)
        if admin is None:
            shown = password or secrets.token_urlsafe(12)
            admin = await auth.create_user(
                email, shown, team_id=team_id, role="owner", is_superuser=True
            )
        principal = await auth.principal_for_user(admin.id, team_id)
        for old in await store.api_key_list(team_id):
            if old.name == agent_key_name and old.revoked_at is None:
                await store.api_key_revoke(team_id, old.id)
        _, agent_key = await auth.create_key(
            principal, kind="agent", name=agent_key_name, scopes=["agent:connect"]
        )
        generated = shown is not None and password is None
        return Bootstrap(email, shown, agent_key, generated)
    finally:
        await store.close()
