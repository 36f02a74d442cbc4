"""Authentication as the API and the CLI use it: log in, refresh, authenticate, keys, users.

Every request re-reads the user (and a key's creator), so disabling a user or
revoking a key takes effect on the next request, on every replica.
"""

from __future__ import annotations

import math
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from conveyor.auth import keys
from conveyor.auth.passwords import (
    MAX_LENGTH,
    check_policy,
    hash_password_async,
    verify_password_async,
)
from conveyor.auth.permissions import (
    AGENT_CONNECT,
    KEYS_CREATE,
    KEYS_REVOKE,
    ROLES,
    AgentLimits,
    Principal,
    PrincipalKind,
    held_permissions,
    intersect,
    job_create_permission,
    role_permissions,
    validate_scope,
)
from conveyor.auth.signed_urls import SignedUrls
from conveyor.auth.tokens import AccessTokens, new_refresh_token, token_hash
from conveyor.errors import (
    InvalidInput,
    NotFound,
    PermissionDenied,
    RateLimited,
    Unauthenticated,
)
from conveyor.settings import AuthSettings
from conveyor.store import AuditEntry, Limit, Store, normalize_email
from conveyor.store.records import ApiKey, Membership, User, UserAccess

INVALID_LOGIN = "wrong email or password"
INVALID_REFRESH = "the refresh token is invalid or expired: log in again"
REUSED_REFRESH = (
    "this refresh token was already used, so every session of this login is ended: log in again"
)
INVALID_KEY = "the API key is not valid"
ACCOUNT_UNUSABLE = "this account is disabled or no longer exists"
MAX_EMAIL = 320
MAX_KEY_NAME = 200
MAX_LIMITED = 100


@dataclass(frozen=True, slots=True)
class TokenPair:
    """What login and refresh answer (OAuth2 style); ``expires_in`` is the access token's."""

    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int = 0


class AuthService:
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

    # sessions

    async def login(
        self, email: str, password: str, *, client: str | None = None, now: datetime | None = None
    ) -> TokenPair:
        """Tokens for a valid email and password; one answer for every kind of refusal.

        Failures count against the account and the client address (``client``) in
        the store, so every replica sees them; past a limit, :class:`RateLimited`
        until the window ends, whatever the password.
        """
        limits = self._login_limits(email, client)
        await self._check_limits(limits, now)
        if len(email) > MAX_EMAIL or len(password) > MAX_LENGTH:
            await self.store.login_failed(limits, now=now)
            raise Unauthenticated(INVALID_LOGIN)
        user = await self.store.user_by_email(email)
        ok, new_hash = await verify_password_async(
            password, None if user is None else user.password_hash
        )
        if user is None or not ok or user.disabled:
            await self.store.login_failed(limits, now=now)
            raise Unauthenticated(INVALID_LOGIN)
        await self.store.login_succeeded(limits[0].key)
        if new_hash is not None:  # stored with outdated hashing parameters
            await self.store.user_set_password(user.id, new_hash, end_sessions=False)
        return await self._new_session(user.id, now=now)

    async def _check_limits(self, limits: list[Limit], now: datetime | None) -> None:
        wait = await self.store.login_retry_after(limits, now=now)
        if wait is not None:
            seconds = max(1, math.ceil(wait))
            raise RateLimited(
                f"too many failed logins: try again in {seconds} seconds", retry_after=seconds
            )

    def _login_limits(self, email: str, client: str | None) -> list[Limit]:
        """The account's limit first, then the client address's (when known)."""
        settings = self.settings
        account = "account:" + normalize_email(email)[:MAX_EMAIL]
        limits = [Limit(account, settings.login_max_failures_per_account, settings.login_window_s)]
        if client:
            limits.append(
                Limit(
                    f"address:{client[:64]}",
                    settings.login_max_failures_per_address,
                    settings.login_window_s,
                )
            )
        return limits

    async def _new_session(
        self, user_id: uuid.UUID, *, now: datetime | None, audit: AuditEntry | None = None
    ) -> TokenPair:
        issued = now or datetime.now(UTC)
        refresh = new_refresh_token()
        family_id = uuid.uuid4()
        await self.store.refresh_create(
            user_id,
            family_id,
            token_hash(refresh),
            issued + timedelta(seconds=self.settings.refresh_ttl_s),
            now=now,
            audit=audit,
        )
        return await self._pair(user_id, family_id, refresh, now=now)

    async def _pair(
        self, user_id: uuid.UUID, family_id: uuid.UUID | None, refresh: str, *,
        now: datetime | None,
    ) -> TokenPair:  # fmt: skip
        access = await self.tokens.issue(user_id, session_id=family_id, now=now)
        return TokenPair(access, refresh, "bearer", self.settings.access_ttl_s)

    async def refresh(self, refresh_token: str, *, now: datetime | None = None) -> TokenPair:
        """Trade a refresh token for new tokens; the old one is spent.

        Presenting a spent token again means it leaked (or a client raced itself):
        the whole family is revoked, the newest token included.
        """
        if not refresh_token or len(refresh_token) > 200:
            raise Unauthenticated(INVALID_REFRESH)
        issued = now or datetime.now(UTC)
        successor = new_refresh_token()
        outcome = await self.store.refresh_rotate(
            token_hash(refresh_token),
            token_hash(successor),
            issued + timedelta(seconds=self.settings.refresh_ttl_s),
            now=now,
        )
        if outcome.status == "reused":
            raise Unauthenticated(REUSED_REFRESH)
        if outcome.status != "rotated" or outcome.user_id is None:
            raise Unauthenticated(INVALID_REFRESH)
        user = await self.store.user_get(outcome.user_id)
        if user is None or user.disabled:
            if outcome.family_id is not None:
                await self.store.refresh_revoke_family(outcome.family_id)
            raise Unauthenticated(ACCOUNT_UNUSABLE)
        return await self._pair(user.id, outcome.family_id, successor, now=now)

    async def new_session(
        self, user: User, refresh_token: str, *, audit: AuditEntry | None = None
    ) -> TokenPair:
        """A second, independent login for a person who holds a live one (say, for an agent).

        Both the access token (the caller) and a live refresh token of the same person
        are needed, so a leaked access token alone cannot mint a long-lived session.
        The presented refresh token stays valid: the two logins rotate apart.
        """
        if not refresh_token or len(refresh_token) > 200:
            raise Unauthenticated(INVALID_REFRESH)
        owner = await self.store.refresh_live_owner(token_hash(refresh_token))
        if owner is None or owner != user.id:
            raise Unauthenticated(INVALID_REFRESH)
        return await self._new_session(user.id, now=None, audit=audit)

    async def logout(
        self,
        refresh_token: str,
        *,
        user_id: uuid.UUID | None = None,
        audit: AuditEntry | None = None,
    ) -> None:
        """End the login this refresh token belongs to.

        With ``user_id`` (the API) the token must be one of that user's, else
        :class:`NotFound`: a client learns that its logout ended nothing. Without,
        an unknown token is not an error.
        """
        found = False
        if refresh_token and len(refresh_token) <= 200:
            found = await self.store.refresh_revoke_token_family(
                token_hash(refresh_token), user_id=user_id, audit=audit
            )
        if not found and user_id is not None:
            raise NotFound("no such refresh token of yours: nothing was logged out")

    # self-service accounts

    async def register(
        self,
        email: str,
        password: str,
        *,
        display_name: str = "",
        audit: AuditEntry | None = None,
    ) -> tuple[User, uuid.UUID]:
        """A new account with a team of its own (returned with the team's id).

        Only when registration is open (``CONVEYOR_REGISTRATION=open``); a new user
        sees nothing of other teams until someone adds them.
        """
        if self.settings.registration != "open":
            raise PermissionDenied(
                "registration is closed on this server: ask an administrator for an account"
            )
        email = _check_email(email)
        check_policy(password)
        display_name = display_name.strip()
        if len(display_name) > MAX_KEY_NAME:
            raise InvalidInput("display_name is at most 200 characters", field="display_name")
        password_hash = await hash_password_async(password)
        return await self.store.user_register(
            email, password_hash, team_slug=f"u-{secrets.token_hex(6)}",
            team_name=display_name or email[:MAX_KEY_NAME], display_name=display_name,
            audit=audit,
        )  # fmt: skip

    async def change_password(
        self,
        principal: Principal,
        access_token: str,
        current: str,
        new: str,
        *,
        audit: AuditEntry | None = None,
    ) -> None:
        """The user's own password change: the current password is checked (and its
        failures count like failed logins); every other login of theirs ends."""
        if principal.kind != "user" or principal.user_id is None:
            raise PermissionDenied("a password belongs to a person: log in to change yours")
        user = await self.store.user_get(principal.user_id)
        if user is None or user.disabled:
            raise Unauthenticated(ACCOUNT_UNUSABLE)
        limits = self._login_limits(user.email, None)
        await self._check_limits(limits, None)
        ok, _ = await verify_password_async(current[:MAX_LENGTH], user.password_hash)
        if not ok:
            await self.store.login_failed(limits)
            raise PermissionDenied("the current password is not right", field="current_password")
        check_policy(new)
        claims = await self.tokens.verify(access_token)
        await self.store.user_change_password(
            user.id,
            await hash_password_async(new),
            keep_family=claims.session_id,
            audit=audit,
        )

    # who is asking

    async def authenticate(
        self, bearer: str, *, team: str | None = None, now: datetime | None = None
    ) -> Principal:
        """The principal behind an access token or API key, in the team it works in.

        A key works in its own team. A user works in ``team`` (id or slug; one of
        theirs, else :class:`PermissionDenied`) or their default team; superusers
        may pick any team and hold owner rights there.
        """
        if keys.looks_like_key(bearer):
            return await self._authenticate_key(bearer, team=team, now=now)
        claims = await self.tokens.verify(bearer)
        access = await self.store.user_access(claims.user_id)
        if access is None or access.user.disabled:
            raise Unauthenticated(ACCOUNT_UNUSABLE)
        return await self._user_principal(access, team)

    async def authenticate_user(self, bearer: str) -> User:
        """The person behind an access token, whatever their teams (API keys are refused)."""
        if keys.looks_like_key(bearer):
            raise PermissionDenied("this needs a person's login, not an API key")
        claims = await self.tokens.verify(bearer)
        user = await self.store.user_get(claims.user_id)
        if user is None or user.disabled:
            raise Unauthenticated(ACCOUNT_UNUSABLE)
        return user

    async def authenticate_signed(self, token: str, purpose: str, resource: str) -> Principal:
        """The principal behind a signed URL's token for ``purpose`` on ``resource``:
        the user who asked for it, in its team, if they still may be there."""
        grant = await self.signed_urls.verify(token, purpose, resource)
        return await self.principal_for_user(grant.user_id, grant.team_id)

    async def principal_for_user(self, user_id: uuid.UUID, team_id: uuid.UUID) -> Principal:
        """A user's principal in a team, without a token (bootstrap and admin tools)."""
        access = await self.store.user_access(user_id)
        if access is None or access.user.disabled:
            raise Unauthenticated(ACCOUNT_UNUSABLE)
        return await self._user_principal(access, str(team_id))

    async def _user_principal(self, access: UserAccess, team: str | None) -> Principal:
        user = access.user
        membership = _find_membership(access.memberships, team)
        if membership is not None:
            team_id = membership.team_id
            permissions = held_permissions(membership.role, membership.role_permissions)
        elif team is None:
            raise PermissionDenied("you are not a member of any team: ask a team owner to add you")
        elif user.is_superuser:
            team_id, permissions = await self._team_id(team), role_permissions("owner")
        else:
            raise PermissionDenied(f"you are not a member of team {team[:100]!r}")
        if user.is_superuser:
            permissions |= role_permissions("owner")
        return Principal(team_id, user.id, None, "user", permissions, user.email)

    async def _team_id(self, team: str) -> uuid.UUID:
        """The id of the team named by id or slug; :class:`NotFound` when there is none."""
        team_id = _as_uuid(team)
        if team_id is not None:
            found = await self.store.team_get(team_id)
            if found is not None:
                return found.id
        else:
            by_slug = await self.store.team_by_slug(team)
            if by_slug is not None:
                return by_slug
        raise NotFound(f"team {team[:100]!r} not found")

    async def _authenticate_key(
        self, bearer: str, *, team: str | None, now: datetime | None
    ) -> Principal:
        prefix = keys.parse_prefix(bearer)
        if prefix is None:
            raise Unauthenticated(INVALID_KEY)
        found = await self.store.api_key_access(prefix)
        if found is None or not keys.matches(bearer, found[0].secret_hash):
            raise Unauthenticated(INVALID_KEY)
        key, creator = found
        if key.revoked_at is not None:
            raise Unauthenticated("this API key was revoked")
        if key.expires_at is not None and key.expires_at <= (now or datetime.now(UTC)):
            raise Unauthenticated("this API key has expired")
        if team is not None and not await self._names_team(team, key.team_id):
            raise PermissionDenied("this API key belongs to another team")
        permissions = frozenset(key.scopes)
        if key.created_by is not None:  # a key does what its scopes allow and its creator still may
            if creator is None or creator.user.disabled:
                raise Unauthenticated("the user who created this API key is disabled")
            permissions = intersect(permissions, _permissions_in(creator, key.team_id))
        await self._touch(key.id, now)
        kind: PrincipalKind = "agent_key" if key.kind == keys.KIND_AGENT else "client_key"
        limits = AgentLimits.of(key.limits)
        return Principal(
            key.team_id, None, key.id, kind, permissions, None, limits,
            client_cert_cn=key.client_cert_cn, key_name=key.name,
        )  # fmt: skip

    async def _names_team(self, team: str, team_id: uuid.UUID) -> bool:
        as_id = _as_uuid(team)
        if as_id is not None:
            return as_id == team_id
        return await self.store.team_by_slug(team) == team_id

    async def _touch(self, key_id: uuid.UUID, now: datetime | None) -> None:
        """Record a key's use at most once per interval (here, and in the store across replicas)."""
        interval = self.settings.key_touch_interval_s
        clock = time.monotonic()
        last = self._touched.get(key_id)
        if last is not None and clock - last < interval:
            return
        self._touched[key_id] = clock
        await self.store.api_key_touch(key_id, min_interval_s=interval, now=now)

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
        email = _check_email(email)
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


def _as_uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def _find_membership(memberships: list[Membership], team: str | None) -> Membership | None:
    """The membership ``team`` names (id or slug), or the default (first) when it is None."""
    if team is None:
        return memberships[0] if memberships else None
    as_id = _as_uuid(team)
    for membership in memberships:
        if membership.team_id == as_id or membership.slug == team:
            return membership
    return None


def _permissions_in(access: UserAccess, team_id: uuid.UUID) -> frozenset[str]:
    """What a user may do in a team right now (nothing once they left it)."""
    permissions: frozenset[str] = frozenset()
    for membership in access.memberships:
        if membership.team_id == team_id:
            permissions = held_permissions(membership.role, membership.role_permissions)
    if access.user.is_superuser:
        permissions |= role_permissions("owner")
    return permissions


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


def _check_email(email: str) -> str:
    email = email.strip().lower()
    local, _, domain = email.partition("@")
    if not local or not domain or len(email) > MAX_EMAIL or any(c.isspace() for c in email):
        raise InvalidInput("an email looks like name@example.com", field="email")
    return email
