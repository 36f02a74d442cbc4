"""Write changes to the event outbox, in the transaction that made them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import orjson

from conveyor.states import JobState
from conveyor.store.queries._encode import json_text
from conveyor.store.transaction import Tx
from conveyor.store.types import to_micros

# (team_id, object_id, data); ids as UUIDs or in the driver's form (text on SQLite).
Change = tuple[uuid.UUID | str, uuid.UUID | str, dict[str, Any]]


def emit_job_changes(tx: Tx, changes: Iterable[Change]) -> None:
    """Record ``(team_id, job_id, data)`` changes; a fixed number of statements per batch.

    ``data`` carries at least the new ``state``; a job that became queued marks
    the transaction as making work available, which wakes claimers.
    """
    changes = list(changes)
    insert_events(tx, "job", changes)
    if any(data.get("state") == JobState.QUEUED for _, _, data in changes):
        tx.work_available = True


class Announced(Protocol):
    """A row of a statement that wrote its own events (rows.py names them all)."""

    @property
    def notified(self) -> int | None: ...

    @property
    def newest_event(self) -> int | None: ...


def note_events(tx: Tx, rows: Sequence[Announced], *, work_available: bool = False) -> None:
    """Note the events that a statement wrote itself (PostgreSQL's outbox CTEs).

    Each of ``rows`` ends with ``(notified, newest seq)``: whether the statement sent
    the transaction's NOTIFY (see :func:`notify_in_statement`) and the newest seq it
    wrote. ``work_available`` says a job became queued, which wakes claimers; it is
    what the statement's NOTIFY said too.
    """
    if rows:
        notified, newest = rows[0].notified, rows[0].newest_event
        if newest is not None:  # always, on PostgreSQL
            tx.last_event_seq = max(tx.last_event_seq, newest)
            if notified:
                tx.notified = (newest, work_available)
    if work_available:
        tx.work_available = True


def notify_in_statement(tx: Tx) -> dict[str, bool]:
    """The ``:notify`` parameter of PostgreSQL's submit_jobs, claim_apply and results_apply.

    True unless the operation said it changes more after them (``Tx.notify_in_statement``,
    as a submit that claims its new jobs at once does: its NOTIFY must not announce
    work that the same transaction took). Nothing on SQLite, which has no NOTIFY.
    """
    return {"notify": tx.notify_in_statement} if tx.dialect == "postgresql" else {}


def insert_events(tx: Tx, kind: str, changes: Iterable[Change]) -> None:
    """Write ``(team_id, object_id, data)`` events of one kind and note the newest seq.

    On SQLite the rows go in with one executemany of plain values (cheaper than
    unpacking JSON) and the newest seq is read back; on PostgreSQL one statement
    takes them all. (PostgreSQL's submit, claim and results statements write their
    job events themselves: see note_events.)
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
