"""What the store hands back about teams: members, custom roles, invitations, join requests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

JoinRequestState = Literal["pending", "accepted", "rejected"]

OWNER = "owner"
BUILTIN_ROLE_NAMES = (OWNER, "admin", "operator", "viewer")
"""The built-in roles every team has (their grants live in ``conveyor.auth.permissions``)."""


@dataclass(frozen=True, slots=True)
class Member:
    """A user in a team, with the role they hold there."""

    user_id: uuid.UUID
    email: str
    display_name: str
    role: str
    joined_at: datetime


@dataclass(frozen=True, slots=True)
class Role:
    """A team's custom role: a name and the permissions it grants."""

    id: uuid.UUID
    team_id: uuid.UUID
    name: str
    description: str
    permissions: list[str]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Invite:
    """An invitation to a team; its code is never stored, only its hash."""

    id: uuid.UUID
    team_id: uuid.UUID
    role: str
    max_uses: int | None  # None: any number of uses until it expires
    uses: int
    created_by: uuid.UUID | None
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class JoinRequest:
    """A user's request to join a team, and how the team's admins decided it."""

    id: uuid.UUID
    team_id: uuid.UUID
    user_id: uuid.UUID
    email: str
    message: str
    state: JoinRequestState
    role: str | None
    decided_by: uuid.UUID | None
    decided_at: datetime | None
    created_at: datetime
