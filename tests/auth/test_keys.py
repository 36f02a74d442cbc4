"""API keys: shown once, stored hashed, scoped, revocable, expiring, never above their creator."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from conveyor.auth.service import AuthService
from conveyor.auth.tokens import token_hash
from conveyor.errors import InvalidInput, NotFound, PermissionDenied, Unauthenticated
from conveyor.store import Store
from conveyor.store.records import User
from tests.auth.conftest import make_user


async def test_client_key_lifecycle(
    auth: AuthService, store: Store, owner: User, team: uuid.UUID
) -> None:
    me = await auth.principal_for_user(owner.id, team)
    row, key = await auth.create_key(
        me, kind="client", name=" ci ", scopes=["jobs:read", "jobs:create:demo.echo", "jobs:read"]
    )
    assert key.startswith(f"cvk_{row.prefix}_") and len(key) > 50
    assert row.name == "ci" and row.kind == "client" and row.created_by == owner.id
    assert row.scopes == ["jobs:create:demo.echo", "jobs:read"]
    assert row.secret_hash == token_hash(key) and key not in repr(row)

    who = await auth.authenticate(key)
    assert (who.team_id, who.user_id, who.key_id, who.kind, who.email) == (
        team, None, row.id, "client_key", None,
    )  # fmt: skip
    assert who.can_submit("demo.echo") and who.can("jobs:read")
    assert not who.can_submit("demo.export_csv") and not who.can("jobs:cancel")
    used = await store.api_key_by_prefix(row.prefix)
    assert used is not None and used.last_used_at is not None
    await auth.authenticate(key)  # within the minute: no second write
    assert (await store.api_key_by_prefix(row.prefix)) == used

    assert (await auth.authenticate(key, team="acme")).team_id == team
    assert (await auth.authenticate(key, team=str(team))).team_id == team
    await store.team_create("zeta", "Zeta")
    with pytest.raises(PermissionDenied):
        await auth.authenticate(key, team="zeta")

    await auth.revoke_key(me, row.id)
    with pytest.raises(Unauthenticated, match="revoked"):
        await auth.authenticate(key)
    with pytest.raises(NotFound):
        await auth.revoke_key(me, uuid.uuid4())


async def test_forged_keys_are_refused(auth: AuthService, owner: User, team: uuid.UUID) -> None:
    me = await auth.principal_for_user(owner.id, team)
    _, key = await auth.create_key(me, kind="client", name="ci", scopes=["jobs:read"])
    wrong_secret = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    for bad in [wrong_secret, f"cvk_{'0' * 12}_{'a' * 43}", "cvk_", "cvk_short_x", key + "x"]:
        with pytest.raises(Unauthenticated):
            await auth.authenticate(bad)


async def test_expired_key(auth: AuthService, owner: User, team: uuid.UUID) -> None:
    me = await auth.principal_for_user(owner.id, team)
    now = datetime.now(UTC)
    row, key = await auth.create_key(
        me, kind="client", name="temp", scopes=["jobs:read"], expires_at=now + timedelta(hours=1)
    )
    assert row.expires_at == now + timedelta(hours=1)
    await auth.authenticate(key)
    with pytest.raises(Unauthenticated, match="expired"):
        await auth.authenticate(key, now=now + timedelta(hours=2))
    with pytest.raises(InvalidInput):
        await auth.create_key(me, kind="client", name="past", scopes=["jobs:read"],
                              expires_at=now - timedelta(seconds=1))  # fmt: skip
    with pytest.raises(InvalidInput):
        await auth.create_key(me, kind="client", name="naive", scopes=["jobs:read"],
                              expires_at=datetime(2099, 1, 1))  # fmt: skip


async def test_agent_key(auth: AuthService, owner: User, team: uuid.UUID) -> None:
    me = await auth.principal_for_user(owner.id, team)
    row, key = await auth.create_key(me, kind="agent", name="laptop", scopes=[])
    assert row.scopes == ["agent:connect"]
    who = await auth.authenticate(key)
    assert who.kind == "agent_key" and who.permissions == {"agent:connect"}
    assert not who.can("jobs:read")
    with pytest.raises(InvalidInput):
        await auth.create_key(me, kind="agent", name="x", scopes=["agent:connect", "jobs:read"])
    with pytest.raises(InvalidInput):
        await auth.create_key(me, kind="client", name="x", scopes=["agent:connect"])
    with pytest.raises(InvalidInput):
        await auth.create_key(me, kind="client", name="x", scopes=[])
    with pytest.raises(InvalidInput):
        await auth.create_key(me, kind="robot", name="x", scopes=["jobs:read"])
    with pytest.raises(InvalidInput):
        await auth.create_key(me, kind="client", name=" ", scopes=["jobs:read"])
    with pytest.raises(InvalidInput):
        await auth.create_key(me, kind="client", name="x", scopes=["jobs:everything"])
    with pytest.raises(PermissionDenied):  # keys do not make keys
        await auth.create_key(who, kind="agent", name="child", scopes=[])


async def test_key_scopes_cannot_exceed_the_creator(auth: AuthService, team: uuid.UUID) -> None:
    operator = await auth.principal_for_user((await make_user(auth, team, "operator")).id, team)
    for scopes in (["keys:revoke"], ["jobs:create:shell"], ["jobs:read", "audit:read"]):
        with pytest.raises(PermissionDenied):
            await auth.create_key(operator, kind="client", name="too much", scopes=scopes)
    await auth.create_key(operator, kind="client", name="ok", scopes=["jobs:create:demo.echo"])
    await auth.create_key(operator, kind="agent", name="ok", scopes=["agent:connect"])

    viewer = await auth.principal_for_user((await make_user(auth, team, "viewer")).id, team)
    with pytest.raises(PermissionDenied):  # no keys:create at all
        await auth.create_key(viewer, kind="client", name="x", scopes=["jobs:read"])


async def test_a_key_does_only_what_its_creator_still_may(
    auth: AuthService, store: Store, team: uuid.UUID
) -> None:
    user = await make_user(auth, team, "operator")
    operator = await auth.principal_for_user(user.id, team)
    _, key = await auth.create_key(
        operator, kind="client", name="script", scopes=["jobs:create", "jobs:read"]
    )
    assert (await auth.authenticate(key)).can_submit("demo.echo")

    await store.member_add(team, user.id, "viewer")  # demoted
    demoted = await auth.authenticate(key)
    assert demoted.can("jobs:read") and not demoted.can_submit("demo.echo")

    await store.user_set_disabled(user.id, True)
    with pytest.raises(Unauthenticated):
        await auth.authenticate(key)


async def test_revoking_keys(auth: AuthService, owner: User, team: uuid.UUID) -> None:
    admin = await auth.principal_for_user(owner.id, team)
    operator = await auth.principal_for_user((await make_user(auth, team, "operator")).id, team)
    own, own_key = await auth.create_key(operator, kind="client", name="mine", scopes=["jobs:read"])
    others, _ = await auth.create_key(admin, kind="client", name="admin's", scopes=["jobs:read"])
    with pytest.raises(PermissionDenied):  # operators hold no keys:revoke
        await auth.revoke_key(operator, others.id)
    await auth.revoke_key(operator, own.id)  # but may revoke their own
    with pytest.raises(Unauthenticated):
        await auth.authenticate(own_key)
    with pytest.raises(NotFound):
        await auth.revoke_key(operator, uuid.uuid4())
