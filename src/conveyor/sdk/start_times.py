"""When a submitted job may start: ``run_at`` (a time) or ``delay`` (from now), never both.

The SDK turns a delay into a ``run_at`` on the client's clock, so the request the
server sees is the same either way (and a resent submit keeps its first time).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from conveyor import bounds
from conveyor.errors import InvalidInput

Delay = timedelta | float | int
"""A delay: a ``timedelta``, or seconds."""


def start_time(run_at: datetime | None, delay: Delay | None,
               now: datetime | None = None) -> datetime | None:  # fmt: skip
    """The ``run_at`` to send: ``run_at`` as given, or now + ``delay``; None for "at once"."""
    if delay is None:
        return run_at
    if run_at is not None:
        raise InvalidInput("give run_at or delay, not both")
    return (now or datetime.now(UTC)) + timedelta(seconds=delay_seconds(delay))


def delay_seconds(delay: Delay) -> float:
    """``delay`` in seconds, refused unless it is 0 to ``bounds.DELAY_MAX_S``."""
    if isinstance(delay, bool) or not isinstance(delay, timedelta | float | int):
        raise InvalidInput(f"delay must be a timedelta or seconds, not {type(delay).__name__}")
    seconds = delay.total_seconds() if isinstance(delay, timedelta) else float(delay)
    if not math.isfinite(seconds) or not 0 <= seconds <= bounds.DELAY_MAX_S:
        days = bounds.DELAY_MAX_S // 86_400
        raise InvalidInput(
            f"delay must be 0 to {days} days (got {seconds:g} s); give a later start as run_at"
        )
    return seconds
