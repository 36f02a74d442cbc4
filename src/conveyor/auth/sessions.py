"""Sessions: log in, refresh, log out; self-service registration and password change.

Failed logins are counted in the store (per account and client address), so every
replica enforces the same limits.
"""

from __future__ import annotations

import math
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from conveyor.auth.passwords import (
    MAX_LENGTH,
    check_policy,
    hash_password_async,
    verify_password_async,
)
from conveyor.auth.permissions import Principal
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
from conveyor.store.records import User

INVALID_LOGIN = "wrong email or password"
INVALID_REFRESH = "the refresh token is invalid or expired: log in again"
REUSED_REFRESH = (
    "this refresh token was already used, so every session of this login is ended: log in again"
)
ACCOUNT_UNUSABLE = "this account is disabled or no longer exists"
MAX_EMAIL = 320
MAX_DISPLAY_NAME = 200


@dataclass(frozen=True, slots=True)
class TokenPair:
    """What login and refresh answer (OAuth2 style); ``expires_in`` is the access token's."""

    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int = 0


class Sessions:
    """The sessions part of :class:`~conveyor.auth.service.AuthService`."""

    store: Store
    settings: AuthSettings
    tokens: AccessTokens

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
        return await self._new_session(user, now=now)

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
        self, user: User, *, now: datetime | None, audit: AuditEntry | None = None
    ) -> TokenPair:
        """A new login under the credentials ``user`` was read with: refused by the
        store if a password change committed since (see ``Store.refresh_create``)."""
        issued = now or datetime.now(UTC)
        refresh = new_refresh_token()
        family_id = uuid.uuid4()
        await self.store.refresh_create(
            user.id,
            family_id,
            token_hash(refresh),
            issued + timedelta(seconds=self.settings.refresh_ttl_s),
            epoch=user.credentials_epoch,
            now=now,
            audit=audit,
        )
        return await self._pair(user, family_id, refresh, now=now)

    async def _pair(
        self, user: User, family_id: uuid.UUID | None, refresh: str, *, now: datetime | None
    ) -> TokenPair:
        access = await self.tokens.issue(
            user.id, session_id=family_id, epoch=user.credentials_epoch, now=now
        )
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
        return await self._pair(user, outcome.family_id, successor, now=now)

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
        return await self._new_session(user, now=None, audit=audit)

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
        email = check_email(email)
        check_policy(password)
        display_name = display_name.strip()
        if len(display_name) > MAX_DISPLAY_NAME:
            raise InvalidInput("display_name is at most 200 characters", field="display_name")
        password_hash = await hash_password_async(password)
        return await self.store.user_register(
            email, password_hash, team_slug=f"u-{secrets.token_hex(6)}",
            team_name=display_name or email[:MAX_DISPLAY_NAME], display_name=display_name,
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


def check_email(email: str) -> str:
    email = email.strip().lower()
    local, _, domain = email.partition("@")
    if not local or not domain or len(email) > MAX_EMAIL or any(c.isspace() for c in email):
        raise InvalidInput("an email looks like name@example.com", field="email")
    return email
