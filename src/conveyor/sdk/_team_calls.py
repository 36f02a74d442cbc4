"""The teams API as :class:`~conveyor.sdk._calls.Call` values, shared by both clients."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from conveyor.sdk._calls import Call, JobId, _models, _nothing, seg
from conveyor.sdk.models import Invite, JoinRequest, Member, Role, Team


def teams() -> Call[list[Team]]:
    return Call("GET", "teams", _models(Team))


def create_team(slug: str, name: str) -> Call[Team]:
    return Call("POST", "teams", Team.model_validate, body={"slug": slug, "name": name})


def team(ref: str) -> Call[Team]:
    return Call("GET", f"teams/{seg(ref)}", Team.model_validate)


def join(code: str) -> Call[Team]:
    return Call("POST", "teams/join", Team.model_validate, body={"code": code})


def leave(ref: str) -> Call[None]:
    return Call("POST", f"teams/{seg(ref)}/leave", _nothing)


def transfer(ref: str, user_id: JobId) -> Call[None]:
    return Call("POST", f"teams/{seg(ref)}/transfer", _nothing, body={"user_id": str(user_id)})


def members(ref: str) -> Call[list[Member]]:
    return Call("GET", f"teams/{seg(ref)}/members", _models(Member))


def set_role(ref: str, user_id: JobId, role: str) -> Call[Member]:
    path = f"teams/{seg(ref)}/members/{seg(user_id)}"
    return Call("PATCH", path, Member.model_validate, body={"role": role})


def remove_member(ref: str, user_id: JobId) -> Call[None]:
    return Call("DELETE", f"teams/{seg(ref)}/members/{seg(user_id)}", _nothing)


def invite(ref: str, role: str, max_uses: int | None, expires_in_s: int | None) -> Call[Invite]:
    body: dict[str, Any] = {"role": role, "max_uses": max_uses}
    if expires_in_s is not None:
        body["expires_in_s"] = expires_in_s
    return Call("POST", f"teams/{seg(ref)}/invites", Invite.model_validate, body=body)


def invites(ref: str) -> Call[list[Invite]]:
    return Call("GET", f"teams/{seg(ref)}/invites", _models(Invite))


def revoke_invite(ref: str, invite_id: JobId) -> Call[None]:
    return Call("DELETE", f"teams/{seg(ref)}/invites/{seg(invite_id)}", _nothing)


def request_join(ref: str, message: str) -> Call[JoinRequest]:
    path = f"teams/{seg(ref)}/join-requests"
    return Call("POST", path, JoinRequest.model_validate, body={"message": message})


def join_requests(ref: str) -> Call[list[JoinRequest]]:
    return Call("GET", f"teams/{seg(ref)}/join-requests", _models(JoinRequest))


def decide(ref: str, request_id: JobId, accept: bool, role: str) -> Call[JoinRequest]:
    verb = "accept" if accept else "reject"
    path = f"teams/{seg(ref)}/join-requests/{seg(request_id)}/{verb}"
    return Call("POST", path, JoinRequest.model_validate, body={"role": role} if accept else None)


def roles(ref: str) -> Call[list[Role]]:
    return Call("GET", f"teams/{seg(ref)}/roles", _models(Role))


def create_role(ref: str, name: str, permissions: Iterable[str], description: str) -> Call[Role]:
    body = {"name": name, "permissions": list(permissions), "description": description}
    return Call("POST", f"teams/{seg(ref)}/roles", Role.model_validate, body=body)


def update_role(ref: str, role_id: JobId, *, name: str | None, description: str | None,
                permissions: Iterable[str] | None) -> Call[Role]:  # fmt: skip
    body: dict[str, Any] = {}
    if name is not None:
        body["name"] = name
    if description is not None:
        body["description"] = description
    if permissions is not None:
        body["permissions"] = list(permissions)
    return Call("PATCH", f"teams/{seg(ref)}/roles/{seg(role_id)}", Role.model_validate, body=body)


def delete_role(ref: str, role_id: JobId) -> Call[None]:
    return Call("DELETE", f"teams/{seg(ref)}/roles/{seg(role_id)}", _nothing)
