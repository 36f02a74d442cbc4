"""Accounts: users, their passwords and access, and their team memberships.

Password hashes come hashed (the caller hashes). Emails are stored lower-cased so
lookups and uniqueness ignore case. API keys, refresh tokens and signing keys have
modules of their own.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from conveyor.errors import Conflict, NotFound
from conveyor.store.queries.api_keys import KEY_COLUMNS
from conveyor.store.queries.refresh_tokens import revoke_user_refresh
from conveyor.store.records import (
    ApiKey,
    Membership,
    Team,
    User,
    UserAccess,
)
from conveyor.store.schema import (
    api_keys,
    team_members,
    team_roles,
    teams,
    users,
)
from conveyor.store.transaction import Tx
from conveyor.store.types import at

_USER_COLUMNS = [users.c[name] for name in User.__slots__]
_TEAM_COLUMNS = [teams.c[name] for name in Team.__slots__]
_MEMBERSHIP_COLUMNS = [
    team_members.c.team_id,
    teams.c.slug,
    teams.c.name,
    team_members.c.role,
    team_roles.c.permissions,
]
_ROLE_OF_MEMBER = sa.and_(  # a custom role's row, joined to a membership
    team_roles.c.team_id == team_members.c.team_id, team_roles.c.name == team_members.c.role
)


def dialect_insert(tx: Tx, table: sa.Table) -> Any:
    """An INSERT that knows ``ON CONFLICT`` on either dialect."""
    return (postgresql.insert if tx.dialect == "postgresql" else sqlite.insert)(table)


def normalize_email(email: str) -> str:
    return email.strip().lower()


# users and teams


def create_user(
    tx: Tx,
    email: str,
    password_hash: str | None,
    *,
    display_name: str = "",
    is_superuser: bool = False,
    team_id: uuid.UUID | None = None,
    role: str | None = None,
) -> User:
    """Insert a user (and their first membership, in the same transaction).

    :class:`Conflict` when the email is taken, whatever its case.
    """
    email = normalize_email(email)
    row = tx.conn.execute(
        dialect_insert(tx, users)
        .values(
            id=uuid.uuid4(),
            email=email,
            display_name=display_name,
            password_hash=password_hash,
            is_superuser=is_superuser,
            created_at=at(tx.now),
        )
        .on_conflict_do_nothing(index_elements=[users.c.email])
        .returning(*_USER_COLUMNS)
    ).first()
    if row is None:
        raise Conflict(f"a user with email {email!r} already exists", email=email)
    user = User(**row._mapping)
    if team_id is not None:
        add_member(tx, team_id, user.id, role or "viewer")
    return user


def user_by_email(tx: Tx, email: str) -> User | None:
    row = tx.conn.execute(
        sa.select(*_USER_COLUMNS).where(users.c.email == normalize_email(email))
    ).first()
    return None if row is None else User(**row._mapping)


def get_user(tx: Tx, user_id: uuid.UUID) -> User | None:
    row = tx.conn.execute(sa.select(*_USER_COLUMNS).where(users.c.id == user_id)).first()
    return None if row is None else User(**row._mapping)


def list_users(tx: Tx) -> list[User]:
    """Every user, by email (operators' lists: there are not many)."""
    rows = tx.conn.execute(sa.select(*_USER_COLUMNS).order_by(users.c.email)).all()
    return [User(**row._mapping) for row in rows]


def user_access(tx: Tx, user_id: uuid.UUID) -> UserAccess | None:
    """The user and their teams in one statement: all a request's authentication needs."""
    rows = tx.conn.execute(_USER_ACCESS, {"user_id": user_id}).all()
    return _access_of(rows)


def api_key_access(tx: Tx, prefix: str) -> tuple[ApiKey, UserAccess | None] | None:
    """The key a presented key names and, for a key a person made, that person with their
    membership of the key's team, in one statement (the caller still compares the hash)."""
    row = tx.conn.execute(_KEY_ACCESS, {"prefix": prefix}).first()
    if row is None:
        return None
    fields = row._mapping
    key = ApiKey(**{name: fields[f"key_{name}"] for name in ApiKey.__slots__})
    return key, _access_of([row])


def _access_query() -> sa.Select[Any]:
    """A user's columns and, per row, one membership (NULLs for a user in no team)."""
    return (
        sa.select(
            *(column.label(f"user_{column.name}") for column in _USER_COLUMNS),
            *(column.label(f"member_{column.name}") for column in _MEMBERSHIP_COLUMNS),
        )
        .select_from(users)
        .outerjoin(team_members, team_members.c.user_id == users.c.id)
        .outerjoin(teams, teams.c.id == team_members.c.team_id)
        .outerjoin(team_roles, _ROLE_OF_MEMBER)
    )


# Built once: every authenticated request runs one of these, and building a select of
# some forty labelled columns cost about as much as running it.
_USER_ACCESS = (
    _access_query()
    .where(users.c.id == sa.bindparam("user_id"))
    .order_by(team_members.c.created_at, teams.c.slug)
)
_KEY_ACCESS = (
    sa.select(
        *(column.label(f"key_{column.name}") for column in KEY_COLUMNS),
        *_access_query().selected_columns,
    )
    .select_from(api_keys)
    .outerjoin(users, users.c.id == api_keys.c.created_by)
    .outerjoin(
        team_members,
        sa.and_(
            team_members.c.user_id == api_keys.c.created_by,
            team_members.c.team_id == api_keys.c.team_id,
        ),
    )
    .outerjoin(teams, teams.c.id == team_members.c.team_id)
    .outerjoin(team_roles, _ROLE_OF_MEMBER)
    .where(api_keys.c.prefix == sa.bindparam("prefix"))
)


def _access_of(rows: Sequence[sa.Row[Any]]) -> UserAccess | None:
    if not rows or rows[0]._mapping["user_id"] is None:
        return None
    first = rows[0]._mapping
    user = User(**{name: first[f"user_{name}"] for name in User.__slots__})
    memberships = [
        Membership(*(row._mapping[f"member_{c.name}"] for c in _MEMBERSHIP_COLUMNS))
        for row in rows
        if row._mapping["member_team_id"] is not None
    ]
    return UserAccess(user, memberships)


def set_password(
    tx: Tx, user_id: uuid.UUID, password_hash: str, *, end_sessions: bool = True
) -> None:
    """Replace the hash; with ``end_sessions`` (a reset) every login of the user ends:
    the credentials epoch moves on, so their access tokens are refused, and their
    refresh tokens are revoked, in this transaction. Without, only the hash changes
    (a rehash at login)."""
    if not end_sessions:
        _update_user(tx, user_id, password_hash=password_hash)
        return
    _end_sessions(tx, user_id, password_hash, keep=None)


def change_password(
    tx: Tx, user_id: uuid.UUID, password_hash: str, keep_family: uuid.UUID | None
) -> None:
    """A user's own password change: every other login ends; ``keep_family`` (the
    session that asked) stays, its access tokens included."""
    _end_sessions(tx, user_id, password_hash, keep=keep_family)


def _end_sessions(
    tx: Tx, user_id: uuid.UUID, password_hash: str, *, keep: uuid.UUID | None
) -> None:
    _update_user(
        tx,
        user_id,
        password_hash=password_hash,
        credentials_epoch=users.c.credentials_epoch + 1,
        credentials_kept_session=keep,
    )
    revoke_user_refresh(tx, user_id, keep_family=keep)


def _update_user(tx: Tx, user_id: uuid.UUID, **values: Any) -> None:
    updated = tx.conn.execute(
        sa.update(users).where(users.c.id == user_id).values(**values).returning(users.c.id)
    ).first()
    if updated is None:
        raise NotFound(f"user {user_id} not found", user_id=str(user_id))


def register_user(
    tx: Tx,
    email: str,
    password_hash: str,
    *,
    team_slug: str,
    team_name: str,
    display_name: str = "",
) -> tuple[User, uuid.UUID]:
    """Self-registration: the user and a team of their own, which they own."""
    team_id = uuid.uuid4()
    tx.conn.execute(
        sa.insert(teams).values(id=team_id, slug=team_slug, name=team_name, created_at=at(tx.now))
    )
    user = create_user(
        tx, email, password_hash, display_name=display_name, team_id=team_id, role="owner"
    )
    return user, team_id


def set_disabled(tx: Tx, user_id: uuid.UUID, disabled: bool) -> None:
    """Disable (or enable) a user; disabling revokes their refresh tokens at once.

    Access tokens and API keys are refused from the next request on: authentication
    reads the user (and a key's creator) every time.
    """
    updated = tx.conn.execute(
        sa.update(users)
        .where(users.c.id == user_id)
        .values(disabled_at=sa.func.coalesce(users.c.disabled_at, at(tx.now)) if disabled else None)
        .returning(users.c.id)
    ).first()
    if updated is None:
        raise NotFound(f"user {user_id} not found", user_id=str(user_id))
    if disabled:
        revoke_user_refresh(tx, user_id)


def get_team(tx: Tx, team_id: uuid.UUID) -> Team | None:
    row = tx.conn.execute(sa.select(*_TEAM_COLUMNS).where(teams.c.id == team_id)).first()
    return None if row is None else Team(**row._mapping)


def add_member(tx: Tx, team_id: uuid.UUID, user_id: uuid.UUID, role: str) -> None:
    """Add a user to a team, or change their role there."""
    statement = dialect_insert(tx, team_members).values(
        team_id=team_id, user_id=user_id, role=role, created_at=at(tx.now)
    )
    tx.conn.execute(
        statement.on_conflict_do_update(
            index_elements=[team_members.c.team_id, team_members.c.user_id],
            set_={"role": statement.excluded.role},
        )
    )


def member_role(tx: Tx, team_id: uuid.UUID, user_id: uuid.UUID) -> str | None:
    role = tx.conn.execute(
        sa.select(team_members.c.role).where(
            team_members.c.team_id == team_id, team_members.c.user_id == user_id
        )
    ).scalar()
    return None if role is None else str(role)


def teams_of_user(tx: Tx, user_id: uuid.UUID) -> list[Membership]:
    """The user's teams, the one they joined first (their default) first."""
    rows = tx.conn.execute(
        sa.select(*_MEMBERSHIP_COLUMNS)
        .join(teams, teams.c.id == team_members.c.team_id)
        .outerjoin(team_roles, _ROLE_OF_MEMBER)
        .where(team_members.c.user_id == user_id)
        .order_by(team_members.c.created_at, teams.c.slug)
    ).all()
    return [Membership(*row) for row in rows]
