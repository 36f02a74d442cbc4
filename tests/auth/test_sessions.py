"""A second login of the same person (for an agent run on a member's login)."""

from __future__ import annotations

import uuid

import pytest

from conveyor.auth.service import AuthService
from conveyor.errors import Unauthenticated
from tests.auth.conftest import PASSWORD, make_user


async def test_a_second_login_rotates_apart_from_the_first(
    auth: AuthService, team: uuid.UUID
) -> None:
    ann = await make_user(auth, team, "operator")
    bob = await make_user(auth, team, "operator")
    first = await auth.login(ann.email, PASSWORD)
    second = await auth.new_session(ann, first.refresh_token)
    assert second.refresh_token != first.refresh_token
    assert (await auth.authenticate(second.access_token)).user_id == ann.id

    # Each login rotates on its own: using one never spends the other.
    renewed_second = await auth.refresh(second.refresh_token)
    renewed_first = await auth.refresh(first.refresh_token)
    await auth.refresh(renewed_second.refresh_token)
    await auth.refresh(renewed_first.refresh_token)

    with pytest.raises(Unauthenticated):  # spent
        await auth.new_session(ann, first.refresh_token)
    bobs = await auth.login(bob.email, PASSWORD)
    with pytest.raises(Unauthenticated):  # someone else's
        await auth.new_session(ann, bobs.refresh_token)
    with pytest.raises(Unauthenticated):
        await auth.new_session(ann, "cvr_unknown")
