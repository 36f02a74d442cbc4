"""An auth service over a real store (both dialects), and users in each built-in role."""

from __future__ import annotations

import uuid

import pytest

from conveyor.auth.service import AuthService
from conveyor.settings import AuthSettings
from conveyor.store import Store
from conveyor.store.records import User

PASSWORD = "correct horse battery"


@pytest.fixture
def auth(store: Store) -> AuthService:
    return AuthService(store, AuthSettings())


@pytest.fixture
async def owner(auth: AuthService, team: uuid.UUID) -> User:
    return await auth.create_user("owner@example.com", PASSWORD, team_id=team, role="owner")


async def make_user(
    auth: AuthService, team: uuid.UUID, role: str, *, is_superuser: bool = False
) -> User:
    email = f"{role}-{uuid.uuid4().hex[:6]}@example.com"
    return await auth.create_user(
        email, PASSWORD, team_id=team, role=role, is_superuser=is_superuser
    )
