"""Team rules: who may create, join, invite, change roles, leave and hand over a team.

The store keeps the invariants that need a transaction (one use per invitation,
a last owner); this module keeps the rules about the caller: nobody grants a role
that can do more than they can, and only owners (``team:manage``) make or unmake
owners.
"""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import UTC, datetime, timedelta

from conveyor.auth.permissions import (
    TEAM_MANAGE,
    Principal,
    held_permissions,
    role_permissions,
    validate_scope,
)
from conveyor.auth.tokens import token_hash
from conveyor.bounds import INVITE_TTL_MAX_S
from conveyor.errors import InvalidInput, NotFound, PermissionDenied
from conveyor.store import AuditEntry, Store
from conveyor.store.records import Team
from conveyor.store.team_records import BUILTIN_ROLE_NAMES, OWNER, Invite, JoinRequest, Member, Role

INVITE_PREFIX = "cvinv_"
INVITE_TTL_DEFAULT_S = 7 * 86_400
DEMOTED_OWNER_ROLE = "admin"
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{1,62}")
_ROLE_NAME = re.compile(r"[a-z][a-z0-9_.-]{0,63}")
MAX_PERMISSIONS = 200


def check_slug(slug: str) -> str:
    """Lower-case letters, digits and dashes, 2-63 long, and never a UUID (teams are named by both)."""
    if not _SLUG.fullmatch(slug) or _is_uuid(slug):
        raise InvalidInput(
            "a team slug is 2-63 lower-case letters, digits and dashes, starting with a "
            "letter or digit (and not a UUID)",
            field="slug",
        )
    return slug


def check_role_name(name: str) -> str:
    if not _ROLE_NAME.fullmatch(name):
        raise InvalidInput(
            "a role name is 1-64 lower-case letters, digits, '_', '.' or '-', starting with a letter",
            field="name",
        )
    if name in BUILTIN_ROLE_NAMES:
        raise InvalidInput(f"{name!r} is a built-in role: pick another name", field="name")
    return name


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _user_id(principal: Principal) -> uuid.UUID:
    if principal.kind != "user" or principal.user_id is None:
        raise PermissionDenied("only people manage teams: log in instead of using an API key")
    return principal.user_id


class TeamService:
    """Teams over the store; one per server process."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # teams

    async def create_team(
        self, user_id: uuid.UUID, slug: str, name: str, *, audit: AuditEntry | None = None
    ) -> Team:
        """A new team; its creator is its owner."""
        name = name.strip()
        if not name or len(name) > 200:
            raise InvalidInput("a team needs a name of 1 to 200 characters", field="name")
        return await self.store.team_create_owned(check_slug(slug), name, user_id, audit=audit)

    async def resolve(self, ref: str) -> Team:
        """The team named by id or slug; :class:`NotFound` when there is none."""
        team: Team | None = None
        if _is_uuid(ref):
            team = await self.store.team_get(uuid.UUID(ref))
        else:
            team_id = await self.store.team_by_slug(ref)
            team = None if team_id is None else await self.store.team_get(team_id)
        if team is None:
            raise NotFound(f"team {ref[:100]!r} not found")
        return team

    # roles

    async def role_grants(self, team_id: uuid.UUID, role: str) -> frozenset[str]:
        """What ``role`` grants in the team (:class:`InvalidInput` when the team has no such role)."""
        if role in BUILTIN_ROLE_NAMES:
            return role_permissions(role)
        custom = await self.store.role_by_name(team_id, role)
        if custom is None:
            raise InvalidInput(f"this team has no role {role[:64]!r}", field="role")
        return held_permissions(role, custom.permissions)

    async def _check_assignable(self, principal: Principal, role: str) -> None:
        """Nobody hands out a role that may do more than they may; owners only by owners."""
        if role == OWNER and not principal.can(TEAM_MANAGE):
            raise PermissionDenied(f"only owners (`{TEAM_MANAGE}`) make owners")
        beyond = sorted(
            p for p in await self.role_grants(principal.team_id, role) if not principal.can(p)
        )
        if beyond:
            raise PermissionDenied(
                f"the role {role!r} may do more than you may: you lack {', '.join(beyond)}",
                permissions=beyond,
            )

    def _checked_permissions(self, principal: Principal, permissions: list[str]) -> list[str]:
        if len(permissions) > MAX_PERMISSIONS:
            raise InvalidInput(
                f"a role has at most {MAX_PERMISSIONS} permissions", field="permissions"
            )
        wanted = sorted({validate_scope(p, field="permissions") for p in permissions})
        beyond = [p for p in wanted if not principal.can(p)]
        if beyond:
            raise PermissionDenied(
                f"a role cannot do more than you may: you lack {', '.join(beyond)}",
                permissions=beyond,
            )
        return wanted

    async def create_role(
        self,
        principal: Principal,
        name: str,
        description: str,
        permissions: list[str],
        *,
        audit: AuditEntry | None = None,
    ) -> Role:
        return await self.store.role_create(
            principal.team_id,
            check_role_name(name),
            description.strip(),
            self._checked_permissions(principal, permissions),
            audit=audit,
        )

    async def update_role(
        self,
        principal: Principal,
        role_id: uuid.UUID,
        *,
        name: str | None,
        description: str | None,
        permissions: list[str] | None,
        audit: AuditEntry | None = None,
    ) -> Role:
        old = await self.store.role_get(principal.team_id, role_id)
        await self._check_assignable(principal, old.name)  # no editing a role above you
        return await self.store.role_update(
            principal.team_id,
            role_id,
            name=None if name is None else check_role_name(name),
            description=None if description is None else description.strip(),
            permissions=None
            if permissions is None
            else self._checked_permissions(principal, permissions),
            audit=audit,
        )

    async def delete_role(
        self, principal: Principal, role_id: uuid.UUID, *, audit: AuditEntry | None = None
    ) -> None:
        old = await self.store.role_get(principal.team_id, role_id)
        await self._check_assignable(principal, old.name)
        await self.store.role_delete(principal.team_id, role_id, audit=audit)

    # members

    async def set_role(
        self,
        principal: Principal,
        user_id: uuid.UUID,
        role: str,
        *,
        audit: AuditEntry | None = None,
    ) -> Member:
        member = await self.store.member_get(principal.team_id, user_id)
        if member.role == OWNER and not principal.can(TEAM_MANAGE):
            raise PermissionDenied(f"only owners (`{TEAM_MANAGE}`) change an owner's role")
        await self._check_assignable(principal, member.role)
        await self._check_assignable(principal, role)
        return await self.store.member_set_role(principal.team_id, user_id, role, audit=audit)

    async def remove(
        self, principal: Principal, user_id: uuid.UUID, *, audit: AuditEntry | None = None
    ) -> None:
        member = await self.store.member_get(principal.team_id, user_id)
        if member.role == OWNER and not principal.can(TEAM_MANAGE):
            raise PermissionDenied(f"only owners (`{TEAM_MANAGE}`) remove an owner")
        await self._check_assignable(principal, member.role)
        await self.store.member_remove(principal.team_id, user_id, audit=audit)

    async def leave(self, principal: Principal, *, audit: AuditEntry | None = None) -> None:
        await self.store.member_remove(principal.team_id, _user_id(principal), audit=audit)

    async def transfer(
        self, principal: Principal, to_user: uuid.UUID, *, audit: AuditEntry | None = None
    ) -> None:
        """``to_user`` becomes an owner, the caller an admin."""
        await self.store.team_transfer(
            principal.team_id, _user_id(principal), to_user, DEMOTED_OWNER_ROLE, audit=audit
        )

    # invitations and requests

    async def invite(
        self,
        principal: Principal,
        *,
        role: str,
        max_uses: int | None,
        expires_in_s: int | None,
        now: datetime | None = None,
        audit: AuditEntry | None = None,
    ) -> tuple[Invite, str]:
        """A new invitation; the second value is its code, shown once."""
        await self._check_assignable(principal, role)
        ttl = INVITE_TTL_DEFAULT_S if expires_in_s is None else expires_in_s
        if not 60 <= ttl <= INVITE_TTL_MAX_S:
            raise InvalidInput(
                f"an invitation lasts 60 s to {INVITE_TTL_MAX_S} s", field="expires_in_s"
            )
        code = INVITE_PREFIX + secrets.token_urlsafe(24)
        invite = await self.store.invite_create(
            principal.team_id,
            code_hash=token_hash(code),
            role=role,
            max_uses=max_uses,
            expires_at=(now or datetime.now(UTC)) + timedelta(seconds=ttl),
            created_by=principal.user_id,
            now=now,
            audit=audit,
        )
        return invite, code

    async def join(
        self,
        user_id: uuid.UUID,
        code: str,
        *,
        now: datetime | None = None,
        audit: AuditEntry | None = None,
    ) -> Team:
        """Join with an invitation code."""
        code = code.strip()
        if not code.startswith(INVITE_PREFIX) or len(code) > 100:
            raise NotFound("this invitation code is unknown, used up, expired or revoked")
        team_id, _ = await self.store.invite_redeem(token_hash(code), user_id, now=now, audit=audit)
        team = await self.store.team_get(team_id)
        assert team is not None
        return team

    async def request_join(
        self, user_id: uuid.UUID, team: Team, message: str, *, audit: AuditEntry | None = None
    ) -> JoinRequest:
        """Ask to join ``team`` (found with :meth:`resolve`)."""
        return await self.store.join_request_create(team.id, user_id, message.strip(), audit=audit)

    async def decide(
        self,
        principal: Principal,
        request_id: uuid.UUID,
        *,
        accept: bool,
        role: str,
        audit: AuditEntry | None = None,
    ) -> JoinRequest:
        if accept:
            await self._check_assignable(principal, role)
        return await self.store.join_request_decide(
            principal.team_id,
            request_id,
            accept=accept,
            role=role,
            decided_by=_user_id(principal),
            audit=audit,
        )
