"""The audit trail of the API: one row per state-changing request by a person or a
client key.

A route declares its audit action with its permission (``require(…,
audit="jobs.cancel")``); authentication then opens an :class:`AuditContext` on
the request. A route that changes state hands :func:`audit_entry` to the store
write that makes the change, so the row commits with it. :class:`AuditTrail`
records what the route did not: a refused or failed request gets a row with its
error code and status, in a write of its own. Agent keys are not audited: agent
traffic is recorded as job attempts.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import Any

import structlog
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conveyor.api.client_addr import client_address
from conveyor.auth.permissions import Principal
from conveyor.store import AuditEntry
from conveyor.store.records import User

log = structlog.get_logger(__name__)

STATE_KEY = "conveyor_audit"
ERROR_CODE_KEY = "conveyor_error_code"
SEPARATE_WRITE = "separate_write"
"""Marks a success row written after the change, not with it (a route's bug)."""
OBJECT_PARAMS = (
    ("key_id", "api_key"),
    ("invite_id", "invite"),
    ("request_id", "join_request"),
    ("role_id", "role"),
    ("user_id", "user"),
    ("agent_id", "agent"),
    ("job_id", "job"),
    ("schedule_id", "schedule"),
    ("queue", "queue"),
)
"""Path parameters that name a request's object, most specific first."""
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass
class AuditContext:
    """One request's audit: its id, action, caller and whether its row was handed out."""

    id: uuid.UUID
    action: str
    client_addr: str | None
    principal: Principal | None
    issued: bool = False
    user: User | None = None
    """A person signed in outside any team (creating or joining one): the actor then."""
    team_id: uuid.UUID | None = None
    """The team a :attr:`user`'s request acts on, once the route knows it."""

    object_type: str | None = None
    object_id: str | None = None
    status: int = 200

    def entry(self) -> AuditEntry:
        """The row as far as the request tells: its route adds what the change made."""
        principal, user = self.principal, self.user
        if principal is None and user is not None:
            return AuditEntry(
                self.id, self.team_id, "user", user.id, user.email, self.action,
                self.client_addr, self.object_type, self.object_id, status=self.status,
            )  # fmt: skip
        if principal is None:
            return AuditEntry(
                self.id, None, "anonymous", None, "", self.action, self.client_addr,
                status=self.status,
            )  # fmt: skip
        return AuditEntry(
            id=self.id,
            team_id=principal.team_id,
            actor_kind=principal.kind,
            actor_id=principal.user_id or principal.key_id,
            actor_display=principal.email or principal.key_name or "",
            action=self.action,
            client_addr=self.client_addr,
            object_type=self.object_type,
            object_id=self.object_id,
            status=self.status,
        )


def open_audit(
    conn: HTTPConnection,
    action: str,
    principal: Principal | None,
    trusted_proxies: str,
    *,
    user: User | None = None,
) -> None:
    """Start the request's audit (not for agent keys: agent traffic is not audited).

    ``user`` is the actor of a request made outside any team (``principal`` None);
    its route names the team it acts on with :func:`audit_team`.
    """
    if principal is not None and principal.kind == "agent_key":
        return
    context = AuditContext(
        uuid.uuid4(), action, client_address(conn, trusted_proxies), principal, user=user
    )
    # A success is recorded before the answer is made: with the route's declared status.
    context.status = getattr(conn.scope.get("route"), "status_code", None) or 200
    for param, object_type in OBJECT_PARAMS:  # a refused request still names its object
        value = conn.path_params.get(param)
        if value is not None:
            context.object_type, context.object_id = object_type, str(value)[:255]
            break
    setattr(conn.state, STATE_KEY, context)


def audit_entry(
    conn: HTTPConnection, object_type: str | None = None, object_id: object = None, **details: Any
) -> AuditEntry | None:
    """The row for this request's change, for the store write that makes it.

    None when the request is not audited (an agent key). Call it once per request,
    for the write that makes the change.
    """
    ctx: AuditContext | None = getattr(conn.state, STATE_KEY, None)
    if ctx is None:
        return None
    ctx.issued = True
    entry = ctx.entry()
    return entry.about(object_type, object_id, **details) if object_type else entry


def audit_team(conn: HTTPConnection, team_id: uuid.UUID | None) -> None:
    """Name the team a signed-in person's request acts on (its row, success or refusal, is there)."""
    ctx: AuditContext | None = getattr(conn.state, STATE_KEY, None)
    if ctx is not None and ctx.principal is None:
        ctx.team_id = team_id


async def record_request(
    conn: HTTPConnection, object_type: str | None = None, object_id: object = None, **details: Any
) -> None:
    """Write the row of a request that changes nothing but the log (issuing a signed URL)."""
    entry = audit_entry(conn, object_type, object_id, **details)
    if entry is not None:
        await conn.app.state.services.store.audit_record(entry)


def note_error(conn: HTTPConnection, code: str) -> None:
    """The error handlers say which error code the request ended with."""
    setattr(conn.state, ERROR_CODE_KEY, code)


class AuditTrail:
    """Records the requests their routes did not: refusals and failures."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in MUTATING:
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})
        status = 500  # what the client gets if the app raises before answering
        # A refusal is answered only once its row is written, so a client that reads
        # the audit log after its 4xx finds it there. (Error bodies are small.)
        held: list[Message] = []

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            if status >= 400:
                held.append(message)
            else:
                await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            await self._settle(scope, state, status)
            for message in held:
                await send(message)

    async def _settle(self, scope: Scope, state: dict[str, Any], status: int) -> None:
        ctx: AuditContext | None = state.get(STATE_KEY)
        if ctx is None or (ctx.principal is None and ctx.user is None):
            return  # not audited, or nobody to attribute the refusal to
        entry = ctx.entry()
        if status < 400:
            if ctx.issued:
                return  # written with the change
            log.error("audit: a route changed state without an audit entry", action=ctx.action)
            entry = replace(entry, details={SEPARATE_WRITE: True})
        else:
            entry = entry.failed(state.get(ERROR_CODE_KEY) or f"http_{status}", status)
        try:
            await scope["app"].state.services.store.audit_record(entry)
        except Exception:
            log.exception("audit: could not record a request", action=ctx.action, status=status)
