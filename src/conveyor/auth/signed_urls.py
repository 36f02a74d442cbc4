"""Signed URLs: a short-lived grant to one resource for one user, carried in the URL.

Browsers cannot send a bearer header with a download link or an ``EventSource``,
so a signed-in page asks the API for a URL that carries a ``token`` query
parameter instead. The token is a JWT signed with the store's signing keys, with
its own type and audience (an access token is never one, nor the reverse). It
names its purpose (``artifact``, ``events``, ``logs``), the resource (the path it
opens, with any pinned query), the user and the team, and expires in minutes.
Using it re-checks the user as a request would: disabled, or no longer in the
team, and the URL stops working.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from conveyor.auth.permissions import Principal
from conveyor.auth.tokens import EPOCH_CLAIM, AccessTokens, epoch_of
from conveyor.errors import PermissionDenied, Unauthenticated

URL_TYPE = "url"
PURPOSES = frozenset({"artifact", "events", "logs"})
INVALID_URL = "this link is invalid or expired: open it again from the page"


@dataclass(frozen=True, slots=True)
class SignedGrant:
    """What a valid signed URL allows: ``purpose`` on ``resource``, as this user in this team."""

    user_id: uuid.UUID
    team_id: uuid.UUID
    purpose: str
    resource: str
    expires_at: datetime
    epoch: int  # the user's credentials epoch when it was issued


class SignedUrls:
    """Issue and check signed-URL tokens with the access tokens' keys."""

    def __init__(self, tokens: AccessTokens, *, ttl_s: int) -> None:
        self.tokens = tokens
        self.ttl_s = ttl_s
        self.audience = f"{tokens.audience}/url"

    async def issue(
        self, principal: Principal, purpose: str, resource: str, *, now: datetime | None = None
    ) -> tuple[str, datetime]:
        """A token for ``purpose`` on ``resource``, and when it expires."""
        if principal.kind != "user" or principal.user_id is None:
            raise PermissionDenied("signed URLs are for people in a browser: log in to get one")
        if purpose not in PURPOSES:
            raise ValueError(f"unknown signed-URL purpose {purpose!r}")
        issued = now or datetime.now(UTC)
        claims = {
            "sub": str(principal.user_id),
            "team": str(principal.team_id),
            "pur": purpose,
            "res": resource,
            EPOCH_CLAIM: principal.credentials_epoch,
        }
        token = await self.tokens.sign(
            claims, typ=URL_TYPE, audience=self.audience, ttl_s=self.ttl_s, now=issued
        )
        return token, issued.replace(microsecond=0) + timedelta(seconds=self.ttl_s)

    async def verify(self, token: str, purpose: str, resource: str) -> SignedGrant:
        """The grant of a valid token for exactly ``purpose`` on ``resource``."""
        if not token or len(token) > 4096:
            raise Unauthenticated(INVALID_URL)
        claims, _ = await self.tokens.decode(
            token, typ=URL_TYPE, audience=self.audience, message=INVALID_URL
        )
        if claims.get("pur") != purpose or claims.get("res") != resource:
            raise Unauthenticated(INVALID_URL)
        try:
            user_id, team_id = uuid.UUID(str(claims["sub"])), uuid.UUID(str(claims.get("team")))
        except ValueError:
            raise Unauthenticated(INVALID_URL) from None
        expires = datetime.fromtimestamp(int(claims["exp"]), UTC)
        epoch = epoch_of(claims, INVALID_URL)
        return SignedGrant(user_id, team_id, purpose, resource, expires, epoch)
