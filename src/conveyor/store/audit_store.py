"""Store methods for the audit log, login rate limits and self-service accounts.

A mixin of :class:`~conveyor.store.store.Store`, kept apart so the store module
stays one screenful per concern.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime

from conveyor.store.database import Database
from conveyor.store.queries import accounts, audit, throttle
from conveyor.store.queries.audit import AuditEntry, AuditFilter, audited
from conveyor.store.queries.forget import forgetting
from conveyor.store.read_cache import ACCESS
from conveyor.store.records import AuditPage, User


class AccountsAndAudit:
    db: Database

    # audit log

    async def audit_record(self, entry: AuditEntry, *, now: datetime | None = None) -> None:
        """Write one audit row on its own: a refused request, or one that changed nothing
        else (its request id is written once, whatever happens)."""
        await self.db.write(audit.record, now, entry)

    async def audit_list(
        self,
        team_id: uuid.UUID,
        where: AuditFilter | None = None,
        *,
        limit: int = 50,
        cursor: int | None = None,
    ) -> AuditPage:
        """The team's audit rows, newest first; ``cursor`` is the previous ``next_cursor``."""
        return await self.db.read(
            audit.list_events, None, team_id, where or AuditFilter(), limit=limit, cursor=cursor
        )

    # login rate limits

    async def login_retry_after(
        self, limits: list[throttle.Limit], *, now: datetime | None = None
    ) -> float | None:
        """Seconds until a login may be tried again, when one of ``limits`` is reached."""
        return await self.db.read(throttle.retry_after, now, limits)

    async def login_failed(
        self, limits: list[throttle.Limit], *, now: datetime | None = None
    ) -> None:
        await self.db.write(throttle.record_failure, now, limits)

    async def login_succeeded(self, key: str) -> None:
        await self.db.write(throttle.clear, None, key)

    async def login_throttle_prune(
        self, older_than_s: float = 86_400.0, *, now: datetime | None = None
    ) -> int:
        """Delete failed-login counters whose windows ended long ago; returns how many."""
        return await self.db.write(throttle.prune, now, older_than_s)

    # accounts

    async def user_list(self) -> list[User]:
        return await self.db.read(accounts.list_users, None)

    async def user_register(
        self,
        email: str,
        password_hash: str,
        *,
        team_slug: str,
        team_name: str,
        display_name: str = "",
        audit: AuditEntry | None = None,
    ) -> tuple[User, uuid.UUID]:
        """A new user owning a new team (returned with its id) (:class:`Conflict` when the email is taken)."""
        op = forgetting(ACCESS, audited(accounts.register_user, audit, _about_new_user))
        return await self.db.write(
            op, None, email, password_hash, team_slug=team_slug, team_name=team_name,
            display_name=display_name,
        )  # fmt: skip

    async def user_change_password(
        self,
        user_id: uuid.UUID,
        password_hash: str,
        *,
        keep_family: uuid.UUID | None,
        audit: AuditEntry | None = None,
    ) -> None:
        """Set the user's password and end every login but ``keep_family``."""
        op = forgetting(ACCESS, audited(accounts.change_password, audit))
        await self.db.write(op, None, user_id, password_hash, keep_family)


def _about_new_user(entry: AuditEntry, registered: tuple[User, uuid.UUID]) -> AuditEntry:
    """A registration's row: the new user is the actor and the object, in their new team."""
    user, team_id = registered
    return replace(
        entry.about("user", user.id), actor_id=user.id, actor_display=user.email, team_id=team_id
    )
