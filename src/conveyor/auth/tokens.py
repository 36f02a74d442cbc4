"""Access tokens (signed JWTs) and refresh tokens (opaque, stored hashed).

Access tokens are HS256 JWTs signed with a key the store keeps for all replicas;
the header's ``kid`` names it, so keys rotate without logging anyone out. Every
check is pinned: algorithm, issuer, audience, expiry, not-before, and
``typ == "access"``. Refresh tokens are random strings; only their SHA-256 is
stored, and each is used once (see ``Store.refresh_rotate``).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from conveyor.errors import Unauthenticated
from conveyor.store import Store
from conveyor.store.records import SigningKey

ALGORITHM = "HS256"
ACCESS_TYPE = "access"
LEEWAY_S = 5  # clock differences between replicas
CURRENT_KEY_CACHE_S = 60.0  # how long a replica signs with a key before asking for the newest
REFRESH_PREFIX = "cvr_"
EPOCH_CLAIM = "cep"  # the user's credentials epoch the token was issued under
_REQUIRED_CLAIMS = ["exp", "iat", "nbf", "iss", "aud", "sub", "jti", "typ"]
_KID = re.compile(r"[A-Za-z0-9_\-]{1,64}")

INVALID_ACCESS = "the access token is invalid or expired: log in again"


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """What a verified access token says."""

    user_id: uuid.UUID
    jti: str
    kid: str
    session_id: uuid.UUID | None  # the login (refresh family) it was issued for
    epoch: int  # the user's credentials epoch then (0 for tokens without the claim)
    issued_at: datetime
    expires_at: datetime


class AccessTokens:
    """Issue and verify access tokens with the store's signing keys, cached in memory."""

    def __init__(self, store: Store, *, issuer: str, audience: str, ttl_s: int) -> None:
        self.store = store
        self.issuer = issuer
        self.audience = audience
        self.ttl_s = ttl_s
        self._secrets: dict[str, str] = {}  # kid -> secret; keys are never changed, only retired
        self._current: SigningKey | None = None
        self._current_until = 0.0
        self._lock = asyncio.Lock()

    async def _signing_key(self) -> SigningKey:
        async with self._lock:
            if self._current is None or time.monotonic() >= self._current_until:
                self._current = await self.store.signing_key_current()
                self._current_until = time.monotonic() + CURRENT_KEY_CACHE_S
                self._secrets[self._current.kid] = self._current.secret
            return self._current

    def forget_current_key(self) -> None:
        """Ask the store for the newest key before signing again (after a rotation)."""
        self._current = None

    async def _secret(self, kid: str) -> str | None:
        secret = self._secrets.get(kid)
        if secret is None:
            key = await self.store.signing_key_get(kid)
            if key is None:
                return None
            secret = self._secrets[kid] = key.secret
        return secret

    async def issue(
        self,
        user_id: uuid.UUID,
        *,
        session_id: uuid.UUID | None = None,
        epoch: int = 0,
        now: datetime | None = None,
    ) -> str:
        """A signed access token for ``user_id``, valid for ``ttl_s`` from ``now``.

        ``session_id`` (claim ``sid``) names the login it belongs to, so the user's
        own password change can keep this login and end the others; ``epoch``
        (claim ``cep``) is the user's credentials epoch, so a password change or
        reset ends the tokens issued before it.
        """
        claims: dict[str, Any] = {"sub": str(user_id), EPOCH_CLAIM: epoch}
        if session_id is not None:
            claims["sid"] = str(session_id)
        return await self.sign(
            claims, typ=ACCESS_TYPE, audience=self.audience, ttl_s=self.ttl_s, now=now
        )

    async def sign(
        self,
        claims: dict[str, Any],
        *,
        typ: str,
        audience: str,
        ttl_s: int,
        now: datetime | None = None,
    ) -> str:
        """A JWT of ``claims`` with the pinned ones added, signed with the current key."""
        key = await self._signing_key()
        issued = now or datetime.now(UTC)
        pinned: dict[str, Any] = {
            "iss": self.issuer,
            "aud": audience,
            "iat": issued,
            "nbf": issued,
            "exp": issued + timedelta(seconds=ttl_s),
            "jti": uuid.uuid4().hex,
            "typ": typ,
        }
        return jwt.encode(
            {**claims, **pinned}, key.secret, algorithm=ALGORITHM, headers={"kid": key.kid}
        )

    async def verify(self, token: str) -> AccessClaims:
        """The claims of a valid access token; :class:`Unauthenticated` for anything else."""
        claims, kid = await self.decode(token, typ=ACCESS_TYPE, audience=self.audience)
        try:
            user_id = uuid.UUID(str(claims["sub"]))
            session_id = uuid.UUID(str(claims["sid"])) if "sid" in claims else None
        except ValueError:
            raise Unauthenticated(INVALID_ACCESS) from None
        return AccessClaims(
            user_id=user_id,
            jti=str(claims["jti"]),
            kid=kid,
            session_id=session_id,
            epoch=epoch_of(claims, INVALID_ACCESS),
            issued_at=datetime.fromtimestamp(int(claims["iat"]), UTC),
            expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
        )

    async def decode(
        self, token: str, *, typ: str, audience: str, message: str = INVALID_ACCESS
    ) -> tuple[dict[str, Any], str]:
        """The claims and key id of a valid token of type ``typ`` for ``audience``.

        Every check is pinned (algorithm, key id, issuer, audience, expiry,
        not-before, type); anything else is :class:`Unauthenticated` with ``message``.
        """
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthenticated(message) from None
        kid = header.get("kid")
        if header.get("alg") != ALGORITHM or not isinstance(kid, str) or not _KID.fullmatch(kid):
            raise Unauthenticated(message)
        secret = await self._secret(kid)
        if secret is None:
            raise Unauthenticated(message)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                secret,
                algorithms=[ALGORITHM],
                audience=audience,
                issuer=self.issuer,
                leeway=LEEWAY_S,
                options={"require": _REQUIRED_CLAIMS, "strict_aud": True},
            )
        except jwt.PyJWTError:
            raise Unauthenticated(message) from None
        if claims.get("typ") != typ:
            raise Unauthenticated(message)
        return claims, kid


def epoch_of(claims: dict[str, Any], message: str) -> int:
    """The credentials epoch a verified token names: 0 when it has none (issued
    before epochs existed), :class:`Unauthenticated` with ``message`` when malformed."""
    epoch = claims.get(EPOCH_CLAIM, 0)
    if type(epoch) is not int or epoch < 0:
        raise Unauthenticated(message)
    return epoch


def new_refresh_token() -> str:
    """An opaque refresh token: shown to the client once, stored only as its hash."""
    return REFRESH_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """SHA-256 hex of a secret (refresh token or API key): what the store keeps."""
    return hashlib.sha256(token.encode()).hexdigest()
