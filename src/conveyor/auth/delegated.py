"""Whose rights a schedule's tick submits with, resolved when it fires.

A tick acts as the schedule's creator (the user, or the API key that created it) or
as the team API key the schedule names (``run_as_key_id``), with what they may do
*now*: a user who left the team or was disabled, a revoked or expired key, a key
whose creator lost the rights, all raise :class:`PermissionDenied` saying so, and
the tick is recorded as skipped ("rights_revoked").
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from conveyor.auth.authentication import permissions_in
from conveyor.auth.keys import KIND_AGENT
from conveyor.auth.permissions import Principal, intersect
from conveyor.errors import PermissionDenied
from conveyor.store import Store


async def acting_principal(
    store: Store,
    team_id: uuid.UUID,
    *,
    user_id: uuid.UUID | None,
    key_id: uuid.UUID | None,
    now: datetime | None = None,
) -> Principal:
    """The principal a schedule's tick acts as: the key when one is named, else the user."""
    if key_id is not None:
        return await _key_principal(store, team_id, key_id, now or datetime.now(UTC))
    if user_id is None:
        raise PermissionDenied("the schedule records no creator to act as")
    access = await store.user_access(user_id)
    if access is None or access.user.disabled:
        raise PermissionDenied("the schedule's creator's account is disabled or gone")
    permissions = permissions_in(access, team_id)
    if not permissions:
        raise PermissionDenied("the schedule's creator is no longer a member of the team")
    user = access.user
    return Principal(team_id, user.id, None, "user", permissions, user.email,
                     credentials_epoch=user.credentials_epoch)  # fmt: skip


async def _key_principal(
    store: Store, team_id: uuid.UUID, key_id: uuid.UUID, now: datetime
) -> Principal:
    key = next((k for k in await store.api_key_list(team_id) if k.id == key_id), None)
    if key is None or key.kind == KIND_AGENT:
        raise PermissionDenied(f"the schedule's API key {key_id} is not a client key of the team")
    if key.revoked_at is not None:
        raise PermissionDenied(f"the schedule's API key {key.name!r} was revoked")
    if key.expires_at is not None and key.expires_at <= now:
        raise PermissionDenied(f"the schedule's API key {key.name!r} has expired")
    permissions = frozenset(key.scopes)
    if key.created_by is not None:  # as authentication: scopes its creator still holds
        found = await store.api_key_access(key.prefix)
        creator = found[1] if found is not None else None
        if creator is None or creator.user.disabled:
            raise PermissionDenied(f"the creator of the API key {key.name!r} is disabled")
        permissions = intersect(permissions, permissions_in(creator, team_id))
    return Principal(team_id, None, key.id, "client_key", permissions, None, key_name=key.name)
