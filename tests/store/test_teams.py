"""Teams in the store, on both dialects: owners, members, custom roles, invitations, requests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from conveyor.errors import Conflict, InvalidInput, NotFound
from conveyor.store import Store
from conveyor.store.records import User


async def _user(store: Store, name: str) -> User:
    return await store.user_create(f"{name}@example.com", None, display_name=name)


async def test_a_new_team_has_its_creator_as_owner(store: Store) -> None:
    ann = await _user(store, "ann")
    team = await store.team_create_owned("blue", "Blue", ann.id)
    assert (team.slug, team.name) == ("blue", "Blue")
    [member] = await store.member_list(team.id)
    assert (member.user_id, member.role, member.email) == (ann.id, "owner", "ann@example.com")
    with pytest.raises(Conflict, match="taken"):
        await store.team_create_owned("blue", "Other", ann.id)
    assert [m.slug for m in await store.teams_of_user(ann.id)] == ["blue"]


async def test_the_last_owner_stays(store: Store) -> None:
    ann, bob = await _user(store, "ann"), await _user(store, "bob")
    team = await store.team_create_owned("blue", "Blue", ann.id)
    await store.member_add(team.id, bob.id, "viewer")
    with pytest.raises(Conflict, match="last owner"):
        await store.member_remove(team.id, ann.id)
    with pytest.raises(Conflict, match="last owner"):
        await store.member_set_role(team.id, ann.id, "admin")
    assert (await store.member_get(team.id, ann.id)).role == "owner"

    await store.team_transfer(team.id, ann.id, bob.id, "admin")
    roles = {m.user_id: m.role for m in await store.member_list(team.id)}
    assert roles == {ann.id: "admin", bob.id: "owner"}
    await store.member_remove(team.id, ann.id)  # no longer an owner: may go
    assert [m.user_id for m in await store.member_list(team.id)] == [bob.id]
    with pytest.raises(NotFound):
        await store.team_transfer(team.id, bob.id, ann.id, "admin")  # ann is not a member


async def test_two_owners_may_each_step_down_but_not_both(store: Store) -> None:
    ann, bob = await _user(store, "ann"), await _user(store, "bob")
    team = await store.team_create_owned("blue", "Blue", ann.id)
    await store.member_add(team.id, bob.id, "owner")
    await store.member_set_role(team.id, ann.id, "operator")
    with pytest.raises(Conflict):
        await store.member_set_role(team.id, bob.id, "operator")


async def test_custom_roles(store: Store) -> None:
    ann, bob = await _user(store, "ann"), await _user(store, "bob")
    team = await store.team_create_owned("blue", "Blue", ann.id)
    role = await store.role_create(team.id, "echoer", "runs echo", ["jobs:create:demo.echo"])
    assert (role.name, role.permissions) == ("echoer", ["jobs:create:demo.echo"])
    with pytest.raises(Conflict):
        await store.role_create(team.id, "echoer", "", [])
    with pytest.raises(InvalidInput, match="no role"):
        await store.member_set_role(team.id, ann.id, "nonexistent")

    await store.member_add(team.id, bob.id, "viewer")
    await store.member_set_role(team.id, bob.id, "echoer")
    [membership] = await store.teams_of_user(bob.id)
    assert membership.role == "echoer"
    assert membership.role_permissions == ["jobs:create:demo.echo"]
    [owner_membership] = await store.teams_of_user(ann.id)
    assert owner_membership.role_permissions is None  # built-in: granted by code

    renamed = await store.role_update(
        team.id, role.id, name="echo-runner", permissions=["jobs:read", "jobs:create:demo.echo"]
    )
    assert renamed.name == "echo-runner"
    assert (await store.member_get(team.id, bob.id)).role == "echo-runner"  # followed the rename
    [membership] = await store.teams_of_user(bob.id)
    assert sorted(membership.role_permissions or []) == ["jobs:create:demo.echo", "jobs:read"]

    with pytest.raises(Conflict, match="hold the role"):
        await store.role_delete(team.id, role.id)
    await store.member_set_role(team.id, bob.id, "viewer")
    await store.role_delete(team.id, role.id)
    assert await store.role_list(team.id) == []


async def test_roles_and_members_are_scoped_by_team(store: Store) -> None:
    ann = await _user(store, "ann")
    blue = await store.team_create_owned("blue", "Blue", ann.id)
    red = await store.team_create_owned("red", "Red", ann.id)
    role = await store.role_create(blue.id, "echoer", "", ["jobs:read"])
    assert await store.role_list(red.id) == []
    for attempt in [
        store.role_get(red.id, role.id),
        store.role_update(red.id, role.id, name="x"),
        store.role_delete(red.id, role.id),
    ]:
        with pytest.raises(NotFound):
            await attempt
    assert await store.role_by_name(red.id, "echoer") is None
    with pytest.raises(InvalidInput):  # blue's role does not exist in red
        await store.member_set_role(red.id, ann.id, "echoer")
    stranger = await _user(store, "stranger")
    with pytest.raises(NotFound):
        await store.member_get(blue.id, stranger.id)


async def test_invitations(store: Store) -> None:
    ann, bob, cid, dan = [await _user(store, n) for n in ("ann", "bob", "cid", "dan")]
    team = await store.team_create_owned("blue", "Blue", ann.id)
    later = datetime.now(UTC) + timedelta(days=1)
    once = await store.invite_create(
        team.id, code_hash="a" * 64, role="operator", max_uses=1, expires_at=later,
        created_by=ann.id,
    )  # fmt: skip
    assert (once.uses, once.max_uses, once.revoked_at) == (0, 1, None)

    with pytest.raises(Conflict, match="already a member"):  # no use spent on a member
        await store.invite_redeem("a" * 64, ann.id)
    assert await store.invite_redeem("a" * 64, bob.id) == (team.id, "operator")
    with pytest.raises(NotFound, match="used up"):
        await store.invite_redeem("a" * 64, cid.id)
    with pytest.raises(NotFound):
        await store.invite_redeem("f" * 64, cid.id)

    many = await store.invite_create(
        team.id, code_hash="b" * 64, role="viewer", max_uses=None, expires_at=later,
        created_by=ann.id,
    )  # fmt: skip
    await store.invite_redeem("b" * 64, cid.id)
    await store.invite_redeem("b" * 64, dan.id, now=datetime.now(UTC))
    roles = {m.user_id: m.role for m in await store.member_list(team.id)}
    assert roles == {ann.id: "owner", bob.id: "operator", cid.id: "viewer", dan.id: "viewer"}
    await store.invite_revoke(team.id, many.id)
    eve = await _user(store, "eve")
    with pytest.raises(NotFound):
        await store.invite_redeem("b" * 64, eve.id)
    [first, second] = await store.invite_list(team.id)
    assert (first.uses, second.uses) == (1, 2) and second.revoked_at is not None

    await store.invite_create(
        team.id, code_hash="c" * 64, role="viewer", max_uses=5, expires_at=later,
        created_by=ann.id,
    )  # fmt: skip
    with pytest.raises(NotFound):  # expired by the time it is used
        await store.invite_redeem("c" * 64, eve.id, now=later + timedelta(seconds=1))
    with pytest.raises(InvalidInput):
        await store.invite_create(
            team.id, code_hash="d" * 64, role="emperor", max_uses=1, expires_at=later,
            created_by=ann.id,
        )  # fmt: skip
    other = await store.team_create_owned("red", "Red", ann.id)
    with pytest.raises(NotFound):
        await store.invite_revoke(other.id, many.id)


async def test_join_requests(store: Store) -> None:
    ann, bob, cid = [await _user(store, n) for n in ("ann", "bob", "cid")]
    team = await store.team_create_owned("blue", "Blue", ann.id)
    asked = await store.join_request_create(team.id, bob.id, "hi, I am Bob")
    assert (asked.state, asked.email, asked.message) == (
        "pending",
        "bob@example.com",
        "hi, I am Bob",
    )
    with pytest.raises(Conflict, match="already asked"):
        await store.join_request_create(team.id, bob.id, "again")
    with pytest.raises(Conflict, match="already a member"):
        await store.join_request_create(team.id, ann.id, "")
    rejected_one = await store.join_request_create(team.id, cid.id, "")
    assert [r.id for r in await store.join_request_list(team.id)] == [asked.id, rejected_one.id]

    other = await store.team_create_owned("red", "Red", ann.id)
    with pytest.raises(NotFound):  # another team's request
        await store.join_request_decide(
            other.id, asked.id, accept=True, role="viewer", decided_by=ann.id
        )
    accepted = await store.join_request_decide(
        team.id, asked.id, accept=True, role="operator", decided_by=ann.id
    )
    assert (accepted.state, accepted.role) == ("accepted", "operator")
    assert (await store.member_get(team.id, bob.id)).role == "operator"
    with pytest.raises(Conflict, match="already accepted"):
        await store.join_request_decide(
            team.id, asked.id, accept=False, role="viewer", decided_by=ann.id
        )
    rejected = await store.join_request_decide(
        team.id, rejected_one.id, accept=False, role="viewer", decided_by=ann.id
    )
    assert rejected.state == "rejected"
    with pytest.raises(NotFound):
        await store.member_get(team.id, cid.id)
    assert await store.join_request_list(team.id) == []
    assert len(await store.join_request_list(team.id, state=None)) == 2
    again = await store.join_request_create(team.id, cid.id, "please")  # a new request may follow
    assert again.state == "pending"
    with pytest.raises(NotFound):
        await store.join_request_decide(
            team.id, uuid.uuid4(), accept=True, role="viewer", decided_by=ann.id
        )
