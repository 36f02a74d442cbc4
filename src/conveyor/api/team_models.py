"""Request and response bodies of the teams API: teams, members, roles, invitations, requests."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from conveyor import bounds
from conveyor.api.models import TeamOut, _Request
from conveyor.bounds import Name, Opaque, Text
from conveyor.store import team_records


class TeamCreate(_Request):
    slug: Name = Field(min_length=2, max_length=63, description="lower-case letters, digits, '-'")
    name: Name = Field(min_length=1, max_length=bounds.NAME_MAX)


class TeamList(BaseModel):
    items: list[TeamOut]


class MemberOut(BaseModel):
    user_id: uuid.UUID
    email: str
    display_name: str
    role: str
    joined_at: datetime

    @classmethod
    def of(cls, member: team_records.Member) -> MemberOut:
        return cls(
            user_id=member.user_id,
            email=member.email,
            display_name=member.display_name,
            role=member.role,
            joined_at=member.joined_at,
        )


class MemberList(BaseModel):
    items: list[MemberOut]


class MemberPatch(_Request):
    role: Name = Field(min_length=1, max_length=64)


class TransferRequest(_Request):
    user_id: uuid.UUID = Field(description="the member who becomes an owner; you become an admin")


Permission = Annotated[Name, Field(min_length=1, max_length=bounds.NAME_MAX)]


class RoleCreate(_Request):
    name: Name = Field(min_length=1, max_length=64)
    description: Text = Field(default="", max_length=bounds.TEXT_MAX)
    permissions: list[Permission] = Field(max_length=bounds.PERMISSIONS_MAX)


class RolePatch(_Request):
    name: Name | None = Field(default=None, min_length=1, max_length=64)
    description: Text | None = Field(default=None, max_length=bounds.TEXT_MAX)
    permissions: list[Permission] | None = Field(default=None, max_length=bounds.PERMISSIONS_MAX)


class RoleOut(BaseModel):
    """A role; built-in ones have no id and cannot be changed."""

    id: uuid.UUID | None
    name: str
    description: str
    permissions: list[str]
    builtin: bool

    @classmethod
    def of(cls, role: team_records.Role) -> RoleOut:
        return cls(
            id=role.id,
            name=role.name,
            description=role.description,
            permissions=sorted(role.permissions),
            builtin=False,
        )


class RoleList(BaseModel):
    items: list[RoleOut]


class InviteCreate(_Request):
    role: Name = Field(default="viewer", min_length=1, max_length=64)
    max_uses: int | None = Field(
        default=1, ge=1, le=10_000, description="null: any number of uses until it expires"
    )
    expires_in_s: int | None = Field(
        default=None,
        ge=60,
        le=bounds.INVITE_TTL_MAX_S,
        description="default 7 days; 60 s to 90 days",
    )


class InviteOut(BaseModel):
    """An invitation; ``code`` is only in the answer that created it."""

    id: uuid.UUID
    role: str
    max_uses: int | None
    uses: int
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    code: str | None = None

    @classmethod
    def of(cls, invite: team_records.Invite, code: str | None = None) -> InviteOut:
        return cls(
            id=invite.id,
            role=invite.role,
            max_uses=invite.max_uses,
            uses=invite.uses,
            created_at=invite.created_at,
            expires_at=invite.expires_at,
            revoked_at=invite.revoked_at,
            code=code,
        )


class InviteList(BaseModel):
    items: list[InviteOut]


class JoinWithCode(_Request):
    code: Opaque = Field(min_length=1, max_length=200)


class JoinRequestCreate(_Request):
    message: Text = Field(default="", max_length=bounds.TEXT_MAX)


class JoinDecision(_Request):
    role: Name = Field(default="viewer", min_length=1, max_length=64)


class JoinRequestOut(BaseModel):
    id: uuid.UUID
    team_id: uuid.UUID
    user_id: uuid.UUID
    email: str
    message: str
    state: str
    role: str | None
    created_at: datetime
    decided_at: datetime | None

    @classmethod
    def of(cls, found: team_records.JoinRequest) -> JoinRequestOut:
        return cls(
            id=found.id,
            team_id=found.team_id,
            user_id=found.user_id,
            email=found.email,
            message=found.message,
            state=found.state,
            role=found.role,
            created_at=found.created_at,
            decided_at=found.decided_at,
        )


class JoinRequestList(BaseModel):
    items: list[JoinRequestOut]
