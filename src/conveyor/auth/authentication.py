"""Who is asking: the principal behind an access token, an API key or a signed URL.

Every request re-reads the user (and a key's creator), so disabling a user or
revoking a key takes effect on the next request, on every replica.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

from conveyor.auth import keys
from conveyor.auth.permissions import (
    AgentLimits,
    Principal,
    PrincipalKind,
    held_permissions,
    intersect,
    role_permissions,
)
from conveyor.auth.sessions import ACCOUNT_UNUSABLE
from conveyor.auth.signed_urls import SignedUrls
from conveyor.auth.tokens import AccessClaims, AccessTokens
from conveyor.errors import NotFound, PermissionDenied, Unauthenticated
from conveyor.settings import AuthSettings
from conveyor.store import Store
from conveyor.store.records import Membership, User, UserAccess

INVALID_KEY = "the API key is not valid"
CREDENTIALS_CHANGED = "the password of this account changed since this login: log in again"


class Authentication:
    """The authentication part of :class:`~conveyor.auth.service.AuthService`."""

    store: Store
    settings: AuthSettings
    tokens: AccessTokens
    signed_urls: SignedUrls
    _touched: dict[uuid.UUID, float]  # key id -> when we last recorded its use

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
        _check_epoch(access.user, claims)
        return await self._user_principal(access, team)

    async def authenticate_user(self, bearer: str) -> User:
        """The person behind an access token, whatever their teams (API keys are refused)."""
        if keys.looks_like_key(bearer):
            raise PermissionDenied("this needs a person's login, not an API key")
        claims = await self.tokens.verify(bearer)
        user = await self.store.user_get(claims.user_id)
        if user is None or user.disabled:
            raise Unauthenticated(ACCOUNT_UNUSABLE)
        _check_epoch(user, claims)
        return user

    async def authenticate_signed(self, token: str, purpose: str, resource: str) -> Principal:
        """The principal behind a signed URL's token for ``purpose`` on ``resource``:
        the user who asked for it, in its team, if they still may be there."""
        grant = await self.signed_urls.verify(token, purpose, resource)
        return await self.principal_for_user(grant.user_id, grant.team_id, epoch=grant.epoch)

    async def principal_for_user(
        self, user_id: uuid.UUID, team_id: uuid.UUID, *, epoch: int | None = None
    ) -> Principal:
        """A user's principal in a team, without a token (bootstrap and admin tools);
        with ``epoch`` (a signed URL's), refused once the password changed since."""
        access = await self.store.user_access(user_id)
        if access is None or access.user.disabled:
            raise Unauthenticated(ACCOUNT_UNUSABLE)
        if epoch is not None and not access.user.accepts(epoch, None):
            raise Unauthenticated(CREDENTIALS_CHANGED)
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
        return Principal(
            team_id, user.id, None, "user", permissions, user.email,
            credentials_epoch=user.credentials_epoch,
        )  # fmt: skip

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
            permissions = intersect(permissions, permissions_in(creator, key.team_id))
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


def _check_epoch(user: User, claims: AccessClaims) -> None:
    """Refuse a token issued before the user's last password change or reset (unless
    it belongs to the login that changed its own password)."""
    if not user.accepts(claims.epoch, claims.session_id):
        raise Unauthenticated(CREDENTIALS_CHANGED)


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


def permissions_in(access: UserAccess, team_id: uuid.UUID) -> frozenset[str]:
    """What a user may do in a team right now (nothing once they left it)."""
    permissions: frozenset[str] = frozenset()
    for membership in access.memberships:
        if membership.team_id == team_id:
            permissions = held_permissions(membership.role, membership.role_permissions)
    if access.user.is_superuser:
        permissions |= role_permissions("owner")
    return permissions
