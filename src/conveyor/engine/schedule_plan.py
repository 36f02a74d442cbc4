"""Which due ticks of a schedule fire and which are recorded as missed (misfire policy).

A pure function of the schedule's next fire time and the clock, so every replica
computes the same plan and tests move time by passing ``now``. A tick up to
:data:`LATE_GRACE_S` late is on time (a scheduler pass comes every half second, a
busy replica may be a few seconds late): it always fires. Older ticks were missed
(no server ran, or the schedule could not fire): ``catch_up`` fires those within
the catch-up window, ``latest`` only the most recent of them within the window,
``skip`` none; the others are recorded as skipped with reason "missed".
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from conveyor.engine.cron import Cron

MisfirePolicy = Literal["catch_up", "latest", "skip"]
LATE_GRACE_S = 10.0
"""A tick this late when its pass runs is fired as on time, whatever the policy."""
TICKS_PER_PASS = 100
"""Ticks one pass handles per schedule; a pass that hit it is followed by another."""
RUN_OF_MISSED = 100
"""More missed ticks in a row than this are recorded as one skipped tick (the first),
its message saying until when: a week of a per-second schedule is one row, not 604,800."""
MISSED = "missed: no server could fire it on time"


@dataclass(frozen=True, slots=True)
class Plan:
    fire: list[datetime] = field(default_factory=list)
    missed: list[tuple[datetime, str]] = field(default_factory=list)  # (fire time, message)
    next_fire_at: datetime | None = None  # None: the expression fires no more
    more: bool = False  # ticks are still due after this plan: plan again


def plan_ticks(
    cron: Cron,
    next_fire_at: datetime,
    now: datetime,
    policy: MisfirePolicy,
    window_s: int,
    *,
    grace_s: float = LATE_GRACE_S,
    limit: int = TICKS_PER_PASS,
) -> Plan:
    """The plan for the ticks due at ``now``, starting with ``next_fire_at`` (due if <= now)."""
    if next_fire_at > now:
        return Plan(next_fire_at=next_fire_at)
    on_time = now - timedelta(seconds=grace_s)
    window_start = now - timedelta(seconds=window_s)
    # Ticks before ``keep_from`` are missed; ``latest`` keeps the most recent of them too.
    keep_from = min(on_time, window_start) if policy == "catch_up" else on_time
    latest = None
    if policy == "latest" and next_fire_at < on_time:
        latest = cron.last_before(on_time)
        if latest is None or latest < window_start or latest < next_fire_at:
            latest = None
    missed: list[tuple[datetime, str]] = []
    first: datetime | None = next_fire_at
    if next_fire_at < (latest or keep_from):
        run = _collapse_run(cron, next_fire_at, latest or keep_from)
        if run is not None:
            missed.append(run[0])
            first = run[1]
    due: list[datetime] = []
    after: datetime | None = None
    if first is not None:
        for tick in _ticks_from(cron, first):
            if tick > now or len(due) >= limit:
                after = tick
                break
            due.append(tick)
    more = after is not None and after <= now
    fire = [t for t in due if t >= keep_from]
    if latest in due and not fire and not more:
        fire = [latest]  # nothing on time: the most recent missed tick, within the window
    fired = set(fire)
    missed += [(t, MISSED) for t in due if t not in fired]
    return Plan(fire, missed, after, more)


def _ticks_from(cron: Cron, first: datetime) -> Iterator[datetime]:
    """``first``, then the expression's fire times after it."""
    yield first
    yield from cron.times_after(first)


def _collapse_run(
    cron: Cron, start: datetime, before: datetime
) -> tuple[tuple[datetime, str], datetime | None] | None:
    """When more than :data:`RUN_OF_MISSED` ticks from ``start`` fall before ``before``:
    one missed row for all of them, and the first tick at or after ``before``."""
    count = 1
    for tick in cron.times_after(start):
        if tick >= before:
            return None
        count += 1
        if count > RUN_OF_MISSED:
            break
    else:
        return None
    resume = cron.next_from(before)
    until = before.isoformat()
    message = f"missed: this tick and every one after it before {until} (over {RUN_OF_MISSED})"
    return (start, message), resume
