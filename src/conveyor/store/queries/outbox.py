"""Write changes to the event outbox, in the transaction that made them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import orjson

from conveyor.states import JobState
from conveyor.store.database import Tx
from conveyor.store.queries._encode import json_text
from conveyor.store.types import to_micros


def emit_job_changes(
    tx: Tx, changes: Iterable[tuple[uuid.UUID, uuid.UUID, dict[str, Any]]]
) -> None:
    """Record ``(team_id, job_id, data)`` changes; a fixed number of statements per batch.

    ``data`` carries at least the new ``state``; a job that became queued marks
    the transaction as making work available, which wakes claimers.
    """
    changes = list(changes)
    insert_events(tx, "job", changes)
    if any(data.get("state") == JobState.QUEUED for _, _, data in changes):
        tx.work_available = True


def insert_events(
    tx: Tx, kind: str, changes: Iterable[tuple[uuid.UUID, uuid.UUID, dict[str, Any]]]
) -> None:
    """Write ``(team_id, object_id, data)`` events of one kind and note the newest seq.

    Ids may come as UUIDs or in the driver's form (text on SQLite). On SQLite the
    rows go in with one executemany of plain values (cheaper than unpacking JSON)
    and the newest seq is read back; on PostgreSQL one statement takes them all.
    """
    if tx.dialect == "sqlite":
        now = to_micros(tx.now) if tx.now is not None else None
        rows: list[tuple[Any, ...]] = [
            (str(team_id), kind, str(object_id), json_text(tx.dialect, data), now)
            for team_id, object_id, data in changes
        ]
        if not rows:
            return
        tx.rows_many("events_insert", rows)
        [(newest,)] = tx.rows("events_newest", {})
    else:
        rows = [(team_id, kind, object_id, data) for team_id, object_id, data in changes]
        if not rows:
            return
        seqs = tx.rows("events_insert", {"items": orjson.dumps(rows).decode(), "now": tx.now})
        newest = max(s for (s,) in seqs)
    tx.last_event_seq = max(tx.last_event_seq, newest)
