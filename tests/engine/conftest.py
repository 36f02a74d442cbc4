"""An engine per test on each dialect, its loops quiet unless a test wakes them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from conveyor.engine import Engine, EngineConfig
from conveyor.store import Store

# Intervals of an hour: a test that passes did not pass by a timer firing; it
# wakes the loop it needs (``service.wake()``) or relies on the bus.
QUIET = EngineConfig(
    scheduler_interval_s=3600,
    reaper_interval_s=3600,
    poll_interval_s=3600,
    retention_interval_s=3600,
)


@pytest.fixture
async def engine(store: Store) -> AsyncIterator[Engine]:
    e = Engine(store, QUIET)
    await e.start()
    yield e
    await e.stop()
