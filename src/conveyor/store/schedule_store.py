"""The store's schedule methods: a mixin of :class:`conveyor.store.Store`.

What a tick does is the engine's decision (``engine/schedules.py``); here it is
written, with its job, in one transaction (:func:`queries.schedules.fire`).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from conveyor.errors import Conflict
from conveyor.store.database import Database
from conveyor.store.queries import reads, schedules
from conveyor.store.queries.audit import AuditEntry, audited
from conveyor.store.records import Submitter
from conveyor.store.schedule_records import Fired, Schedule, SchedulePage, TickIn, TickPage


def _about(entry: AuditEntry, schedule: Schedule) -> AuditEntry:
    return entry.about("schedule", schedule.id)


class ScheduleStore:
    """Schedule methods over ``self.db``."""

    db: Database
    idempotency_window: timedelta

    async def clock(self) -> datetime:
        """The database's time now (this process's on SQLite): what schedules fire by."""
        return await self.db.read(schedules.clock, None)

    async def schedule_create(
        self,
        team_id: uuid.UUID,
        values: dict[str, Any],
        next_fire_at: datetime | None,
        *,
        now: datetime | None = None,
        audit: AuditEntry | None = None,
    ) -> Schedule:
        op = audited(schedules.create_schedule, audit, _about)
        return await self.db.write(op, now, team_id, values, next_fire_at)

    async def schedule_creators(
        self, team_id: uuid.UUID, page: list[Schedule]
    ) -> dict[uuid.UUID, Submitter]:
        """Who created each schedule of ``page`` (by schedule id)."""
        return await self.db.read(reads.submitters, None, team_id, page)

    async def schedule_get(self, team_id: uuid.UUID, schedule_id: uuid.UUID) -> Schedule:
        return await self.db.read(schedules.get_schedule, None, team_id, schedule_id)

    async def schedule_list(
        self, team_id: uuid.UUID, *, q: str | None = None, limit: int = 50,
        cursor: str | None = None,
    ) -> SchedulePage:  # fmt: skip
        return await self.db.read(
            schedules.list_schedules, None, team_id, q=q, limit=limit, cursor=cursor
        )

    async def schedule_update(
        self,
        team_id: uuid.UUID,
        schedule_id: uuid.UUID,
        values: dict[str, Any],
        *,
        next_fire_at: datetime | None = None,
        move_next: bool = False,
        now: datetime | None = None,
        audit: AuditEntry | None = None,
    ) -> Schedule:
        """Change fields; with ``move_next`` set ``next_fire_at`` too (a new cron, time
        zone, or a resume: the ticks of the past are not owed)."""
        op = audited(schedules.update_schedule, audit, _about)
        args: tuple[Any, ...] = (next_fire_at,) if move_next else ()
        try:
            return await self.db.write(op, now, team_id, schedule_id, values, *args)
        except sa.exc.IntegrityError:  # a concurrent rename took the name first
            raise Conflict(f"this team already has a schedule named {values.get('name')!r}",
                           name=values.get("name")) from None  # fmt: skip

    async def schedule_delete(
        self, team_id: uuid.UUID, schedule_id: uuid.UUID, *, audit: AuditEntry | None = None
    ) -> None:
        await self.db.write(audited(schedules.delete_schedule, audit), None, team_id, schedule_id)

    async def schedule_ticks(
        self, team_id: uuid.UUID, schedule_id: uuid.UUID, *, limit: int = 50,
        before: datetime | None = None,
    ) -> TickPage:  # fmt: skip
        return await self.db.read(
            schedules.list_ticks, None, team_id, schedule_id, limit=limit, before=before
        )

    async def schedule_due(
        self, *, limit: int = 100, now: datetime | None = None
    ) -> list[Schedule]:
        return await self.db.read(schedules.due_schedules, now, limit)

    async def schedule_fire(
        self,
        team_id: uuid.UUID,
        schedule_id: uuid.UUID,
        ticks: list[TickIn],
        *,
        planned_from: datetime | None,
        next_fire_at: datetime | None = None,
        overlap: str = "allow",
        now: datetime | None = None,
        audit: AuditEntry | None = None,
    ) -> Fired | None:
        """Record ``ticks`` with their jobs in one transaction (see :func:`schedules.fire`).

        None when another replica fired from the same state first (or the schedule
        was paused or changed meanwhile): nothing was written.
        """
        op = audited(schedules.fire, audit)
        try:
            return await self.db.write(
                op, now, team_id, schedule_id, ticks, planned_from=planned_from,
                next_fire_at=next_fire_at, overlap=overlap, window=self.idempotency_window,
            )  # fmt: skip
        except sa.exc.IntegrityError:
            if planned_from is None:
                raise Conflict("a tick of this schedule was recorded at the same instant: "
                               "try again") from None  # fmt: skip
            return None  # the tick row exists: it fired already
