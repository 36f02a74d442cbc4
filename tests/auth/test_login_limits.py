"""Login rate limits per account and per client address, kept in the store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from conveyor.auth.service import AuthService
from conveyor.errors import RateLimited, Unauthenticated
from conveyor.settings import AuthSettings
from conveyor.store import Store
from conveyor.store.records import User
from tests.auth.conftest import PASSWORD


@pytest.fixture
def limited(store: Store) -> AuthService:
    settings = AuthSettings(
        login_max_failures_per_account=3, login_max_failures_per_address=5, login_window_s=600
    )
    return AuthService(store, settings)


async def test_an_account_is_locked_after_its_failures_even_for_the_right_password(
    limited: AuthService, owner: User
) -> None:
    now = datetime.now(UTC)
    for _ in range(3):
        with pytest.raises(Unauthenticated):
            await limited.login("owner@example.com", "wrong", client="192.0.2.1", now=now)
    with pytest.raises(RateLimited) as caught:
        await limited.login("OWNER@example.com", PASSWORD, client="192.0.2.2", now=now)
    assert 595 <= caught.value.details["retry_after"] <= 600
    assert "try again in" in caught.value.message
    later = now + timedelta(seconds=601)
    await limited.login("owner@example.com", PASSWORD, client="192.0.2.2", now=later)


async def test_an_address_is_limited_across_accounts(limited: AuthService, owner: User) -> None:
    now = datetime.now(UTC)
    for n in range(5):  # five accounts, one failure each: no account is near its limit
        with pytest.raises(Unauthenticated):
            await limited.login(f"guess{n}@example.com", "x", client="203.0.113.5", now=now)
    with pytest.raises(RateLimited):
        await limited.login("owner@example.com", PASSWORD, client="203.0.113.5", now=now)
    await limited.login("owner@example.com", PASSWORD, client="203.0.113.6", now=now)


async def test_a_success_clears_the_accounts_failures(limited: AuthService, owner: User) -> None:
    now = datetime.now(UTC)
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            await limited.login("owner@example.com", "wrong", now=now)
    await limited.login("owner@example.com", PASSWORD, now=now)
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            await limited.login("owner@example.com", "wrong", now=now)
    await limited.login("owner@example.com", PASSWORD, now=now)  # 2 + 2 failures: not locked
