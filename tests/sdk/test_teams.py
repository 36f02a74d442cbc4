"""Teams through Client and AsyncClient: create, invite, join, request, roles, hand over, leave."""

from __future__ import annotations

import pytest

from conveyor.errors import Conflict, NotFound, PermissionDenied
from tests.api.conftest import Live
from tests.sdk.conftest import Connect


def test_a_team_from_creation_to_hand_over(live: Live, connect: Connect) -> None:
    ann, bob, cid = live.user(None), live.user(None), live.user(None)
    with connect(live.url, token=ann.token, timeout=30) as owner:
        team = owner.create_team("blue", "Blue")
        assert (team.slug, team.role) == ("blue", "owner") and "team:manage" in team.permissions
        assert [t.slug for t in owner.teams()] == ["blue"]
        role = owner.create_role("echoer", ["jobs:create:demo.echo"], team="blue")
        assert role.permissions == ["jobs:create:demo.echo"] and not role.builtin
        assert [r.name for r in owner.roles(team="blue")][-1] == "echoer"
        invite = owner.invite("echoer", team="blue")
        assert invite.code is not None and invite.max_uses == 1
    with connect(live.url, token=bob.token, team="blue", timeout=30) as joiner:
        with pytest.raises(NotFound):
            joiner.members()  # not a member yet: the team does not exist for bob
        joined = joiner.join_team(invite.code)
        assert (joined.role, joined.permissions) == ("echoer", ["jobs:create:demo.echo"])
        with pytest.raises(PermissionDenied):
            joiner.members()
    with connect(live.url, token=cid.token, timeout=30) as asker:
        asked = asker.request_to_join("blue", "let me in")
        with pytest.raises(Conflict):
            asker.request_to_join("blue")
    with connect(live.url, token=ann.token, team="blue", timeout=30) as owner:
        assert [r.email for r in owner.join_requests()] == [cid.email]
        assert owner.accept_join_request(asked.id, "viewer").state == "accepted"
        assert {m.email: m.role for m in owner.members()} == {
            ann.email: "owner", bob.email: "echoer", cid.email: "viewer",
        }  # fmt: skip
        assert owner.set_role(bob.id, "operator").role == "operator"
        updated = owner.update_role(role.id, permissions=["jobs:read"])
        assert updated.permissions == ["jobs:read"]
        owner.delete_role(role.id)
        assert [i.uses for i in owner.invites()] == [1]
        with pytest.raises(Conflict):
            owner.leave_team()  # the last owner
        owner.transfer_team(cid.id)
        owner.leave_team()
        assert owner.teams() == []
    with connect(live.url, token=cid.token, team="blue", timeout=30) as new_owner:
        assert new_owner.get_team().role == "owner"
        new_owner.remove_member(bob.id)
        assert [m.email for m in new_owner.members()] == [cid.email]
        spare = new_owner.invite(max_uses=None)
        new_owner.revoke_invite(spare.id)
        assert new_owner.invites()[-1].revoked_at is not None
