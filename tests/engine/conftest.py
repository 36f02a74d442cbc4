"""An engine per test on each dialect, its loops quiet unless a test wakes them."""

from __future__ import annotations

import asyncio
import uuid
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
    if e.listener is not None:
        # Its first connect wakes every waiter (a gap may have lost notifications):
        # let that happen before a test parks one, so the wake-up a test sees is its own.
        async with asyncio.timeout(30):
            await e.listener.connected.wait()
    yield e
    await e.stop()


@pytest.fixture
async def replicas(pg_url: str) -> AsyncIterator[tuple[Engine, Store, uuid.UUID]]:
    """PostgreSQL: an engine with the hour-long poll of QUIET (replica A), and a second
    store on the same database (replica B) to write through."""
    engine = await Engine.open(pg_url, QUIET)
    other = await Store.open(pg_url)
    await engine.start()
    try:
        team = await other.team_create("acme", "Acme")
        yield engine, other, team
    finally:
        await engine.close()
        await other.close()
