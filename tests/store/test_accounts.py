"""Accounts in the store: users, members, API keys, refresh tokens, signing keys (both dialects)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from conveyor.errors import Conflict, NotFound
from conveyor.store import Store

T0 = datetime(2030, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _hash(n: int) -> str:
    return f"{n:064x}"


async def test_users_are_found_by_email_whatever_its_case(store: Store, team: uuid.UUID) -> None:
    user = await store.user_create(
        "  Ada@Example.COM ", "h1", display_name="Ada", team_id=team, role="owner"
    )
    assert user.email == "ada@example.com" and user.display_name == "Ada"
    assert not user.is_superuser and not user.disabled
    assert await store.user_by_email("ADA@example.com") == user
    assert await store.user_get(user.id) == user
    assert await store.user_get(uuid.uuid4()) is None
    assert await store.user_by_email("nobody@example.com") is None
    with pytest.raises(Conflict):
        await store.user_create("ada@EXAMPLE.com", "h2")
    assert await store.member_role(team, user.id) == "owner"


async def test_members_and_teams(store: Store, team: uuid.UUID) -> None:
    other = await store.team_create("zeta", "Zeta")
    user = await store.user_create("bo@example.com", None)
    assert await store.teams_of_user(user.id) == []
    assert await store.member_role(team, user.id) is None

    await store.member_add(team, user.id, "viewer")
    await store.member_add(other, user.id, "operator")
    await store.member_add(team, user.id, "admin")  # an upsert: the role changes
    memberships = await store.teams_of_user(user.id)
    assert [(m.slug, m.name, m.role) for m in memberships] == [
        ("acme", "Acme", "admin"),  # joined first: the default team
        ("zeta", "Zeta", "operator"),
    ]
    assert memberships[0].team_id == team
    access = await store.user_access(user.id)
    assert access is not None and access.user.id == user.id and access.memberships == memberships
    assert await store.user_access(uuid.uuid4()) is None

    found = await store.team_get(team)
    assert found is not None and (found.id, found.slug, found.name) == (team, "acme", "Acme")
    assert await store.team_get(uuid.uuid4()) is None


async def test_password_and_disable_end_sessions(store: Store, team: uuid.UUID) -> None:
    user = await store.user_create("cy@example.com", "old", team_id=team, role="viewer")
    family = uuid.uuid4()
    await store.refresh_create(user.id, family, _hash(1), T0 + HOUR, now=T0)

    await store.user_set_password(user.id, "new", end_sessions=False)
    assert (await store.user_get(user.id)).password_hash == "new"  # type: ignore[union-attr]
    outcome = await store.refresh_rotate(_hash(1), _hash(2), T0 + HOUR, now=T0)
    assert outcome.status == "rotated"

    await store.user_set_password(user.id, "newer")
    assert (await store.refresh_rotate(_hash(2), _hash(3), T0 + HOUR, now=T0)).status == "invalid"

    await store.refresh_create(user.id, uuid.uuid4(), _hash(4), T0 + HOUR, now=T0)
    await store.user_set_disabled(user.id, True)
    disabled = await store.user_get(user.id)
    assert disabled is not None and disabled.disabled
    assert (await store.refresh_rotate(_hash(4), _hash(5), T0 + HOUR, now=T0)).status == "invalid"
    await store.user_set_disabled(user.id, False)
    assert not (await store.user_get(user.id)).disabled  # type: ignore[union-attr]

    with pytest.raises(NotFound):
        await store.user_set_password(uuid.uuid4(), "x")
    with pytest.raises(NotFound):
        await store.user_set_disabled(uuid.uuid4(), True)


async def test_api_keys(store: Store, team: uuid.UUID) -> None:
    other = await store.team_create("zeta", "Zeta")
    user = await store.user_create("di@example.com", "h", team_id=team, role="owner")
    key = await store.api_key_create(
        team, kind="client", name="ci", prefix="abc123abc123", secret_hash=_hash(9),
        scopes=["jobs:read", "jobs:create:demo.echo"], created_by=user.id,
        expires_at=T0 + HOUR, now=T0,
    )  # fmt: skip
    assert (key.team_id, key.kind, key.name, key.prefix, key.secret_hash) == (
        team, "client", "ci", "abc123abc123", _hash(9),
    )  # fmt: skip
    assert key.scopes == ["jobs:read", "jobs:create:demo.echo"] and key.created_by == user.id
    assert (key.created_at, key.expires_at, key.last_used_at, key.revoked_at) == (
        T0, T0 + HOUR, None, None,
    )  # fmt: skip
    assert await store.api_key_by_prefix("abc123abc123") == key
    assert await store.api_key_by_prefix("000000000000") is None
    assert await store.api_key_list(team) == [key]
    assert await store.api_key_list(other) == []

    await store.api_key_touch(key.id, now=T0)
    await store.api_key_touch(key.id, now=T0 + timedelta(seconds=30))  # too soon: not recorded
    assert (await store.api_key_by_prefix(key.prefix)).last_used_at == T0  # type: ignore[union-attr]
    await store.api_key_touch(key.id, now=T0 + timedelta(seconds=61))
    touched = await store.api_key_by_prefix(key.prefix)
    assert touched is not None and touched.last_used_at == T0 + timedelta(seconds=61)

    assert not await store.api_key_revoke(other, key.id)  # another team's key: no such key
    assert await store.api_key_revoke(team, key.id)
    revoked = await store.api_key_by_prefix(key.prefix)
    assert revoked is not None and revoked.revoked_at is not None
    assert await store.api_key_revoke(team, key.id)  # again: still revoked, same time
    assert (await store.api_key_by_prefix(key.prefix)).revoked_at == revoked.revoked_at  # type: ignore[union-attr]
    assert not await store.api_key_revoke(team, uuid.uuid4())


async def test_a_key_is_read_with_its_creators_access_to_its_team_in_one_read(
    store: Store, team: uuid.UUID
) -> None:
    other = await store.team_create("zeta", "Zeta")
    maker = await store.user_create("fa@example.com", "h", team_id=other, role="viewer")
    await store.member_add(team, maker.id, "operator")
    made = await store.api_key_create(
        team, kind="client", name="ci", prefix="def456def456", secret_hash=_hash(7),
        scopes=["jobs:read"], created_by=maker.id, expires_at=None, now=T0,
    )  # fmt: skip
    found = await store.api_key_access("def456def456")
    assert found is not None
    key, creator = found
    assert key == made
    assert creator is not None and creator.user == await store.user_get(maker.id)
    # Only the membership that counts for the key: the key's own team.
    assert [(m.team_id, m.role) for m in creator.memberships] == [(team, "operator")]

    await store.member_remove(team, maker.id)
    found = await store.api_key_access("def456def456")
    assert found is not None and found[1] is not None and found[1].memberships == []

    machine = await store.api_key_create(
        team, kind="agent", name="box", prefix="0a0a0a0a0a0a", secret_hash=_hash(8),
        scopes=["agent:connect"], created_by=None, expires_at=None, now=T0,
    )  # fmt: skip
    assert await store.api_key_access("0a0a0a0a0a0a") == (machine, None)
    assert await store.api_key_access("000000000000") is None


async def test_refresh_rotation_and_reuse(store: Store, team: uuid.UUID) -> None:
    user = await store.user_create("ed@example.com", "h", team_id=team, role="viewer")
    family, other_family = uuid.uuid4(), uuid.uuid4()
    await store.refresh_create(user.id, family, _hash(1), T0 + HOUR, now=T0)
    await store.refresh_create(user.id, other_family, _hash(100), T0 + HOUR, now=T0)

    first = await store.refresh_rotate(_hash(1), _hash(2), T0 + 2 * HOUR, now=T0)
    assert (first.status, first.user_id, first.family_id) == ("rotated", user.id, family)
    second = await store.refresh_rotate(_hash(2), _hash(3), T0 + 2 * HOUR, now=T0)
    assert second.status == "rotated" and second.family_id == family

    reused = await store.refresh_rotate(_hash(1), _hash(4), T0 + 2 * HOUR, now=T0)
    assert (reused.status, reused.user_id, reused.family_id) == ("reused", user.id, family)
    # the whole family is revoked, the newest token included; the other login is untouched
    assert (await store.refresh_rotate(_hash(3), _hash(5), T0 + 2 * HOUR, now=T0)).status == (
        "invalid"
    )
    assert (await store.refresh_rotate(_hash(4), _hash(6), T0 + 2 * HOUR, now=T0)).status == (
        "invalid"
    )
    assert (await store.refresh_rotate(_hash(100), _hash(101), T0 + HOUR, now=T0)).status == (
        "rotated"
    )

    assert (await store.refresh_rotate(_hash(999), _hash(7), T0 + HOUR, now=T0)).status == (
        "invalid"
    )
    await store.refresh_create(user.id, uuid.uuid4(), _hash(8), T0 + HOUR, now=T0)
    expired = await store.refresh_rotate(_hash(8), _hash(9), T0 + 3 * HOUR, now=T0 + HOUR)
    assert expired.status == "invalid"


async def test_concurrent_use_of_one_refresh_token_rotates_once(
    store: Store, team: uuid.UUID
) -> None:
    user = await store.user_create("fa@example.com", "h", team_id=team, role="viewer")
    await store.refresh_create(user.id, uuid.uuid4(), _hash(1), T0 + HOUR, now=T0)
    outcomes = await asyncio.gather(
        *(store.refresh_rotate(_hash(1), _hash(10 + i), T0 + HOUR, now=T0) for i in range(8))
    )
    assert sorted(o.status for o in outcomes).count("rotated") == 1


async def test_logout_and_revoke_user(store: Store, team: uuid.UUID) -> None:
    user = await store.user_create("gu@example.com", "h", team_id=team, role="viewer")
    family = uuid.uuid4()
    await store.refresh_create(user.id, family, _hash(1), T0 + HOUR, now=T0)
    assert (await store.refresh_rotate(_hash(1), _hash(2), T0 + HOUR, now=T0)).status == "rotated"
    assert await store.refresh_revoke_token_family(_hash(1))  # any token of the family will do
    assert (await store.refresh_rotate(_hash(2), _hash(3), T0 + HOUR, now=T0)).status == "invalid"
    assert not await store.refresh_revoke_token_family(_hash(42))

    await store.refresh_create(user.id, uuid.uuid4(), _hash(4), T0 + HOUR, now=T0)
    await store.refresh_create(user.id, uuid.uuid4(), _hash(5), T0 + HOUR, now=T0)
    await store.refresh_revoke_user(user.id)
    for h in (4, 5):
        assert (await store.refresh_rotate(_hash(h), _hash(50 + h), T0 + HOUR, now=T0)).status == (
            "invalid"
        )

    family = uuid.uuid4()
    await store.refresh_create(user.id, family, _hash(6), T0 + HOUR, now=T0)
    await store.refresh_revoke_family(family)
    assert (await store.refresh_rotate(_hash(6), _hash(7), T0 + HOUR, now=T0)).status == "invalid"


async def test_signing_keys(store: Store) -> None:
    assert await store.signing_key_get("k000001") is None
    key = await store.signing_key_current()
    assert key.kid == "k000001" and len(key.secret) >= 64 and key.retired_at is None
    assert await store.signing_key_current() == key
    assert await store.signing_key_get(key.kid) == key

    rotated = await store.signing_key_rotate()
    assert rotated.kid == "k000002" and rotated.secret != key.secret
    assert await store.signing_key_current() == rotated
    old = await store.signing_key_get(key.kid)  # still there: tokens it signed stay valid
    assert old is not None and old.secret == key.secret and old.retired_at is not None
    assert await store.signing_key_get("nope") is None


async def test_replicas_agree_on_the_first_signing_key(store: Store, db_url: str) -> None:
    other = await Store.open(db_url)
    try:
        keys = await asyncio.gather(*(s.signing_key_current() for s in [store, other] * 5))
    finally:
        await other.close()
    assert len({k.kid for k in keys}) == 1 and len({k.secret for k in keys}) == 1
