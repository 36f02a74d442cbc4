"""Refresh tokens: used once, in families that a reuse revokes whole.

Only the token's hash is stored (the caller hashes).
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa

from conveyor.errors import Unauthenticated
from conveyor.store.records import RefreshOutcome
from conveyor.store.schema import refresh_tokens, users
from conveyor.store.transaction import Tx
from conveyor.store.types import at

CREDENTIALS_CHANGED = "your password was changed or reset while you logged in: log in again"


def create_refresh(
    tx: Tx,
    user_id: uuid.UUID,
    family_id: uuid.UUID,
    token_hash: str,
    expires_at: datetime,
    *,
    epoch: int | None = None,
) -> None:
    """Insert a refresh token; with ``epoch``, only while the user's credentials epoch
    is still that one. The user's row is share-locked (PostgreSQL) until commit, so a
    concurrent password change either waits for this login and then revokes its
    token, or commits first and this login is refused."""
    if epoch is not None:
        current = tx.conn.execute(
            sa.select(users.c.credentials_epoch)
            .where(users.c.id == user_id)
            .with_for_update(read=True)
        ).scalar_one_or_none()
        if current != epoch:
            raise Unauthenticated(CREDENTIALS_CHANGED)
    tx.conn.execute(
        sa.insert(refresh_tokens).values(
            id=uuid.uuid4(),
            user_id=user_id,
            family_id=family_id,
            token_hash=token_hash,
            created_at=at(tx.now),
            expires_at=expires_at,
        )
    )


def rotate_refresh(tx: Tx, token_hash: str, new_hash: str, expires_at: datetime) -> RefreshOutcome:
    """Use a refresh token once: its successor joins the family, or a reuse kills the family.

    The conditional update is the lock: of two concurrent uses, one rotates and
    the other sees a used token, which counts as reuse.
    """
    now = at(tx.now)
    used = tx.conn.execute(
        sa.update(refresh_tokens)
        .where(
            refresh_tokens.c.token_hash == token_hash,
            refresh_tokens.c.used_at.is_(None),
            refresh_tokens.c.revoked_at.is_(None),
            refresh_tokens.c.expires_at > now,
        )
        .values(used_at=now)
        .returning(refresh_tokens.c.user_id, refresh_tokens.c.family_id)
    ).first()
    if used is not None:
        create_refresh(tx, used.user_id, used.family_id, new_hash, expires_at)
        return RefreshOutcome("rotated", used.user_id, used.family_id)
    row = tx.conn.execute(
        sa.select(
            refresh_tokens.c.user_id,
            refresh_tokens.c.family_id,
            refresh_tokens.c.used_at,
            refresh_tokens.c.revoked_at,
        ).where(refresh_tokens.c.token_hash == token_hash)
    ).first()
    if row is None or row.revoked_at is not None or row.used_at is None:
        return RefreshOutcome("invalid")  # unknown, revoked, or expired unused
    revoke_family(tx, row.family_id)
    return RefreshOutcome("reused", row.user_id, row.family_id)


def live_refresh_owner(tx: Tx, token_hash: str) -> uuid.UUID | None:
    """Whose refresh token this is, while it is usable (unused, unrevoked, unexpired)."""
    owner = tx.conn.execute(
        sa.select(refresh_tokens.c.user_id).where(
            refresh_tokens.c.token_hash == token_hash,
            refresh_tokens.c.used_at.is_(None),
            refresh_tokens.c.revoked_at.is_(None),
            refresh_tokens.c.expires_at > at(tx.now),
        )
    ).scalar()
    return None if owner is None else uuid.UUID(str(owner))


def revoke_family(tx: Tx, family_id: uuid.UUID) -> None:
    tx.conn.execute(
        sa.update(refresh_tokens)
        .where(refresh_tokens.c.family_id == family_id, refresh_tokens.c.revoked_at.is_(None))
        .values(revoked_at=at(tx.now))
    )


def revoke_family_of(tx: Tx, token_hash: str, *, user_id: uuid.UUID | None = None) -> bool:
    """Logout: revoke the family of this token (only ``user_id``'s, when given); False
    when there is no such token."""
    query = sa.select(refresh_tokens.c.family_id).where(refresh_tokens.c.token_hash == token_hash)
    if user_id is not None:
        query = query.where(refresh_tokens.c.user_id == user_id)
    family_id = tx.conn.execute(query).scalar()
    if family_id is None:
        return False
    revoke_family(tx, family_id)
    return True


def revoke_user_refresh(
    tx: Tx, user_id: uuid.UUID, *, keep_family: uuid.UUID | None = None
) -> None:
    """Revoke every refresh token of the user, except those of ``keep_family``."""
    query = sa.update(refresh_tokens).where(
        refresh_tokens.c.user_id == user_id, refresh_tokens.c.revoked_at.is_(None)
    )
    if keep_family is not None:
        query = query.where(refresh_tokens.c.family_id != keep_family)
    tx.conn.execute(query.values(revoked_at=at(tx.now)))
