"""Write changes to the event outbox, in the transaction that made them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from conveyor.states import JobState
from conveyor.store.database import Tx
from conveyor.store.queries._encode import items


def emit_job_changes(
    tx: Tx, changes: Iterable[tuple[uuid.UUID, uuid.UUID, dict[str, Any]]]
) -> None:
    """Record ``(team_id, job_id, data)`` changes; one statement per batch.

    ``data`` carries at least the new ``state``; a job that became queued marks
    the transaction as making work available, which wakes claimers.
    """
    rows: list[dict[str, Any]] = [
        {"team_id": team_id, "kind": "job", "object_id": job_id, "data": data}
        for team_id, job_id, data in changes
    ]
    if not rows:
        return
    seqs = tx.rows("events_insert", {"items": items(tx.dialect, rows), "now": tx.now})
    tx.last_event_seq = max(tx.last_event_seq, max(s for (s,) in seqs))
    if any(row["data"].get("state") == JobState.QUEUED for row in rows):
        tx.work_available = True
