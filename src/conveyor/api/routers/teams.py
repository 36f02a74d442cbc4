"""Teams: create and list yours, members and their roles, invitations, requests to join.

Routes under ``/teams/{team}`` work in the team the path names (id or slug); to
someone who is not a member it answers 404, as if it did not exist. Every change is
audited in the team it changes, with its actor: a person creating, joining or asking
to join a team is recorded in that team.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, status

from conveyor.api.audit import audit_entry, audit_team
from conveyor.api.deps import require_team, services, signed_in
from conveyor.api.errors import responses
from conveyor.api.models import TeamOut
from conveyor.api.team_models import (
    InviteCreate,
    InviteList,
    InviteOut,
    JoinDecision,
    JoinRequestCreate,
    JoinRequestList,
    JoinRequestOut,
    JoinWithCode,
    MemberList,
    MemberOut,
    MemberPatch,
    TeamCreate,
    TeamList,
    TransferRequest,
)
from conveyor.auth.permissions import (
    MEMBERS_MANAGE,
    MEMBERS_READ,
    TEAM_MANAGE,
    Principal,
    held_permissions,
    role_permissions,
)
from conveyor.store.records import Membership, User

router = APIRouter(prefix="/api/v1/teams", tags=["teams"])

TeamRef = Annotated[str, Path(min_length=1, max_length=100, description="team id or slug")]
Member = Annotated[Principal, require_team(None)]
ReadMembers = Annotated[Principal, require_team(MEMBERS_READ)]
ManageMembers = Annotated[Principal, require_team(MEMBERS_MANAGE)]
SignedIn = Annotated[User, signed_in()]


def manage_members(audit: str) -> Any:
    """``members:manage`` in the path's team, for a change audited as ``audit``."""
    return require_team(MEMBERS_MANAGE, audit=audit)


def team_out(membership: Membership, *, superuser: bool = False) -> TeamOut:
    """A team as its member sees it, with what they may do there."""
    held = held_permissions(membership.role, membership.role_permissions)
    if superuser:
        held |= role_permissions("owner")
    return TeamOut(
        id=membership.team_id,
        slug=membership.slug,
        name=membership.name,
        role=membership.role,
        permissions=sorted(held),
    )


async def _mine(request: Request, user: User, team_id: uuid.UUID) -> TeamOut:
    for membership in await services(request).store.teams_of_user(user.id):
        if membership.team_id == team_id:
            return team_out(membership, superuser=user.is_superuser)
    found = await services(request).teams.resolve(str(team_id))  # a superuser's visit
    return TeamOut(
        id=found.id,
        slug=found.slug,
        name=found.name,
        role=None,
        permissions=sorted(role_permissions("owner")),
    )


@router.post(
    "",
    operation_id="teams_create",
    status_code=status.HTTP_201_CREATED,
    responses=responses(401, 403, 409, 413, 422),
    summary="Create a team (you become its owner)",
)
async def create_team(
    body: TeamCreate,
    request: Request,
    user: Annotated[User, signed_in(audit="teams.create")],
) -> TeamOut:
    team = await services(request).teams.create_team(
        user.id, body.slug, body.name, audit=audit_entry(request)
    )
    return await _mine(request, user, team.id)


@router.get("", operation_id="teams_list", responses=responses(401, 403), summary="List your teams")
async def list_teams(request: Request, user: SignedIn) -> TeamList:
    """Your teams, your default (the one you joined first) first."""
    memberships = await services(request).store.teams_of_user(user.id)
    return TeamList(items=[team_out(m, superuser=user.is_superuser) for m in memberships])


@router.post(
    "/join",
    operation_id="teams_join",
    responses=responses(401, 403, 404, 409, 413, 422),
    summary="Join a team with an invitation code",
)
async def join_team(
    body: JoinWithCode, request: Request, user: Annotated[User, signed_in(audit="teams.join")]
) -> TeamOut:
    """Audited in the team joined (a refused code has no team: its row has none)."""
    team = await services(request).teams.join(user.id, body.code, audit=audit_entry(request))
    return await _mine(request, user, team.id)


@router.get(
    "/{team}",
    operation_id="teams_read",
    responses=responses(401, 403, 404, 422),
    summary="Get a team of yours",
)
async def get_team(team: TeamRef, request: Request, principal: Member) -> TeamOut:
    found = await services(request).teams.resolve(str(principal.team_id))
    role = None
    if principal.user_id is not None:
        role = await services(request).store.member_role(principal.team_id, principal.user_id)
    return TeamOut(
        id=found.id,
        slug=found.slug,
        name=found.name,
        role=role,
        permissions=sorted(principal.permissions),
    )


# members


@router.get(
    "/{team}/members",
    operation_id="teams_members_list",
    responses=responses(401, 403, 404, 422),
    summary="List members",
)
async def list_members(team: TeamRef, request: Request, principal: ReadMembers) -> MemberList:
    members = await services(request).store.member_list(principal.team_id)
    return MemberList(items=[MemberOut.of(m) for m in members])


@router.patch(
    "/{team}/members/{user_id}",
    operation_id="teams_members_update",
    responses=responses(401, 403, 404, 409, 413, 422),
    summary="Change a member's role",
)
async def change_role(
    team: TeamRef,
    user_id: uuid.UUID,
    body: MemberPatch,
    request: Request,
    principal: Annotated[Principal, manage_members("teams.member_role")],
) -> MemberOut:
    """Nobody grants a role that may do more than they may; owners change owners."""
    entry = audit_entry(request, "user", user_id, role=body.role)
    return MemberOut.of(
        await services(request).teams.set_role(principal, user_id, body.role, audit=entry)
    )


@router.delete(
    "/{team}/members/{user_id}",
    operation_id="teams_members_remove",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(401, 403, 404, 409, 422),
    summary="Remove a member",
)
async def remove_member(
    team: TeamRef,
    user_id: uuid.UUID,
    request: Request,
    principal: Annotated[Principal, manage_members("teams.member_remove")],
) -> None:
    await services(request).teams.remove(
        principal, user_id, audit=audit_entry(request, "user", user_id)
    )


@router.post(
    "/{team}/leave",
    operation_id="teams_leave",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(401, 403, 404, 409, 422),
    summary="Leave a team (the last owner cannot)",
)
async def leave_team(
    team: TeamRef,
    request: Request,
    principal: Annotated[Principal, require_team(None, audit="teams.leave")],
) -> None:
    entry = audit_entry(request, "user", principal.user_id)
    await services(request).teams.leave(principal, audit=entry)


@router.post(
    "/{team}/transfer",
    operation_id="teams_transfer",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(401, 403, 404, 413, 422),
    summary="Transfer ownership: the member becomes an owner, you an admin",
)
async def transfer_ownership(
    team: TeamRef,
    body: TransferRequest,
    request: Request,
    principal: Annotated[Principal, require_team(TEAM_MANAGE, audit="teams.transfer")],
) -> None:
    entry = audit_entry(request, "user", body.user_id)
    await services(request).teams.transfer(principal, body.user_id, audit=entry)


# invitations


@router.post(
    "/{team}/invites",
    operation_id="teams_invites_create",
    status_code=status.HTTP_201_CREATED,
    responses=responses(401, 403, 404, 413, 422),
    summary="Invite: a code (shown once) to join with a role",
)
async def create_invite(
    team: TeamRef,
    body: InviteCreate,
    request: Request,
    principal: Annotated[Principal, manage_members("teams.invite")],
) -> InviteOut:
    invite, code = await services(request).teams.invite(
        principal,
        role=body.role,
        max_uses=body.max_uses,
        expires_in_s=body.expires_in_s,
        audit=audit_entry(request),
    )
    return InviteOut.of(invite, code)


@router.get(
    "/{team}/invites",
    operation_id="teams_invites_list",
    responses=responses(401, 403, 404, 422),
    summary="List invitations",
)
async def list_invites(team: TeamRef, request: Request, principal: ManageMembers) -> InviteList:
    invites = await services(request).store.invite_list(principal.team_id)
    return InviteList(items=[InviteOut.of(i) for i in invites])


@router.delete(
    "/{team}/invites/{invite_id}",
    operation_id="teams_invites_revoke",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(401, 403, 404, 422),
    summary="Revoke an invitation",
)
async def revoke_invite(
    team: TeamRef,
    invite_id: uuid.UUID,
    request: Request,
    principal: Annotated[Principal, manage_members("teams.invite_revoke")],
) -> None:
    entry = audit_entry(request, "invite", invite_id)
    await services(request).store.invite_revoke(principal.team_id, invite_id, audit=entry)


# requests to join


@router.post(
    "/{team}/join-requests",
    operation_id="teams_join_requests_create",
    status_code=status.HTTP_201_CREATED,
    responses=responses(401, 403, 404, 409, 413, 422),
    summary="Ask to join a team (its admins accept or reject)",
)
async def request_join(
    team: TeamRef,
    body: JoinRequestCreate,
    request: Request,
    user: Annotated[User, signed_in(audit="teams.join_request")],
) -> JoinRequestOut:
    """Open to anyone signed in who knows the team's slug or id: that is its purpose.

    Audited in the team asked (an unknown team has no log to write to)."""
    teams = services(request).teams
    found = await teams.resolve(team)
    audit_team(request, found.id)
    asked = await teams.request_join(user.id, found, body.message, audit=audit_entry(request))
    return JoinRequestOut.of(asked)


@router.get(
    "/{team}/join-requests",
    operation_id="teams_join_requests_list",
    responses=responses(401, 403, 404, 422),
    summary="Open requests",
)
async def list_join_requests(
    team: TeamRef, request: Request, principal: ManageMembers
) -> JoinRequestList:
    found = await services(request).store.join_request_list(principal.team_id)
    return JoinRequestList(items=[JoinRequestOut.of(r) for r in found])


@router.post(
    "/{team}/join-requests/{request_id}/accept",
    operation_id="teams_join_requests_accept",
    responses=responses(401, 403, 404, 409, 413, 422),
    summary="Accept a request: the user joins with the role given",
)
async def accept_join_request(
    team: TeamRef,
    request_id: uuid.UUID,
    request: Request,
    principal: Annotated[Principal, manage_members("teams.join_accept")],
    body: JoinDecision | None = None,
) -> JoinRequestOut:
    role = (body or JoinDecision()).role
    entry = audit_entry(request, "join_request", request_id, role=role)
    decided = await services(request).teams.decide(
        principal, request_id, accept=True, role=role, audit=entry
    )
    return JoinRequestOut.of(decided)


@router.post(
    "/{team}/join-requests/{request_id}/reject",
    operation_id="teams_join_requests_reject",
    responses=responses(401, 403, 404, 409, 422),
    summary="Reject a request",
)
async def reject_join_request(
    team: TeamRef,
    request_id: uuid.UUID,
    request: Request,
    principal: Annotated[Principal, manage_members("teams.join_reject")],
) -> JoinRequestOut:
    decided = await services(request).teams.decide(
        principal,
        request_id,
        accept=False,
        role="viewer",
        audit=audit_entry(request, "join_request", request_id),
    )
    return JoinRequestOut.of(decided)
