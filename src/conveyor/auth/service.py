"""Authentication as the API and the CLI use it: log in, refresh, authenticate, keys, users.

:class:`AuthService` is sessions (:mod:`conveyor.auth.sessions`) plus authentication
(:mod:`conveyor.auth.authentication`) plus what this module holds: API keys and
user administration.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from conveyor.auth import keys
from conveyor.auth.authentication import Authentication
from conveyor.auth.passwords import check_policy, hash_password_async
from conveyor.auth.permissions import (
    AGENT_CONNECT,
    KEYS_CREATE,
    KEYS_REVOKE,
    ROLES,
    Principal,
    job_create_permission,
    validate_scope,
)
from conveyor.auth.sessions import INVALID_LOGIN, Sessions, TokenPair, check_email
from conveyor.auth.signed_urls import SignedUrls
from conveyor.auth.tokens import AccessTokens
from conveyor.errors import InvalidInput, NotFound, PermissionDenied
from conveyor.settings import AuthSettings
from conveyor.store import AuditEntry, Store
from conveyor.store.records import ApiKey, User

__all__ = ["INVALID_LOGIN", "AuthService", "TokenPair"]  # where callers import them

MAX_KEY_NAME = 200
MAX_LIMITED = 100


class AuthService(Sessions, Authentication):
    """Users, sessions and API keys over the store; one per server process."""

    def __init__(self, store: Store, settings: AuthSettings) -> None:
        self.store = store
        self.settings = settings
        self.tokens = AccessTokens(
            store,
            issuer=settings.issuer,
            audience=settings.audience,
            ttl_s=settings.access_ttl_s,
        )
        self._touched: dict[uuid.UUID, float] = {}  # key id -> when we last recorded its use
        self.signed_urls = SignedUrls(self.tokens, ttl_s=settings.signed_url_ttl_s)

    # API keys

    async def create_key(
        self,
        principal: Principal,
        *,
        kind: str,
        name: str,
        scopes: list[str],
        expires_at: datetime | None = None,
        client_cert_cn: str | None = None,
        actions: list[str] | None = None,
        labels: dict[str, str] | None = None,
        now: datetime | None = None,
        audit: AuditEntry | None = None,
    ) -> tuple[ApiKey, str]:
        """Create a key in the principal's team; the second value is the key, shown once.

        An agent key carries ``agent:connect`` (the default); a client key needs at
        least one scope. No scope may exceed what the creator holds. An agent key may
        be limited to ``actions`` (it runs only those) and ``labels`` (its agents must
        carry them). An agent key bound to ``client_cert_cn`` connects only with a
        verified client certificate of that common name (mutual TLS), so a leaked key
        alone is not enough.
        """
        if principal.kind != "user" or principal.user_id is None:
            raise PermissionDenied("API keys are created by people: log in to create one")
        if not principal.can(KEYS_CREATE):
            raise PermissionDenied(f"you need the `{KEYS_CREATE}` permission for this")
        if kind not in keys.KINDS:
            raise InvalidInput("a key's kind is 'agent' or 'client'", field="kind")
        name = name.strip()
        if not name or len(name) > MAX_KEY_NAME:
            raise InvalidInput(
                f"a key needs a name of 1 to {MAX_KEY_NAME} characters", field="name"
            )
        wanted = sorted({validate_scope(scope) for scope in scopes})
        if kind == keys.KIND_AGENT:
            wanted = wanted or [AGENT_CONNECT]
            if wanted != [AGENT_CONNECT]:
                raise InvalidInput(f"an agent key carries only `{AGENT_CONNECT}`", field="scopes")
        elif not wanted:
            raise InvalidInput("a client key needs at least one scope", field="scopes")
        elif AGENT_CONNECT in wanted:
            raise InvalidInput(f"`{AGENT_CONNECT}` belongs to agent keys", field="scopes")
        denied = [scope for scope in wanted if not principal.can(scope)]
        if denied:
            raise PermissionDenied(
                f"a key cannot do more than you may: you lack {', '.join(denied)}", scopes=denied
            )
        if client_cert_cn is not None:
            client_cert_cn = client_cert_cn.strip()
            if kind != keys.KIND_AGENT:
                raise InvalidInput(
                    "only agent keys can be bound to a client certificate", field="client_cert_cn"
                )
            if not client_cert_cn or len(client_cert_cn) > MAX_KEY_NAME:
                raise InvalidInput(
                    f"a certificate common name has 1 to {MAX_KEY_NAME} characters",
                    field="client_cert_cn",
                )
        if expires_at is not None:
            if expires_at.tzinfo is None:
                raise InvalidInput("expires_at needs a time zone", field="expires_at")
            if expires_at <= (now or datetime.now(UTC)):
                raise InvalidInput("expires_at must be in the future", field="expires_at")
        limits = _agent_limits(kind, actions, labels)
        new = keys.generate()
        row = await self.store.api_key_create(
            principal.team_id,
            kind=kind,
            name=name,
            prefix=new.prefix,
            secret_hash=new.secret_hash,
            scopes=wanted,
            created_by=principal.user_id,
            expires_at=expires_at,
            client_cert_cn=client_cert_cn,
            limits=limits,
            now=now,
            audit=audit,
        )
        return row, new.key

    async def revoke_key(
        self, principal: Principal, key_id: uuid.UUID, *, audit: AuditEntry | None = None
    ) -> None:
        """Revoke a key of the principal's team: with ``keys:revoke``, or one they created."""
        if not principal.can(KEYS_REVOKE):
            mine = [k for k in await self.store.api_key_list(principal.team_id) if k.id == key_id]
            if not mine:
                raise NotFound(f"API key {key_id} not found", key_id=str(key_id))
            if principal.user_id is None or mine[0].created_by != principal.user_id:
                raise PermissionDenied(f"you need the `{KEYS_REVOKE}` permission for this")
        if not await self.store.api_key_revoke(principal.team_id, key_id, audit=audit):
            raise NotFound(f"API key {key_id} not found", key_id=str(key_id))
        self._touched.pop(key_id, None)

    # users

    async def create_user(
        self,
        email: str,
        password: str,
        *,
        team_id: uuid.UUID,
        role: str,
        is_superuser: bool = False,
        display_name: str = "",
    ) -> User:
        """Create a user with a first team and role (:class:`Conflict` if the email is taken)."""
        email = check_email(email)
        check_policy(password)
        if role not in ROLES:
            raise InvalidInput(f"role is one of {', '.join(ROLES)}", field="role")
        if await self.store.team_get(team_id) is None:
            raise NotFound(f"team {team_id} not found", team_id=str(team_id))
        password_hash = await hash_password_async(password)
        return await self.store.user_create(
            email,
            password_hash,
            display_name=display_name,
            is_superuser=is_superuser,
            team_id=team_id,
            role=role,
        )

    async def reset_password(self, email: str, password: str) -> None:
        """Set a user's password; every session of theirs ends (refresh tokens revoked)."""
        check_policy(password)
        user = await self.store.user_by_email(email)
        if user is None:
            raise NotFound(f"no user with email {email.strip().lower()!r}")
        await self.store.user_set_password(user.id, await hash_password_async(password))

    async def rotate_signing_key(self) -> None:
        """Sign new tokens with a fresh key; tokens signed before stay valid until they expire."""
        await self.store.signing_key_rotate()
        self.tokens.forget_current_key()


def _agent_limits(
    kind: str, actions: list[str] | None, labels: dict[str, str] | None
) -> dict[str, object] | None:
    """The stored limits of an agent key (validated), or None."""
    if actions is None and not labels:
        return None
    if kind != keys.KIND_AGENT:
        raise InvalidInput("only agent keys are limited to actions and labels", field="actions")
    limits: dict[str, object] = {}
    if actions is not None:
        if not actions or len(actions) > MAX_LIMITED:
            raise InvalidInput(f"give 1 to {MAX_LIMITED} actions", field="actions")
        for action in actions:
            validate_scope(job_create_permission(action), field="actions")
        limits["actions"] = sorted(set(actions))
    if labels:
        if len(labels) > MAX_LIMITED or any(
            not k or len(k) > 100 or len(v) > 200 for k, v in labels.items()
        ):
            raise InvalidInput(
                f"at most {MAX_LIMITED} labels, names of 1-100 and values of 0-200 characters",
                field="labels",
            )
        limits["labels"] = dict(labels)
    return limits
