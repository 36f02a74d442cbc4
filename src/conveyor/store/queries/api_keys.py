"""API keys: created, looked up by prefix, listed, revoked, touched when used.

Only the secret's hash is stored (the caller hashes).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from conveyor.store.records import ApiKey
from conveyor.store.schema import api_keys
from conveyor.store.transaction import Tx
from conveyor.store.types import at, plus_seconds

KEY_COLUMNS = [api_keys.c[name] for name in ApiKey.__slots__]


def create_api_key(
    tx: Tx,
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
) -> ApiKey:
    row = tx.conn.execute(
        sa.insert(api_keys)
        .values(
            id=uuid.uuid4(),
            team_id=team_id,
            kind=kind,
            name=name,
            prefix=prefix,
            secret_hash=secret_hash,
            scopes=list(scopes),
            created_by=created_by,
            created_at=at(tx.now),
            expires_at=expires_at,
            client_cert_cn=client_cert_cn,
            limits=limits,
        )
        .returning(*KEY_COLUMNS)
    ).one()
    return ApiKey(**row._mapping)


def api_key_by_prefix(tx: Tx, prefix: str) -> ApiKey | None:
    """The key row a presented key names; the caller still compares the secret's hash."""
    row = tx.conn.execute(sa.select(*KEY_COLUMNS).where(api_keys.c.prefix == prefix)).first()
    return None if row is None else ApiKey(**row._mapping)


def list_api_keys(tx: Tx, team_id: uuid.UUID) -> list[ApiKey]:
    rows = tx.conn.execute(
        sa.select(*KEY_COLUMNS)
        .where(api_keys.c.team_id == team_id)
        .order_by(api_keys.c.created_at, api_keys.c.id)
    ).all()
    return [ApiKey(**row._mapping) for row in rows]


def revoke_api_key(tx: Tx, team_id: uuid.UUID, key_id: uuid.UUID) -> bool:
    """Revoke a key of the team (again: no change); False when the team has no such key."""
    row = tx.conn.execute(
        sa.update(api_keys)
        .where(api_keys.c.team_id == team_id, api_keys.c.id == key_id)
        .values(revoked_at=sa.func.coalesce(api_keys.c.revoked_at, at(tx.now)))
        .returning(api_keys.c.id)
    ).first()
    return row is not None


def touch_api_key(tx: Tx, key_id: uuid.UUID, min_interval_s: float) -> None:
    """Record use, unless it was recorded less than ``min_interval_s`` ago."""
    now = at(tx.now)
    tx.conn.execute(
        sa.update(api_keys)
        .where(
            api_keys.c.id == key_id,
            sa.or_(
                api_keys.c.last_used_at.is_(None),
                plus_seconds(api_keys.c.last_used_at, min_interval_s) <= now,
            ),
        )
        .values(last_used_at=now)
    )
