"""Failed-login counters in the store: windows, limits, clearing (both dialects)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from conveyor.store import Store
from conveyor.store.queries.throttle import Limit

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
ACCOUNT = Limit("account:a@example.com", failures=3, window_s=600)
ADDRESS = Limit("address:192.0.2.1", failures=5, window_s=600)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


async def test_a_key_is_refused_until_its_window_ends(store: Store) -> None:
    assert await store.login_retry_after([ACCOUNT, ADDRESS], now=T0) is None
    for second in (0, 10, 20):
        await store.login_failed([ACCOUNT, ADDRESS], now=at(second))
    assert await store.login_retry_after([ADDRESS], now=at(21)) is None  # 3 of 5
    assert await store.login_retry_after([ACCOUNT, ADDRESS], now=at(21)) == pytest.approx(579)
    assert await store.login_retry_after([ACCOUNT], now=at(599)) == pytest.approx(1)
    assert await store.login_retry_after([ACCOUNT], now=at(600)) is None
    # A failure after the window opens a new one, counted from 1.
    await store.login_failed([ACCOUNT], now=at(700))
    await store.login_failed([ACCOUNT], now=at(710))
    assert await store.login_retry_after([ACCOUNT], now=at(711)) is None
    await store.login_failed([ACCOUNT], now=at(720))
    assert await store.login_retry_after([ACCOUNT], now=at(721)) == pytest.approx(579)


async def test_the_longest_wait_wins_and_a_success_clears_the_account(store: Store) -> None:
    short = Limit("address:198.51.100.2", failures=1, window_s=60)
    for _ in range(3):
        await store.login_failed([ACCOUNT, short], now=T0)
    assert await store.login_retry_after([ACCOUNT, short], now=at(1)) == pytest.approx(599)
    await store.login_succeeded(ACCOUNT.key)
    assert await store.login_retry_after([ACCOUNT, short], now=at(1)) == pytest.approx(59)


async def test_concurrent_failures_are_all_counted(store: Store) -> None:
    many = Limit("account:b@example.com", failures=20, window_s=600)
    await asyncio.gather(*(store.login_failed([many], now=T0) for _ in range(20)))
    assert await store.login_retry_after([many], now=at(1)) is not None


async def test_old_counters_are_pruned(store: Store) -> None:
    await store.login_failed([ACCOUNT], now=T0)
    await store.login_failed([ADDRESS], now=at(3600))
    assert await store.login_throttle_prune(7200, now=at(7201)) == 1
    assert await store.login_throttle_prune(7200, now=at(7201)) == 0
    assert await store.login_retry_after([ADDRESS], now=at(3601)) is None  # 1 of 5, still there
    for _ in range(4):
        await store.login_failed([ADDRESS], now=at(3601))
    assert await store.login_retry_after([ADDRESS], now=at(3602)) is not None
