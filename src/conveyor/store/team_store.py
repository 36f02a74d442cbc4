"""The store's team methods (members, custom roles, invitations, join requests).

A mixin of :class:`conveyor.store.Store`, kept apart so neither file grows past one
concern; ``team_id`` comes first wherever the rows belong to a team. A write made
for a request takes ``audit=``: its audit row commits in the same transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime

from conveyor.store.database import Database
from conveyor.store.queries import teams
from conveyor.store.queries.audit import AuditEntry, audited
from conveyor.store.queries.forget import forgetting
from conveyor.store.read_cache import ACCESS
from conveyor.store.records import Team
from conveyor.store.team_records import Invite, JoinRequest, Member, Role


class TeamStore:
    """Team methods over ``self.db``."""

    db: Database

    async def team_create_owned(
        self, slug: str, name: str, owner_id: uuid.UUID, *, audit: AuditEntry | None = None
    ) -> Team:
        """A new team with its first owner (:class:`Conflict` when the slug is taken)."""
        op = audited(
            teams.create_team, audit, lambda e, team: _in_team(e, "team", team.id, team.id)
        )
        return await self.db.write(forgetting(ACCESS, op), None, slug, name, owner_id)

    async def member_list(self, team_id: uuid.UUID) -> list[Member]:
        return await self.db.read(teams.list_members, None, team_id)

    async def member_get(self, team_id: uuid.UUID, user_id: uuid.UUID) -> Member:
        return await self.db.read(teams.get_member, None, team_id, user_id)

    async def member_set_role(
        self,
        team_id: uuid.UUID,
        user_id: uuid.UUID,
        role: str,
        *,
        audit: AuditEntry | None = None,
    ) -> Member:
        """Change a member's role; the last owner keeps theirs (:class:`Conflict`)."""
        op = forgetting(ACCESS, audited(teams.set_member_role, audit))
        return await self.db.write(op, None, team_id, user_id, role)

    async def member_remove(
        self, team_id: uuid.UUID, user_id: uuid.UUID, *, audit: AuditEntry | None = None
    ) -> None:
        """Remove a member (or leave); the last owner cannot (:class:`Conflict`)."""
        op = forgetting(ACCESS, audited(teams.remove_member, audit))
        await self.db.write(op, None, team_id, user_id)

    async def team_transfer(
        self,
        team_id: uuid.UUID,
        from_user: uuid.UUID,
        to_user: uuid.UUID,
        demote_to: str,
        *,
        audit: AuditEntry | None = None,
    ) -> None:
        op = forgetting(ACCESS, audited(teams.transfer_ownership, audit))
        await self.db.write(op, None, team_id, from_user, to_user, demote_to)

    async def role_list(self, team_id: uuid.UUID) -> list[Role]:
        return await self.db.read(teams.list_roles, None, team_id)

    async def role_get(self, team_id: uuid.UUID, role_id: uuid.UUID) -> Role:
        return await self.db.read(teams.get_role, None, team_id, role_id)

    async def role_by_name(self, team_id: uuid.UUID, name: str) -> Role | None:
        return await self.db.read(teams.get_role_by_name, None, team_id, name)

    async def role_create(
        self,
        team_id: uuid.UUID,
        name: str,
        description: str,
        permissions: list[str],
        *,
        audit: AuditEntry | None = None,
    ) -> Role:
        op = audited(teams.create_role, audit, lambda e, role: e.about("role", role.id))
        return await self.db.write(
            forgetting(ACCESS, op), None, team_id, name, description, permissions
        )

    async def role_update(
        self,
        team_id: uuid.UUID,
        role_id: uuid.UUID,
        *,
        name: str | None = None,
        description: str | None = None,
        permissions: list[str] | None = None,
        audit: AuditEntry | None = None,
    ) -> Role:
        return await self.db.write(
            forgetting(ACCESS, audited(teams.update_role, audit)), None, team_id, role_id,
            name=name, description=description, permissions=permissions,
        )  # fmt: skip

    async def role_delete(
        self, team_id: uuid.UUID, role_id: uuid.UUID, *, audit: AuditEntry | None = None
    ) -> None:
        op = forgetting(ACCESS, audited(teams.delete_role, audit))
        await self.db.write(op, None, team_id, role_id)

    async def invite_create(
        self,
        team_id: uuid.UUID,
        *,
        code_hash: str,
        role: str,
        max_uses: int | None,
        expires_at: datetime,
        created_by: uuid.UUID | None,
        now: datetime | None = None,
        audit: AuditEntry | None = None,
    ) -> Invite:
        op = audited(teams.create_invite, audit, lambda e, invite: e.about("invite", invite.id))
        return await self.db.write(
            op, now, team_id, code_hash=code_hash, role=role,
            max_uses=max_uses, expires_at=expires_at, created_by=created_by,
        )  # fmt: skip

    async def invite_list(self, team_id: uuid.UUID) -> list[Invite]:
        return await self.db.read(teams.list_invites, None, team_id)

    async def invite_revoke(
        self, team_id: uuid.UUID, invite_id: uuid.UUID, *, audit: AuditEntry | None = None
    ) -> None:
        await self.db.write(audited(teams.revoke_invite, audit), None, team_id, invite_id)

    async def invite_redeem(
        self,
        code_hash: str,
        user_id: uuid.UUID,
        *,
        now: datetime | None = None,
        audit: AuditEntry | None = None,
    ) -> tuple[uuid.UUID, str]:
        """Spend one use of an invitation and join its team: (team id, role); the audit
        row is the joiner's, in that team."""
        op = audited(
            teams.redeem_invite, audit, lambda e, joined: _in_team(e, "user", user_id, joined[0])
        )
        return await self.db.write(forgetting(ACCESS, op), now, code_hash, user_id)

    async def join_request_create(
        self,
        team_id: uuid.UUID,
        user_id: uuid.UUID,
        message: str,
        *,
        audit: AuditEntry | None = None,
    ) -> JoinRequest:
        op = audited(
            teams.create_join_request,
            audit,
            lambda e, asked: _in_team(e, "join_request", asked.id, asked.team_id),
        )
        return await self.db.write(op, None, team_id, user_id, message)

    async def join_request_list(
        self, team_id: uuid.UUID, state: str | None = "pending"
    ) -> list[JoinRequest]:
        return await self.db.read(teams.list_join_requests, None, team_id, state)

    async def join_request_decide(
        self,
        team_id: uuid.UUID,
        request_id: uuid.UUID,
        *,
        accept: bool,
        role: str,
        decided_by: uuid.UUID,
        audit: AuditEntry | None = None,
    ) -> JoinRequest:
        return await self.db.write(
            forgetting(ACCESS, audited(teams.decide_join_request, audit)), None, team_id,
            request_id,
            accept=accept, role=role, decided_by=decided_by,
        )  # fmt: skip


def _in_team(
    entry: AuditEntry, object_type: str, object_id: object, team_id: uuid.UUID
) -> AuditEntry:
    """The row of a request made outside a team (creating or joining one), in that team."""
    return replace(entry.about(object_type, object_id), team_id=team_id)
