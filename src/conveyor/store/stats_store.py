"""The store's stats methods: the per-minute rollups of jobs (queries/rollups.py).

A mixin of :class:`conveyor.store.Store`, kept apart so each file holds one concern.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from conveyor.errors import InvalidInput
from conveyor.store.database import Database
from conveyor.store.queries import rollups
from conveyor.store.queries.rollups import Rollup

MAX_WINDOW_MINUTES = 24 * 60


class StatsStore:
    """Stats methods over ``self.db``."""

    db: Database

    async def stats_rollup(
        self, team_id: uuid.UUID, minutes: int, *, now: datetime | None = None
    ) -> Rollup:
        """The team's rollups of the last ``minutes`` minutes (the current one included),
        with its latest dead jobs; reads no more than those rows."""
        if not 1 <= minutes <= MAX_WINDOW_MINUTES:
            raise InvalidInput(f"the window must be 1 to {MAX_WINDOW_MINUTES} minutes")
        return await self.db.read(rollups.read_rollup, now, team_id, minutes)

    async def stats_fold(self, *, now: datetime | None = None) -> int:
        """Fold the time buckets of minutes older than the previous hour into hour rows
        (retention); returns how many minute rows it folded."""
        return await self.db.write(rollups.fold_rollups, now)

    async def stats_prune(
        self, keep: timedelta = rollups.KEEP, *, now: datetime | None = None
    ) -> int:
        """Delete rollup rows older than ``keep`` (retention); returns how many."""
        if keep < timedelta(minutes=MAX_WINDOW_MINUTES):
            raise InvalidInput("rollups must be kept at least as long as the day window")
        return await self.db.write(rollups.prune_rollups, now, keep)
