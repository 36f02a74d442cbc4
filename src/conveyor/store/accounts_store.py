"""The store's account methods: users, memberships, API keys, refresh tokens, signing keys.

A mixin of :class:`conveyor.store.Store`, kept apart so each file holds one concern.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from conveyor.errors import NotFound
from conveyor.store.database import Database
from conveyor.store.queries import accounts, api_keys, refresh_tokens, signing_keys
from conveyor.store.queries.audit import AuditEntry, audited
from conveyor.store.queries.forget import forgetting
from conveyor.store.read_cache import ACCESS
from conveyor.store.records import (
    ApiKey,
    Membership,
    RefreshOutcome,
    SigningKey,
    Team,
    User,
    UserAccess,
)


def _found(message: str) -> Callable[[AuditEntry, bool], AuditEntry]:
    """For writes that answer False when their object is missing: refuse, in the
    transaction, to record a success that changed nothing."""

    def check(entry: AuditEntry, found: bool) -> AuditEntry:
        if not found:
            raise NotFound(message)
        return entry

    return check


class AccountsStore:
    """Account methods over ``self.db``."""

    db: Database

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
            forgetting(ACCESS, accounts.create_user), None, email, password_hash, display_name=display_name,
            is_superuser=is_superuser, team_id=team_id, role=role,
        )  # fmt: skip

    async def user_by_email(self, email: str) -> User | None:
        return await self.db.read(accounts.user_by_email, None, email)

    async def user_get(self, user_id: uuid.UUID) -> User | None:
        return await self.db.read(accounts.get_user, None, user_id)

    async def user_access(self, user_id: uuid.UUID) -> UserAccess | None:
        """The user and their teams (default first) in one read, for authentication
        (kept until an account write commits: see read_cache)."""
        return await self.db.read_cached(ACCESS, ("user", user_id), accounts.user_access, user_id)

    async def user_set_password(
        self, user_id: uuid.UUID, password_hash: str, *, end_sessions: bool = True
    ) -> None:
        await self.db.write(
            forgetting(ACCESS, accounts.set_password),
            None,
            user_id,
            password_hash,
            end_sessions=end_sessions,
        )

    async def user_set_disabled(self, user_id: uuid.UUID, disabled: bool) -> None:
        await self.db.write(forgetting(ACCESS, accounts.set_disabled), None, user_id, disabled)

    async def team_get(self, team_id: uuid.UUID) -> Team | None:
        return await self.db.read(accounts.get_team, None, team_id)

    async def member_add(self, team_id: uuid.UUID, user_id: uuid.UUID, role: str) -> None:
        await self.db.write(forgetting(ACCESS, accounts.add_member), None, team_id, user_id, role)

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
        op = forgetting(
            ACCESS,
            audited(api_keys.create_api_key, audit, lambda e, key: e.about("api_key", key.id)),
        )
        return await self.db.write(
            op, now, team_id, kind=kind, name=name, prefix=prefix,
            secret_hash=secret_hash, scopes=scopes, created_by=created_by, expires_at=expires_at,
            client_cert_cn=client_cert_cn,
            limits=limits,
        )  # fmt: skip

    async def api_key_by_prefix(self, prefix: str) -> ApiKey | None:
        return await self.db.read(api_keys.api_key_by_prefix, None, prefix)

    async def api_key_access(self, prefix: str) -> tuple[ApiKey, UserAccess | None] | None:
        """The key and its creator's access to the key's team, in one read (authentication;
        kept until an account write commits: see read_cache)."""
        return await self.db.read_cached(ACCESS, ("key", prefix), accounts.api_key_access, prefix)

    async def api_key_list(self, team_id: uuid.UUID) -> list[ApiKey]:
        return await self.db.read(api_keys.list_api_keys, None, team_id)

    async def api_key_revoke(
        self, team_id: uuid.UUID, key_id: uuid.UUID, *, audit: AuditEntry | None = None
    ) -> bool:
        """Revoke a key of the team (idempotent); False when the team has no such key
        (:class:`NotFound` when audited: no success is recorded for it)."""
        op = forgetting(
            ACCESS,
            audited(api_keys.revoke_api_key, audit, _found(f"API key {key_id} not found")),
        )
        return await self.db.write(op, None, team_id, key_id)

    async def api_key_touch(
        self, key_id: uuid.UUID, *, min_interval_s: float = 60.0, now: datetime | None = None
    ) -> None:
        """Set ``last_used_at`` unless it was set less than ``min_interval_s`` ago."""
        await self.db.write(api_keys.touch_api_key, now, key_id, min_interval_s)

    async def refresh_create(
        self,
        user_id: uuid.UUID,
        family_id: uuid.UUID,
        token_hash: str,
        expires_at: datetime,
        *,
        epoch: int | None = None,
        now: datetime | None = None,
        audit: AuditEntry | None = None,
    ) -> None:
        """Start a login. With ``epoch`` (the credentials epoch the password was checked
        under), :class:`Unauthenticated` if a password change or reset committed since."""
        await self.db.write(
            audited(refresh_tokens.create_refresh, audit),
            now,
            user_id,
            family_id,
            token_hash,
            expires_at,
            epoch=epoch,
        )

    async def refresh_rotate(
        self, token_hash: str, new_hash: str, expires_at: datetime, *, now: datetime | None = None
    ) -> RefreshOutcome:
        """Atomically use a refresh token: rotated, reused (family revoked) or invalid."""
        return await self.db.write(
            refresh_tokens.rotate_refresh, now, token_hash, new_hash, expires_at
        )

    async def refresh_live_owner(self, token_hash: str) -> uuid.UUID | None:
        """The user a usable refresh token belongs to; None when spent, revoked or expired."""
        return await self.db.read(refresh_tokens.live_refresh_owner, None, token_hash)

    async def refresh_revoke_family(self, family_id: uuid.UUID) -> None:
        await self.db.write(refresh_tokens.revoke_family, None, family_id)

    async def refresh_revoke_token_family(
        self, token_hash: str, *, user_id: uuid.UUID | None = None, audit: AuditEntry | None = None
    ) -> bool:
        """Logout: revoke the family of this token (of ``user_id``, when given); False
        when there is no such token (:class:`NotFound` when audited)."""
        op = audited(
            refresh_tokens.revoke_family_of,
            audit,
            _found("no such refresh token of yours: nothing was logged out"),
        )
        return await self.db.write(op, None, token_hash, user_id=user_id)

    async def refresh_revoke_user(self, user_id: uuid.UUID) -> None:
        await self.db.write(refresh_tokens.revoke_user_refresh, None, user_id)

    async def signing_key_current(self) -> SigningKey:
        """The key to sign with; the first call on a fresh database makes one (race-safe)."""
        key = await self.db.read(signing_keys.signing_key_current_or_none, None)
        if key is not None:
            return key
        return await self.db.write(signing_keys.current_signing_key, None)

    async def signing_key_rotate(self) -> SigningKey:
        """Retire the current signing key and make the next (old tokens still verify)."""
        return await self.db.write(signing_keys.rotate_signing_key, None)

    async def signing_key_get(self, kid: str) -> SigningKey | None:
        return await self.db.read(signing_keys.get_signing_key, None, kid)
