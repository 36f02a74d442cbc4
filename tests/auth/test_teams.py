"""Which team a request works in, and with which rights."""

from __future__ import annotations

import uuid

import pytest

from conveyor.auth.permissions import role_permissions
from conveyor.auth.service import AuthService
from conveyor.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from conveyor.store import Store
from tests.auth.conftest import PASSWORD, make_user


async def test_default_and_chosen_team(auth: AuthService, store: Store, team: uuid.UUID) -> None:
    zeta = await store.team_create("zeta", "Zeta")
    await store.team_create("omega", "Omega")
    user = await make_user(auth, team, "viewer")
    await store.member_add(zeta, user.id, "operator")
    token = (await auth.login(user.email, PASSWORD)).access_token

    default = await auth.authenticate(token)
    assert default.team_id == team and default.permissions == role_permissions("viewer")
    by_slug = await auth.authenticate(token, team="zeta")
    assert by_slug.team_id == zeta and by_slug.permissions == role_permissions("operator")
    assert (await auth.authenticate(token, team=str(zeta))).team_id == zeta
    for elsewhere in ["omega", "nonexistent", str(uuid.uuid4())]:  # existence is not revealed
        with pytest.raises(PermissionDenied):
            await auth.authenticate(token, team=elsewhere)


async def test_superuser_sees_every_team_as_owner(
    auth: AuthService, store: Store, team: uuid.UUID
) -> None:
    zeta = await store.team_create("zeta", "Zeta")
    root = await make_user(auth, team, "viewer", is_superuser=True)
    token = (await auth.login(root.email, PASSWORD)).access_token
    assert (await auth.authenticate(token)).permissions == role_permissions("owner")
    there = await auth.authenticate(token, team="zeta")
    assert there.team_id == zeta and there.permissions == role_permissions("owner")
    assert (await auth.authenticate(token, team=str(zeta))).team_id == zeta
    for missing in ["nonexistent", str(uuid.uuid4())]:
        with pytest.raises(NotFound):
            await auth.authenticate(token, team=missing)


async def test_user_without_a_team(auth: AuthService, store: Store) -> None:
    await store.user_create("loner@example.com", None)
    from conveyor.auth.passwords import hash_password

    user = await store.user_by_email("loner@example.com")
    assert user is not None
    await store.user_set_password(user.id, hash_password(PASSWORD))
    token = (await auth.login("loner@example.com", PASSWORD)).access_token
    with pytest.raises(PermissionDenied, match="not a member of any team"):
        await auth.authenticate(token)


async def test_create_user_checks(auth: AuthService, team: uuid.UUID) -> None:
    user = await auth.create_user(" New@Example.com ", PASSWORD, team_id=team, role="operator")
    assert user.email == "new@example.com" and user.password_hash != PASSWORD
    with pytest.raises(Conflict):
        await auth.create_user("NEW@example.com", PASSWORD, team_id=team, role="viewer")
    for email, password, role, team_id in [
        ("no-at-sign", PASSWORD, "viewer", team),
        ("a b@example.com", PASSWORD, "viewer", team),
        ("short@example.com", "1234567", "viewer", team),
        ("role@example.com", PASSWORD, "emperor", team),
    ]:
        with pytest.raises(InvalidInput):
            await auth.create_user(email, password, team_id=team_id, role=role)
    with pytest.raises(NotFound):
        await auth.create_user("lost@example.com", PASSWORD, team_id=uuid.uuid4(), role="viewer")
    with pytest.raises(NotFound):
        await auth.reset_password("ghost@example.com", PASSWORD)
