"""Teams: creation, members and their roles, custom roles, invitations, join requests.

Every statement on team-owned rows is scoped by ``team_id``. Changes to a team's
owners lock the team's row first (PostgreSQL; SQLite has one writer), so two
concurrent demotions cannot both pass the "one owner remains" check.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa

from conveyor.errors import Conflict, InvalidInput, NotFound
from conveyor.store.queries.accounts import add_member, dialect_insert, member_role
from conveyor.store.records import Team
from conveyor.store.schema import (
    team_invites,
    team_join_requests,
    team_members,
    team_roles,
    teams,
    users,
)
from conveyor.store.team_records import BUILTIN_ROLE_NAMES, OWNER, Invite, JoinRequest, Member, Role
from conveyor.store.transaction import Tx
from conveyor.store.types import at

_ROLE_COLUMNS = [team_roles.c[name] for name in Role.__slots__]
_INVITE_COLUMNS = [team_invites.c[name] for name in Invite.__slots__]
_MEMBER_COLUMNS = [
    team_members.c.user_id,
    users.c.email,
    users.c.display_name,
    team_members.c.role,
    team_members.c.created_at.label("joined_at"),
]
_REQUEST_COLUMNS = [
    *(team_join_requests.c[name] for name in JoinRequest.__slots__ if name != "email"),
    users.c.email,
]


# teams


def create_team(tx: Tx, slug: str, name: str, owner_id: uuid.UUID) -> Team:
    """A new team with ``owner_id`` as its owner; :class:`Conflict` when the slug is taken."""
    row = tx.conn.execute(
        dialect_insert(tx, teams)
        .values(id=uuid.uuid4(), slug=slug, name=name, created_at=at(tx.now))
        .on_conflict_do_nothing(index_elements=[teams.c.slug])
        .returning(teams.c.id, teams.c.slug, teams.c.name, teams.c.created_at)
    ).first()
    if row is None:
        raise Conflict(f"the team slug {slug!r} is taken", slug=slug)
    add_member(tx, row.id, owner_id, OWNER)
    return Team(**row._mapping)


def _lock_team(tx: Tx, team_id: uuid.UUID) -> None:
    found = tx.conn.execute(
        sa.select(teams.c.id).where(teams.c.id == team_id).with_for_update()
    ).first()
    if found is None:
        raise NotFound(f"team {team_id} not found", team_id=str(team_id))


# members


def list_members(tx: Tx, team_id: uuid.UUID) -> list[Member]:
    rows = tx.conn.execute(
        sa.select(*_MEMBER_COLUMNS)
        .join(users, users.c.id == team_members.c.user_id)
        .where(team_members.c.team_id == team_id)
        .order_by(team_members.c.created_at, users.c.email)
    ).all()
    return [Member(**row._mapping) for row in rows]


def _role_of(tx: Tx, team_id: uuid.UUID, user_id: uuid.UUID) -> str:
    role = member_role(tx, team_id, user_id)
    if role is None:
        raise NotFound(f"user {user_id} is not a member of this team", user_id=str(user_id))
    return role


def _owner_count(tx: Tx, team_id: uuid.UUID) -> int:
    return int(
        tx.conn.execute(
            sa.select(sa.func.count())
            .select_from(team_members)
            .where(team_members.c.team_id == team_id, team_members.c.role == OWNER)
        ).scalar_one()
    )


def _keep_an_owner(tx: Tx, team_id: uuid.UUID, user_id: uuid.UUID, what: str) -> None:
    if _role_of(tx, team_id, user_id) == OWNER and _owner_count(tx, team_id) == 1:
        raise Conflict(
            f"the last owner cannot {what}: transfer ownership or make another owner first",
            user_id=str(user_id),
        )


def set_member_role(tx: Tx, team_id: uuid.UUID, user_id: uuid.UUID, role: str) -> Member:
    """Change a member's role; the last owner cannot be demoted (:class:`Conflict`)."""
    _lock_team(tx, team_id)
    _check_role_exists(tx, team_id, role)
    if role != OWNER:
        _keep_an_owner(tx, team_id, user_id, "give up the owner role")
    else:
        _role_of(tx, team_id, user_id)
    tx.conn.execute(
        sa.update(team_members)
        .where(team_members.c.team_id == team_id, team_members.c.user_id == user_id)
        .values(role=role)
    )
    return _member(tx, team_id, user_id)


def _member(tx: Tx, team_id: uuid.UUID, user_id: uuid.UUID) -> Member:
    row = tx.conn.execute(
        sa.select(*_MEMBER_COLUMNS)
        .join(users, users.c.id == team_members.c.user_id)
        .where(team_members.c.team_id == team_id, team_members.c.user_id == user_id)
    ).first()
    if row is None:
        raise NotFound(f"user {user_id} is not a member of this team", user_id=str(user_id))
    return Member(**row._mapping)


def get_member(tx: Tx, team_id: uuid.UUID, user_id: uuid.UUID) -> Member:
    return _member(tx, team_id, user_id)


def remove_member(tx: Tx, team_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """Remove a member (or leave); the last owner cannot go (:class:`Conflict`)."""
    _lock_team(tx, team_id)
    _keep_an_owner(tx, team_id, user_id, "leave the team")
    tx.conn.execute(
        sa.delete(team_members).where(
            team_members.c.team_id == team_id, team_members.c.user_id == user_id
        )
    )


def transfer_ownership(
    tx: Tx, team_id: uuid.UUID, from_user: uuid.UUID, to_user: uuid.UUID, demote_to: str
) -> None:
    """``to_user`` (a member) becomes an owner; ``from_user`` steps down to ``demote_to``."""
    _lock_team(tx, team_id)
    if from_user == to_user:
        raise InvalidInput("you already own this team", field="user_id")
    _role_of(tx, team_id, to_user)
    tx.conn.execute(
        sa.update(team_members)
        .where(team_members.c.team_id == team_id, team_members.c.user_id == to_user)
        .values(role=OWNER)
    )
    tx.conn.execute(
        sa.update(team_members)
        .where(team_members.c.team_id == team_id, team_members.c.user_id == from_user)
        .values(role=demote_to)
    )


# custom roles


def _check_role_exists(tx: Tx, team_id: uuid.UUID, role: str) -> None:
    if role in BUILTIN_ROLE_NAMES:
        return
    if get_role_by_name(tx, team_id, role) is None:
        raise InvalidInput(f"this team has no role {role[:64]!r}", field="role")


def get_role_by_name(tx: Tx, team_id: uuid.UUID, name: str) -> Role | None:
    row = tx.conn.execute(
        sa.select(*_ROLE_COLUMNS).where(team_roles.c.team_id == team_id, team_roles.c.name == name)
    ).first()
    return None if row is None else Role(**row._mapping)


def get_role(tx: Tx, team_id: uuid.UUID, role_id: uuid.UUID) -> Role:
    row = tx.conn.execute(
        sa.select(*_ROLE_COLUMNS).where(team_roles.c.team_id == team_id, team_roles.c.id == role_id)
    ).first()
    if row is None:
        raise NotFound(f"role {role_id} not found", role_id=str(role_id))
    return Role(**row._mapping)


def list_roles(tx: Tx, team_id: uuid.UUID) -> list[Role]:
    rows = tx.conn.execute(
        sa.select(*_ROLE_COLUMNS).where(team_roles.c.team_id == team_id).order_by(team_roles.c.name)
    ).all()
    return [Role(**row._mapping) for row in rows]


def create_role(
    tx: Tx, team_id: uuid.UUID, name: str, description: str, permissions: list[str]
) -> Role:
    """:class:`Conflict` when the team already has a role of this name."""
    now = at(tx.now)
    row = tx.conn.execute(
        dialect_insert(tx, team_roles)
        .values(
            id=uuid.uuid4(),
            team_id=team_id,
            name=name,
            description=description,
            permissions=permissions,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=[team_roles.c.team_id, team_roles.c.name])
        .returning(*_ROLE_COLUMNS)
    ).first()
    if row is None:
        raise Conflict(f"this team already has a role named {name!r}", name=name)
    return Role(**row._mapping)


def update_role(
    tx: Tx,
    team_id: uuid.UUID,
    role_id: uuid.UUID,
    *,
    name: str | None,
    description: str | None,
    permissions: list[str] | None,
) -> Role:
    """Change a role; a new name follows to every member holding it, in this transaction."""
    old = get_role(tx, team_id, role_id)
    values: dict[str, object] = {"updated_at": at(tx.now)}
    if description is not None:
        values["description"] = description
    if permissions is not None:
        values["permissions"] = permissions
    if name is not None and name != old.name:
        if get_role_by_name(tx, team_id, name) is not None:
            raise Conflict(f"this team already has a role named {name!r}", name=name)
        values["name"] = name
        tx.conn.execute(
            sa.update(team_members)
            .where(team_members.c.team_id == team_id, team_members.c.role == old.name)
            .values(role=name)
        )
    tx.conn.execute(
        sa.update(team_roles)
        .where(team_roles.c.team_id == team_id, team_roles.c.id == role_id)
        .values(**values)
    )
    return get_role(tx, team_id, role_id)


def delete_role(tx: Tx, team_id: uuid.UUID, role_id: uuid.UUID) -> None:
    """Delete a role no member holds (:class:`Conflict` otherwise); its open invites die too."""
    role = get_role(tx, team_id, role_id)
    holders = tx.conn.execute(
        sa.select(sa.func.count())
        .select_from(team_members)
        .where(team_members.c.team_id == team_id, team_members.c.role == role.name)
    ).scalar_one()
    if holders:
        raise Conflict(
            f"{holders} member(s) hold the role {role.name!r}: give them another role first",
            members=int(holders),
        )
    tx.conn.execute(
        sa.update(team_invites)
        .where(
            team_invites.c.team_id == team_id,
            team_invites.c.role == role.name,
            team_invites.c.revoked_at.is_(None),
        )
        .values(revoked_at=at(tx.now))
    )
    tx.conn.execute(
        sa.delete(team_roles).where(team_roles.c.team_id == team_id, team_roles.c.id == role_id)
    )


# invitations


def create_invite(
    tx: Tx,
    team_id: uuid.UUID,
    *,
    code_hash: str,
    role: str,
    max_uses: int | None,
    expires_at: datetime,
    created_by: uuid.UUID | None,
) -> Invite:
    _check_role_exists(tx, team_id, role)
    row = tx.conn.execute(
        sa.insert(team_invites)
        .values(
            id=uuid.uuid4(),
            team_id=team_id,
            code_hash=code_hash,
            role=role,
            max_uses=max_uses,
            created_by=created_by,
            created_at=at(tx.now),
            expires_at=expires_at,
        )
        .returning(*_INVITE_COLUMNS)
    ).one()
    return Invite(**row._mapping)


def list_invites(tx: Tx, team_id: uuid.UUID) -> list[Invite]:
    rows = tx.conn.execute(
        sa.select(*_INVITE_COLUMNS)
        .where(team_invites.c.team_id == team_id)
        .order_by(team_invites.c.created_at, team_invites.c.id)
    ).all()
    return [Invite(**row._mapping) for row in rows]


def revoke_invite(tx: Tx, team_id: uuid.UUID, invite_id: uuid.UUID) -> None:
    row = tx.conn.execute(
        sa.update(team_invites)
        .where(team_invites.c.team_id == team_id, team_invites.c.id == invite_id)
        .values(revoked_at=sa.func.coalesce(team_invites.c.revoked_at, at(tx.now)))
        .returning(team_invites.c.id)
    ).first()
    if row is None:
        raise NotFound(f"invitation {invite_id} not found", invite_id=str(invite_id))


def redeem_invite(tx: Tx, code_hash: str, user_id: uuid.UUID) -> tuple[uuid.UUID, str]:
    """Join the team an invitation names, with its role; one use is spent atomically.

    :class:`NotFound` for an unknown, used up, expired or revoked code (one answer for
    all, so codes cannot be probed); :class:`Conflict` when already a member (no use spent).
    """
    invite = tx.conn.execute(
        sa.select(team_invites.c.team_id, team_invites.c.role).where(
            team_invites.c.code_hash == code_hash
        )
    ).first()
    if invite is not None and _is_member(tx, invite.team_id, user_id):
        raise Conflict("you are already a member of this team", team_id=str(invite.team_id))
    now = at(tx.now)
    spent = tx.conn.execute(
        sa.update(team_invites)
        .where(
            team_invites.c.code_hash == code_hash,
            team_invites.c.revoked_at.is_(None),
            team_invites.c.expires_at > now,
            sa.or_(
                team_invites.c.max_uses.is_(None), team_invites.c.uses < team_invites.c.max_uses
            ),
        )
        .values(uses=team_invites.c.uses + 1)
        .returning(team_invites.c.team_id, team_invites.c.role)
    ).first()
    if spent is None:
        raise NotFound("this invitation code is unknown, used up, expired or revoked")
    _check_role_exists(tx, spent.team_id, spent.role)
    add_member(tx, spent.team_id, user_id, spent.role)
    return spent.team_id, str(spent.role)


def _is_member(tx: Tx, team_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    return member_role(tx, team_id, user_id) is not None


# join requests


def _request_query() -> sa.Select[tuple[object, ...]]:
    return sa.select(*_REQUEST_COLUMNS).join(users, users.c.id == team_join_requests.c.user_id)


def _request(tx: Tx, team_id: uuid.UUID, request_id: uuid.UUID) -> JoinRequest:
    row = tx.conn.execute(
        _request_query().where(
            team_join_requests.c.team_id == team_id, team_join_requests.c.id == request_id
        )
    ).first()
    if row is None:
        raise NotFound(f"join request {request_id} not found", request_id=str(request_id))
    return JoinRequest(**row._mapping)


def create_join_request(
    tx: Tx, team_id: uuid.UUID, user_id: uuid.UUID, message: str
) -> JoinRequest:
    """:class:`Conflict` for a member, or a user whose earlier request is still open."""
    if _is_member(tx, team_id, user_id):
        raise Conflict("you are already a member of this team", team_id=str(team_id))
    request_id = uuid.uuid4()
    inserted = tx.conn.execute(
        dialect_insert(tx, team_join_requests)
        .values(
            id=request_id,
            team_id=team_id,
            user_id=user_id,
            message=message,
            state="pending",
            created_at=at(tx.now),
        )
        .on_conflict_do_nothing(
            index_elements=[team_join_requests.c.team_id, team_join_requests.c.user_id],
            index_where=team_join_requests.c.state == "pending",
        )
        .returning(team_join_requests.c.id)
    ).first()
    if inserted is None:
        raise Conflict("you already asked to join this team: wait for its admins to decide")
    return _request(tx, team_id, request_id)


def list_join_requests(
    tx: Tx, team_id: uuid.UUID, state: str | None = "pending"
) -> list[JoinRequest]:
    query = _request_query().where(team_join_requests.c.team_id == team_id)
    if state is not None:
        query = query.where(team_join_requests.c.state == state)
    rows = tx.conn.execute(
        query.order_by(team_join_requests.c.created_at, team_join_requests.c.id)
    ).all()
    return [JoinRequest(**row._mapping) for row in rows]


def decide_join_request(
    tx: Tx,
    team_id: uuid.UUID,
    request_id: uuid.UUID,
    *,
    accept: bool,
    role: str,
    decided_by: uuid.UUID,
) -> JoinRequest:
    """Accept (the user joins with ``role``) or reject an open request; decided ones: Conflict."""
    if accept:
        _check_role_exists(tx, team_id, role)
    decided = tx.conn.execute(
        sa.update(team_join_requests)
        .where(
            team_join_requests.c.team_id == team_id,
            team_join_requests.c.id == request_id,
            team_join_requests.c.state == "pending",
        )
        .values(
            state="accepted" if accept else "rejected",
            role=role if accept else None,
            decided_by=decided_by,
            decided_at=at(tx.now),
        )
        .returning(team_join_requests.c.user_id)
    ).first()
    if decided is None:
        found = _request(tx, team_id, request_id)  # NotFound when it is not this team's
        raise Conflict(f"this request was already {found.state}", state=found.state)
    if accept:
        add_member(tx, team_id, decided.user_id, role)
    return _request(tx, team_id, request_id)
