"""JWT signing keys: the current one, rotation, and lookup by key id.

Stored in the clear, unlike every other secret: every replica must sign with them.
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa

from conveyor.store.queries.accounts import dialect_insert
from conveyor.store.records import SigningKey
from conveyor.store.schema import signing_keys
from conveyor.store.transaction import Tx
from conveyor.store.types import at

_SIGNING_COLUMNS = [signing_keys.c[name] for name in SigningKey.__slots__]

KID_DIGITS = 6
"""Signing key ids are "k" and a zero-padded generation: ordered, and two replicas
creating the next key at once pick the same id, so one insert wins."""


def signing_key_current_or_none(tx: Tx) -> SigningKey | None:
    row = tx.conn.execute(
        sa.select(*_SIGNING_COLUMNS)
        .where(signing_keys.c.retired_at.is_(None))
        .order_by(signing_keys.c.kid.desc())
        .limit(1)
    ).first()
    return None if row is None else SigningKey(**row._mapping)


def _insert_next_key(tx: Tx) -> None:
    """Insert the next generation's key; a replica that raced us to it wins quietly."""
    newest = tx.conn.execute(
        sa.select(signing_keys.c.kid, signing_keys.c.retired_at)
        .order_by(signing_keys.c.kid.desc())
        .limit(1)
    ).first()
    if newest is not None and newest.retired_at is None:
        return  # a racing replica committed the current key since we looked: use it
    generation = int(str(newest.kid)[1:]) + 1 if newest is not None else 1
    tx.conn.execute(
        dialect_insert(tx, signing_keys)
        .values(
            kid=f"k{generation:0{KID_DIGITS}d}",
            secret=secrets.token_urlsafe(64),
            created_at=at(tx.now),
        )
        .on_conflict_do_nothing(index_elements=[signing_keys.c.kid])
    )


def current_signing_key(tx: Tx) -> SigningKey:
    """The key new tokens are signed with, made on first use."""
    key = signing_key_current_or_none(tx)
    if key is None:
        _insert_next_key(tx)
        key = signing_key_current_or_none(tx)
    if key is None:  # a racing replica made and retired one meanwhile: take the next
        _insert_next_key(tx)
        key = signing_key_current_or_none(tx)
    assert key is not None
    return key


def rotate_signing_key(tx: Tx) -> SigningKey:
    """Retire the current key and make the next; tokens it signed stay valid until they expire."""
    tx.conn.execute(
        sa.update(signing_keys)
        .where(signing_keys.c.retired_at.is_(None))
        .values(retired_at=at(tx.now))
    )
    _insert_next_key(tx)
    key = signing_key_current_or_none(tx)
    assert key is not None
    return key


def get_signing_key(tx: Tx, kid: str) -> SigningKey | None:
    row = tx.conn.execute(sa.select(*_SIGNING_COLUMNS).where(signing_keys.c.kid == kid)).first()
    return None if row is None else SigningKey(**row._mapping)
