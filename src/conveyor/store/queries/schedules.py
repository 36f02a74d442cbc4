"""Schedules and their ticks: CRUD, the due scan, and the firing transaction.

Exactly once on any number of replicas, without a leader or a lock held between
transactions: :func:`fire` locks the schedule's row only if its ``next_fire_at``
is still the one the caller planned from (``FOR UPDATE SKIP LOCKED`` on PostgreSQL,
the single writer on SQLite), then inserts each tick row (primary key: schedule,
fire time) in the same transaction as its job and moves ``next_fire_at`` on. A
replica that planned from a stale read finds no row to lock and writes nothing; a
tick already recorded fails the insert and the whole transaction rolls back.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from conveyor.errors import Conflict, NotFound
from conveyor.states import CANCEL_NOW_FROM, CANCEL_REQUEST_FROM, WAITING, JobState
from conveyor.store.queries import idempotency
from conveyor.store.queries.accounts import dialect_insert
from conveyor.store.queries.control import cancel_where
from conveyor.store.queries.submit import submit_jobs
from conveyor.store.schedule_records import (
    SCHEDULE_FIELDS,
    Fired,
    Schedule,
    SchedulePage,
    Tick,
    TickIn,
    TickPage,
)
from conveyor.store.schema import jobs, schedule_ticks, schedules
from conveyor.store.transaction import Tx
from conveyor.store.types import at, db_clock

_SCHEDULE_COLUMNS = [schedules.c[name] for name in Schedule.__slots__ if name != "last_tick"]
_TICK_COLUMNS = [
    *(schedule_ticks.c[name] for name in Tick.__slots__ if name != "job_state"),
    jobs.c.state.label("job_state"),
]
_TICKS_WITH_JOBS = schedule_ticks.outerjoin(
    jobs, sa.and_(jobs.c.id == schedule_ticks.c.job_id, jobs.c.team_id == schedule_ticks.c.team_id)
)
_LIVE = sorted(str(state) for state in WAITING | {JobState.RUNNING})
_CANCELLABLE = sorted(str(state) for state in CANCEL_NOW_FROM | CANCEL_REQUEST_FROM)


def clock(tx: Tx) -> datetime:
    """The operation's time: the caller's ``now``, else the database clock."""
    if tx.now is not None:
        return tx.now
    if tx.dialect == "sqlite":
        return datetime.now(UTC)
    value: datetime = tx.conn.execute(sa.select(db_clock())).scalar_one()
    return value.astimezone(UTC)


def _schedule(row: sa.Row[Any], last_tick: Tick | None = None) -> Schedule:
    m = row._mapping
    return Schedule(**{name: m[name] for name in Schedule.__slots__ if name != "last_tick"},
                    last_tick=last_tick)  # fmt: skip


def _tick(row: sa.Row[Any]) -> Tick:
    return Tick(**row._mapping)


# CRUD


def create_schedule(
    tx: Tx, team_id: uuid.UUID, values: dict[str, Any], next_fire_at: datetime | None
) -> Schedule:
    """A new schedule; :class:`Conflict` when the team has one of that name."""
    stamp = clock(tx)
    row = tx.conn.execute(
        dialect_insert(tx, schedules)
        .values(
            id=uuid.uuid4(),
            team_id=team_id,
            created_at=stamp,
            updated_at=stamp,
            next_fire_at=next_fire_at,
            **values,
        )
        .on_conflict_do_nothing(index_elements=[schedules.c.team_id, schedules.c.name])
        .returning(*_SCHEDULE_COLUMNS)
    ).first()
    if row is None:
        raise _name_taken(values["name"])
    return _schedule(row)


def _name_taken(name: str) -> Conflict:
    return Conflict(f"this team already has a schedule named {name!r}", name=name)


def get_schedule(tx: Tx, team_id: uuid.UUID, schedule_id: uuid.UUID) -> Schedule:
    row = tx.conn.execute(
        sa.select(*_SCHEDULE_COLUMNS).where(
            schedules.c.team_id == team_id, schedules.c.id == schedule_id
        )
    ).first()
    if row is None:
        raise NotFound(f"schedule {schedule_id} not found", schedule_id=str(schedule_id))
    return _schedule(row, _last_ticks(tx, team_id, [schedule_id]).get(schedule_id))


def list_schedules(
    tx: Tx, team_id: uuid.UUID, *, q: str | None, limit: int, cursor: str | None
) -> SchedulePage:
    """The team's schedules by name; ``q``: text in the name, action or description."""
    query = sa.select(*_SCHEDULE_COLUMNS).where(schedules.c.team_id == team_id)
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            sa.or_(*(schedules.c[name].ilike(pattern, escape="\\")
                     for name in ("name", "action", "description")))
        )  # fmt: skip
    if cursor is not None:
        query = query.where(schedules.c.name > cursor)
    rows = tx.conn.execute(query.order_by(schedules.c.name).limit(limit + 1)).all()
    page = rows[:limit]
    last = _last_ticks(tx, team_id, [row.id for row in page])
    items = [_schedule(row, last.get(row.id)) for row in page]
    return SchedulePage(items, page[-1].name if len(rows) > limit else None)


def _last_ticks(tx: Tx, team_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Tick]:
    """The newest tick of each schedule of ``ids`` (one query)."""
    if not ids:
        return {}
    newest = (
        sa.select(schedule_ticks.c.schedule_id, sa.func.max(schedule_ticks.c.fire_at).label("at"))
        .where(schedule_ticks.c.team_id == team_id, schedule_ticks.c.schedule_id.in_(ids))
        .group_by(schedule_ticks.c.schedule_id)
        .subquery()
    )
    rows = tx.conn.execute(
        sa.select(*_TICK_COLUMNS).select_from(_TICKS_WITH_JOBS.join(
            newest, sa.and_(newest.c.schedule_id == schedule_ticks.c.schedule_id,
                            newest.c.at == schedule_ticks.c.fire_at)))
    ).all()  # fmt: skip
    return {row.schedule_id: _tick(row) for row in rows}


_KEEP = object()


def update_schedule(
    tx: Tx,
    team_id: uuid.UUID,
    schedule_id: uuid.UUID,
    values: dict[str, Any],
    next_fire_at: datetime | object | None = _KEEP,
) -> Schedule:
    """Change the given fields (and ``next_fire_at`` when given); :class:`NotFound`, or
    :class:`Conflict` when the new name is taken."""
    unknown = set(values) - set(SCHEDULE_FIELDS)
    if unknown:
        raise ValueError(f"not schedule fields: {sorted(unknown)}")
    changes: dict[str, Any] = {**values, "updated_at": clock(tx)}
    if next_fire_at is not _KEEP:
        changes["next_fire_at"] = next_fire_at
    name = values.get("name")
    if name is not None:
        taken = tx.conn.execute(
            sa.select(schedules.c.id).where(
                schedules.c.team_id == team_id, schedules.c.name == name,
                schedules.c.id != schedule_id,
            )
        ).first()  # fmt: skip
        if taken is not None:
            raise _name_taken(name)
    row = tx.conn.execute(
        schedules.update()
        .where(schedules.c.team_id == team_id, schedules.c.id == schedule_id)
        .values(**changes)
        .returning(*_SCHEDULE_COLUMNS)
    ).first()
    if row is None:
        raise NotFound(f"schedule {schedule_id} not found", schedule_id=str(schedule_id))
    return _schedule(row, _last_ticks(tx, team_id, [schedule_id]).get(schedule_id))


def delete_schedule(tx: Tx, team_id: uuid.UUID, schedule_id: uuid.UUID) -> None:
    """Delete a schedule and its ticks; its jobs stay (they keep ``schedule_id``)."""
    found = tx.conn.execute(
        sa.select(schedules.c.id)
        .where(schedules.c.team_id == team_id, schedules.c.id == schedule_id)
        .with_for_update()
    ).first()
    if found is None:
        raise NotFound(f"schedule {schedule_id} not found", schedule_id=str(schedule_id))
    tx.conn.execute(schedule_ticks.delete().where(schedule_ticks.c.schedule_id == schedule_id))
    tx.conn.execute(schedules.delete().where(schedules.c.id == schedule_id))


# ticks


def list_ticks(
    tx: Tx, team_id: uuid.UUID, schedule_id: uuid.UUID, *, limit: int, before: datetime | None
) -> TickPage:
    """A schedule's ticks newest first, each with its job's state now."""
    get_schedule(tx, team_id, schedule_id)  # NotFound for another team's
    query = (
        sa.select(*_TICK_COLUMNS)
        .select_from(_TICKS_WITH_JOBS)
        .where(schedule_ticks.c.team_id == team_id, schedule_ticks.c.schedule_id == schedule_id)
    )
    if before is not None:
        query = query.where(schedule_ticks.c.fire_at < before)
    rows = tx.conn.execute(query.order_by(schedule_ticks.c.fire_at.desc()).limit(limit + 1)).all()
    items = [_tick(row) for row in rows[:limit]]
    return TickPage(items, items[-1].fire_at if len(rows) > limit else None)


def due_schedules(tx: Tx, limit: int) -> list[Schedule]:
    """Every team's unpaused schedules whose next tick is due at the operation's time."""
    rows = tx.conn.execute(
        sa.select(*_SCHEDULE_COLUMNS)
        .where(
            schedules.c.next_fire_at <= at(tx.now),
            schedules.c.paused == sa.false(),
        )
        .order_by(schedules.c.next_fire_at)
        .limit(limit)
    ).all()
    return [_schedule(row) for row in rows]


def fire(
    tx: Tx,
    team_id: uuid.UUID,
    schedule_id: uuid.UUID,
    ticks: list[TickIn],
    *,
    planned_from: datetime | None,
    next_fire_at: datetime | None,
    overlap: str = "allow",
    window: timedelta = idempotency.DEFAULT_WINDOW,
) -> Fired | None:
    """Record ``ticks`` and insert the job of each submitted one, in this transaction.

    With ``planned_from`` (a cron pass) nothing is written unless the schedule is
    unpaused and its ``next_fire_at`` is still that, and ``next_fire_at`` moves to
    the given value; None (a manual run) writes whatever the schedule's state. A live
    run of the schedule (pending, scheduled, queued or running) makes a submitted cron
    tick skipped (``overlap`` "skip") or is cancelled first ("cancel_previous").
    """
    lock = sa.select(schedules.c.id).where(
        schedules.c.team_id == team_id, schedules.c.id == schedule_id
    )
    if planned_from is not None:  # a pass: skip a row another replica is firing
        lock = lock.where(
            schedules.c.next_fire_at == planned_from, schedules.c.paused == sa.false()
        ).with_for_update(skip_locked=True)
    else:  # a manual run: wait for a firing in progress
        lock = lock.with_for_update()
    if tx.conn.execute(lock).first() is None:
        if planned_from is None:
            raise NotFound(f"schedule {schedule_id} not found", schedule_id=str(schedule_id))
        return None
    ticks, cancelled = _apply_overlap(tx, team_id, schedule_id, ticks, overlap)
    firing = [tick for tick in ticks if tick.outcome == "submitted" and tick.spec is not None]
    specs = [tick.spec for tick in firing if tick.spec is not None]
    submitted = submit_jobs(tx, team_id, specs, None, window) if specs else []
    job_of = {id(tick): s.id for tick, s in zip(firing, submitted, strict=True)}
    for tick, job in zip(firing, submitted, strict=True):
        tx.conn.execute(
            jobs.update()
            .where(jobs.c.team_id == team_id, jobs.c.id == job.id)
            .values(schedule_id=schedule_id, schedule_fire_at=tick.fire_at)
        )
    stamp = clock(tx)
    rows: list[dict[str, Any]] = [
        {"schedule_id": schedule_id, "fire_at": tick.fire_at, "team_id": team_id,
         "kind": tick.kind, "outcome": tick.outcome, "skip_reason": tick.skip_reason,
         "message": tick.message, "job_id": job_of.get(id(tick)), "created_at": stamp}
        for tick in ticks
    ]  # fmt: skip
    if rows:
        tx.conn.execute(schedule_ticks.insert(), rows)
    if planned_from is not None:
        tx.conn.execute(
            schedules.update()
            .where(schedules.c.id == schedule_id)
            .values(next_fire_at=next_fire_at)
        )
    recorded = [Tick(**{k: v for k, v in row.items() if k != "team_id"}) for row in rows]
    return Fired(recorded, cancelled)


def _apply_overlap(
    tx: Tx, team_id: uuid.UUID, schedule_id: uuid.UUID, ticks: list[TickIn], overlap: str
) -> tuple[list[TickIn], list[uuid.UUID]]:
    cron_firing = any(t.outcome == "submitted" and t.kind == "cron" for t in ticks)
    if overlap == "allow" or not cron_firing:
        return ticks, []
    live = tx.conn.execute(
        sa.select(jobs.c.id)
        .where(jobs.c.schedule_id == schedule_id, jobs.c.team_id == team_id,
               jobs.c.state.in_(_LIVE))
        .order_by(jobs.c.seq)
    ).scalars().all()  # fmt: skip
    if not live:
        return ticks, []
    if overlap == "cancel_previous":
        cancellable = jobs.c.state.in_(_CANCELLABLE)
        cancel_where(tx, team_id, jobs.c.id.in_(list(live)), cancellable)
        return ticks, list(live)
    message = f"run {live[-1]} of this schedule was still {_state(tx, live[-1])}"
    return [
        TickIn(t.fire_at, t.kind, "skipped", "overlap", message)
        if t.outcome == "submitted" and t.kind == "cron" else t
        for t in ticks
    ], []  # fmt: skip


def _state(tx: Tx, job_id: uuid.UUID) -> str:
    value = tx.conn.execute(sa.select(jobs.c.state).where(jobs.c.id == job_id)).scalar_one()
    return str(value)
