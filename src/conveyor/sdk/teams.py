"""Teams in the SDK: the methods :class:`conveyor.Client` and :class:`conveyor.AsyncClient` share.

Every method works on the client's team (``team=`` given to the client, else the
saved current team, else your default one) unless ``team=`` (id or slug) names
another. Requests are built in :mod:`conveyor.sdk._team_calls`.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from typing import TYPE_CHECKING, TypeVar

from conveyor.sdk import _team_calls as calls
from conveyor.sdk._calls import Call, JobId
from conveyor.sdk.models import Invite, JoinRequest, Member, Role, Team

T = TypeVar("T")


class TeamsMixin:
    """Teams, members, invitations, requests to join and custom roles (blocking)."""

    if TYPE_CHECKING:

        def _do(self, call: Call[T]) -> T: ...
        def _team_id(self) -> str: ...
        @property
        def team(self) -> str | None: ...

    def _ref(self, team: str | None) -> str:
        return team or self.team or self._team_id()

    def teams(self) -> builtins.list[Team]:
        """Your teams, your default first, each with your role and permissions there."""
        return self._do(calls.teams())

    def create_team(self, slug: str, name: str) -> Team:
        """A new team; you are its owner."""
        return self._do(calls.create_team(slug, name))

    def get_team(self, team: str | None = None) -> Team:
        return self._do(calls.team(self._ref(team)))

    def join_team(self, code: str) -> Team:
        """Join with an invitation code."""
        return self._do(calls.join(code))

    def leave_team(self, team: str | None = None) -> None:
        self._do(calls.leave(self._ref(team)))

    def transfer_team(self, user_id: JobId, *, team: str | None = None) -> None:
        """The member becomes an owner and you an admin."""
        self._do(calls.transfer(self._ref(team), user_id))

    def members(self, *, team: str | None = None) -> builtins.list[Member]:
        return self._do(calls.members(self._ref(team)))

    def set_role(self, user_id: JobId, role: str, *, team: str | None = None) -> Member:
        return self._do(calls.set_role(self._ref(team), user_id, role))

    def remove_member(self, user_id: JobId, *, team: str | None = None) -> None:
        self._do(calls.remove_member(self._ref(team), user_id))

    def invite(self, role: str = "viewer", *, max_uses: int | None = 1,
               expires_in_s: int | None = None, team: str | None = None) -> Invite:  # fmt: skip
        """An invitation; its ``code`` (shown only here) joins with ``role``."""
        return self._do(calls.invite(self._ref(team), role, max_uses, expires_in_s))

    def invites(self, *, team: str | None = None) -> builtins.list[Invite]:
        return self._do(calls.invites(self._ref(team)))

    def revoke_invite(self, invite_id: JobId, *, team: str | None = None) -> None:
        self._do(calls.revoke_invite(self._ref(team), invite_id))

    def request_to_join(self, team: str, message: str = "") -> JoinRequest:
        """Ask a team's admins to let you in."""
        return self._do(calls.request_join(team, message))

    def join_requests(self, *, team: str | None = None) -> builtins.list[JoinRequest]:
        return self._do(calls.join_requests(self._ref(team)))

    def accept_join_request(self, request_id: JobId, role: str = "viewer", *,
                            team: str | None = None) -> JoinRequest:  # fmt: skip
        return self._do(calls.decide(self._ref(team), request_id, True, role))

    def reject_join_request(self, request_id: JobId, *, team: str | None = None) -> JoinRequest:
        return self._do(calls.decide(self._ref(team), request_id, False, "viewer"))

    def roles(self, *, team: str | None = None) -> builtins.list[Role]:
        """The built-in roles and the team's custom ones."""
        return self._do(calls.roles(self._ref(team)))

    def create_role(self, name: str, permissions: Iterable[str], *, description: str = "",
                    team: str | None = None) -> Role:  # fmt: skip
        return self._do(calls.create_role(self._ref(team), name, permissions, description))

    def update_role(self, role_id: JobId, *, name: str | None = None,
                    description: str | None = None, permissions: Iterable[str] | None = None,
                    team: str | None = None) -> Role:  # fmt: skip
        return self._do(calls.update_role(self._ref(team), role_id, name=name,
                                          description=description, permissions=permissions))  # fmt: skip

    def delete_role(self, role_id: JobId, *, team: str | None = None) -> None:
        self._do(calls.delete_role(self._ref(team), role_id))


class AsyncTeamsMixin:
    """:class:`TeamsMixin` for asyncio, method for method."""

    if TYPE_CHECKING:

        async def _do(self, call: Call[T]) -> T: ...
        async def _team_id(self) -> str: ...
        @property
        def team(self) -> str | None: ...

    async def _ref(self, team: str | None) -> str:
        return team or self.team or await self._team_id()

    async def teams(self) -> builtins.list[Team]:
        """Your teams, your default first, each with your role and permissions there."""
        return await self._do(calls.teams())

    async def create_team(self, slug: str, name: str) -> Team:
        """A new team; you are its owner."""
        return await self._do(calls.create_team(slug, name))

    async def get_team(self, team: str | None = None) -> Team:
        return await self._do(calls.team(await self._ref(team)))

    async def join_team(self, code: str) -> Team:
        """Join with an invitation code."""
        return await self._do(calls.join(code))

    async def leave_team(self, team: str | None = None) -> None:
        await self._do(calls.leave(await self._ref(team)))

    async def transfer_team(self, user_id: JobId, *, team: str | None = None) -> None:
        """The member becomes an owner and you an admin."""
        await self._do(calls.transfer(await self._ref(team), user_id))

    async def members(self, *, team: str | None = None) -> builtins.list[Member]:
        return await self._do(calls.members(await self._ref(team)))

    async def set_role(self, user_id: JobId, role: str, *, team: str | None = None) -> Member:
        return await self._do(calls.set_role(await self._ref(team), user_id, role))

    async def remove_member(self, user_id: JobId, *, team: str | None = None) -> None:
        await self._do(calls.remove_member(await self._ref(team), user_id))

    async def invite(self, role: str = "viewer", *, max_uses: int | None = 1,
                     expires_in_s: int | None = None, team: str | None = None) -> Invite:  # fmt: skip
        """An invitation; its ``code`` (shown only here) joins with ``role``."""
        return await self._do(calls.invite(await self._ref(team), role, max_uses, expires_in_s))

    async def invites(self, *, team: str | None = None) -> builtins.list[Invite]:
        return await self._do(calls.invites(await self._ref(team)))

    async def revoke_invite(self, invite_id: JobId, *, team: str | None = None) -> None:
        await self._do(calls.revoke_invite(await self._ref(team), invite_id))

    async def request_to_join(self, team: str, message: str = "") -> JoinRequest:
        """Ask a team's admins to let you in."""
        return await self._do(calls.request_join(team, message))

    async def join_requests(self, *, team: str | None = None) -> builtins.list[JoinRequest]:
        return await self._do(calls.join_requests(await self._ref(team)))

    async def accept_join_request(self, request_id: JobId, role: str = "viewer", *,
                                  team: str | None = None) -> JoinRequest:  # fmt: skip
        return await self._do(calls.decide(await self._ref(team), request_id, True, role))

    async def reject_join_request(self, request_id: JobId, *,
                                  team: str | None = None) -> JoinRequest:  # fmt: skip
        return await self._do(calls.decide(await self._ref(team), request_id, False, "viewer"))

    async def roles(self, *, team: str | None = None) -> builtins.list[Role]:
        """The built-in roles and the team's custom ones."""
        return await self._do(calls.roles(await self._ref(team)))

    async def create_role(self, name: str, permissions: Iterable[str], *, description: str = "",
                          team: str | None = None) -> Role:  # fmt: skip
        ref = await self._ref(team)
        return await self._do(calls.create_role(ref, name, permissions, description))

    async def update_role(self, role_id: JobId, *, name: str | None = None,
                          description: str | None = None,
                          permissions: Iterable[str] | None = None,
                          team: str | None = None) -> Role:  # fmt: skip
        ref = await self._ref(team)
        return await self._do(calls.update_role(ref, role_id, name=name,
                                                description=description, permissions=permissions))  # fmt: skip

    async def delete_role(self, role_id: JobId, *, team: str | None = None) -> None:
        await self._do(calls.delete_role(await self._ref(team), role_id))
