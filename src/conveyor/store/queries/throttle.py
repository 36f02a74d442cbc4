"""Failed-login counters, one per account and per client address, in the store.

Kept in the database so every replica counts the same failures. A counter runs
in fixed windows: the first failure opens a window of ``window_s``; a key with
``limit`` failures in its window is refused until the window ends. The
read-modify-write of a counter holds its row lock (``FOR UPDATE`` on
PostgreSQL; SQLite has one writer), so concurrent failures on two replicas
are both counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from conveyor.store.schema import login_throttle
from conveyor.store.transaction import Tx
from conveyor.store.types import at


@dataclass(frozen=True, slots=True)
class Limit:
    """At most ``failures`` failed logins per ``window_s`` for the key ``key``."""

    key: str
    failures: int
    window_s: float


def _now(tx: Tx) -> datetime:
    if tx.now is not None:
        return tx.now
    value = tx.conn.execute(sa.select(at(None))).scalar()
    return value if isinstance(value, datetime) else datetime.now(UTC)


def _insert(tx: Tx) -> Any:
    return (postgresql.insert if tx.dialect == "postgresql" else sqlite.insert)(login_throttle)


def retry_after(tx: Tx, limits: list[Limit]) -> float | None:
    """Seconds until the first of ``limits`` that is reached opens again; None if none is."""
    if not limits:
        return None
    now = _now(tx)
    rows = tx.conn.execute(
        sa.select(
            login_throttle.c.key, login_throttle.c.failures, login_throttle.c.window_start
        ).where(login_throttle.c.key.in_([limit.key for limit in limits]))
    ).all()
    by_key = {row.key: row for row in rows}
    waits = []
    for limit in limits:
        row = by_key.get(limit.key)
        if row is None or row.failures < limit.failures:
            continue
        ends = row.window_start + timedelta(seconds=limit.window_s)
        if ends > now:
            waits.append((ends - now).total_seconds())
    return max(waits) if waits else None


def record_failure(tx: Tx, limits: list[Limit]) -> None:
    """Count one failed login against each key, opening a new window where one ended."""
    now = _now(tx)
    for limit in sorted(limits, key=lambda lim: lim.key):  # one lock order: no deadlocks
        tx.conn.execute(
            _insert(tx)
            .values(key=limit.key, failures=0, window_start=now)
            .on_conflict_do_nothing(index_elements=[login_throttle.c.key])
        )
        row = tx.conn.execute(
            sa.select(login_throttle.c.failures, login_throttle.c.window_start)
            .where(login_throttle.c.key == limit.key)
            .with_for_update()
        ).one()
        if row.window_start + timedelta(seconds=limit.window_s) <= now:
            values: dict[str, Any] = {"failures": 1, "window_start": now}
        else:
            values = {"failures": row.failures + 1}
        tx.conn.execute(
            sa.update(login_throttle).where(login_throttle.c.key == limit.key).values(**values)
        )


def prune(tx: Tx, older_than_s: float) -> int:
    """Forget counters whose window opened more than ``older_than_s`` ago (all ended)."""
    cutoff = _now(tx) - timedelta(seconds=older_than_s)
    result = tx.conn.execute(
        sa.delete(login_throttle).where(login_throttle.c.window_start < cutoff)
    )
    return int(result.rowcount)


def clear(tx: Tx, key: str) -> None:
    """Forget a key's failures (an account's, after a successful login)."""
    tx.conn.execute(sa.delete(login_throttle).where(login_throttle.c.key == key))
