"""Permissions (``resource:verb``), the built-in roles, and who is asking (:class:`Principal`).

Submitting a job needs ``jobs:create:<action>``; plain ``jobs:create`` grants it for
every action except the ad-hoc ``shell`` action, which runs arbitrary commands and
needs ``jobs:create:shell`` itself. Agent keys carry only ``agent:connect``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from conveyor.errors import InvalidInput

JOBS_READ = "jobs:read"
JOBS_CREATE = "jobs:create"
JOBS_CANCEL = "jobs:cancel"
JOBS_RETRY = "jobs:retry"
ACTIONS_READ = "actions:read"
ACTIONS_MANAGE = "actions:manage"  # concurrency limits
AGENTS_READ = "agents:read"
AGENTS_MANAGE = "agents:manage"  # drain, disconnect
QUEUES_READ = "queues:read"
QUEUES_MANAGE = "queues:manage"  # pause, limits
SCHEDULES_READ = "schedules:read"
SCHEDULES_MANAGE = "schedules:manage"
KEYS_READ = "keys:read"
KEYS_CREATE = "keys:create"  # a key never grants more than its creator holds
KEYS_REVOKE = "keys:revoke"
MEMBERS_READ = "members:read"
MEMBERS_MANAGE = "members:manage"
WEBHOOKS_READ = "webhooks:read"
WEBHOOKS_MANAGE = "webhooks:manage"
AUDIT_READ = "audit:read"
TEAM_MANAGE = "team:manage"  # rename or delete the team, transfer ownership
AGENT_CONNECT = "agent:connect"  # run an agent for the team (agent keys, or a member's login)

SHELL_ACTION = "shell"
JOBS_CREATE_SHELL = f"{JOBS_CREATE}:{SHELL_ACTION}"

ALL_PERMISSIONS: frozenset[str] = frozenset(
    {
        JOBS_READ, JOBS_CREATE, JOBS_CREATE_SHELL, JOBS_CANCEL, JOBS_RETRY,
        ACTIONS_READ, ACTIONS_MANAGE, AGENTS_READ, AGENTS_MANAGE, QUEUES_READ, QUEUES_MANAGE,
        SCHEDULES_READ, SCHEDULES_MANAGE, KEYS_READ, KEYS_CREATE, KEYS_REVOKE,
        MEMBERS_READ, MEMBERS_MANAGE, WEBHOOKS_READ, WEBHOOKS_MANAGE, AUDIT_READ,
        TEAM_MANAGE, AGENT_CONNECT,
    }
)  # fmt: skip

_VIEWER = frozenset(
    {JOBS_READ, ACTIONS_READ, AGENTS_READ, QUEUES_READ, SCHEDULES_READ, MEMBERS_READ}
)
_OPERATOR = _VIEWER | {
    JOBS_CREATE, JOBS_CANCEL, JOBS_RETRY, SCHEDULES_MANAGE, KEYS_READ, KEYS_CREATE,
    AGENT_CONNECT,
}  # fmt: skip
_OWNER = ALL_PERMISSIONS
_ADMIN = _OWNER - {TEAM_MANAGE}

ROLES: dict[str, frozenset[str]] = {  # the names are BUILTIN_ROLE_NAMES (a test checks it)
    "owner": _OWNER,
    "admin": _ADMIN,
    "operator": frozenset(_OPERATOR),
    "viewer": _VIEWER,
}
"""The built-in roles; a team's custom roles come from the store (``team_roles``)."""

BUILTIN_ROLES = tuple(ROLES)

_ACTION_NAME = r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,199}"
_PER_ACTION = re.compile(rf"{re.escape(JOBS_CREATE)}:({_ACTION_NAME})")


def role_permissions(role: str) -> frozenset[str]:
    """What a built-in role grants; an unknown role grants nothing."""
    return ROLES.get(role, frozenset())


def held_permissions(role: str, custom: Iterable[str] | None) -> frozenset[str]:
    """What a member holds: a custom role's stored grants, else the built-in role's."""
    return frozenset(custom) if custom is not None else role_permissions(role)


def job_create_permission(action: str) -> str:
    """The permission that submitting a job of ``action`` needs."""
    return f"{JOBS_CREATE}:{action}"


def grants(held: Iterable[str], permission: str) -> bool:
    """Whether ``held`` allows ``permission``: exact, or ``jobs:create`` for a per-action one."""
    held = held if isinstance(held, frozenset | set) else frozenset(held)
    if permission in held:
        return True
    match = _PER_ACTION.fullmatch(permission)
    return match is not None and match[1] != SHELL_ACTION and JOBS_CREATE in held


def intersect(a: Iterable[str], b: Iterable[str]) -> frozenset[str]:
    """Permissions both sets allow (a key's scopes and what its creator may still do)."""
    a, b = frozenset(a), frozenset(b)
    return frozenset(p for p in a if grants(b, p)) | frozenset(p for p in b if grants(a, p))


def validate_scope(scope: str, *, field: str = "scopes") -> str:
    """A known permission or a per-action ``jobs:create:<action>``; else :class:`InvalidInput`."""
    if scope in ALL_PERMISSIONS or _PER_ACTION.fullmatch(scope):
        return scope
    raise InvalidInput(f"unknown permission {scope[:100]!r}", field=field)


PrincipalKind = Literal["user", "client_key", "agent_key"]


@dataclass(frozen=True, slots=True)
class AgentLimits:
    """What an agent on a limited agent key may be: the actions it may run (None: any it
    offers) and labels it must carry with these values."""

    actions: frozenset[str] | None = None
    labels: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, limits: dict[str, object] | None) -> AgentLimits | None:
        if not limits:
            return None
        actions = limits.get("actions")
        labels = limits.get("labels")
        return cls(
            actions=frozenset(str(a) for a in actions) if isinstance(actions, list) else None,
            labels=tuple(sorted((str(k), str(v)) for k, v in labels.items()))
            if isinstance(labels, dict)
            else (),
        )

    def refusal(self, labels: dict[str, str]) -> str | None:
        """Why an agent with ``labels`` may not connect on this key, or None."""
        wrong = [f"{k}={v}" for k, v in self.labels if labels.get(k) != v]
        if wrong:
            return f"this agent key runs only agents labelled {', '.join(wrong)}"
        return None

    def allows(self, action: str) -> bool:
        return self.actions is None or action in self.actions


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking, in which team, allowed what: the result of authentication."""

    team_id: uuid.UUID
    user_id: uuid.UUID | None
    key_id: uuid.UUID | None
    kind: PrincipalKind
    permissions: frozenset[str]
    email: str | None = None
    agent_limits: AgentLimits | None = None  # an agent key's limits (actions, labels)
    # An agent key bound to a client certificate: the common name its connection must present.
    client_cert_cn: str | None = None
    key_name: str | None = None  # an API key's name, shown in the audit log
    credentials_epoch: int = 0  # a user's, when authenticated: what signed URLs carry

    def can(self, permission: str) -> bool:
        return grants(self.permissions, permission)

    def can_submit(self, action: str) -> bool:
        return self.can(job_create_permission(action))
