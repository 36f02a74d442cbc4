"""Roles, per-action job permissions, and the intersection a key's rights come from."""

from __future__ import annotations

import uuid

import pytest

from conveyor.auth import permissions as p
from conveyor.auth.permissions import Principal, grants, intersect, role_permissions
from conveyor.errors import InvalidInput
from conveyor.store.team_records import BUILTIN_ROLE_NAMES


def principal(perms: set[str]) -> Principal:
    return Principal(uuid.uuid4(), uuid.uuid4(), None, "user", frozenset(perms), "x@example.com")


def test_role_table() -> None:
    viewer, operator = role_permissions("viewer"), role_permissions("operator")
    admin, owner = role_permissions("admin"), role_permissions("owner")
    assert viewer < operator < admin < owner == p.ALL_PERMISSIONS
    assert owner - admin == {p.TEAM_MANAGE}
    assert all(perm.endswith(":read") for perm in viewer)
    assert role_permissions("custom-unknown") == frozenset()


@pytest.mark.parametrize(
    ("role", "allowed", "refused"),
    [
        ("viewer", ["jobs:read", "actions:read", "agents:read", "members:read"],
         ["jobs:create", "jobs:create:demo.echo", "jobs:cancel", "agent:connect", "keys:read",
          "audit:read"]),
        ("operator", ["jobs:create", "jobs:create:demo.echo", "jobs:cancel", "jobs:retry",
                      "keys:create", "agent:connect", "schedules:manage"],
         ["jobs:create:shell", "keys:revoke", "queues:manage", "members:manage", "audit:read"]),
        ("admin", ["jobs:create:shell", "keys:revoke", "queues:manage", "members:manage",
                   "audit:read", "webhooks:manage", "agents:manage"],
         ["team:manage"]),
        ("owner", ["team:manage", "jobs:create:shell", "jobs:create:any.thing"], []),
    ],
)  # fmt: skip
def test_role_checks(role: str, allowed: list[str], refused: list[str]) -> None:
    who = principal(set(role_permissions(role)))
    for perm in allowed:
        assert who.can(perm), (role, perm)
    for perm in refused:
        assert not who.can(perm), (role, perm)


def test_per_action_permission() -> None:
    only_echo = principal({"jobs:create:demo.echo"})
    assert only_echo.can_submit("demo.echo")
    assert not only_echo.can_submit("demo.export_csv")
    assert not only_echo.can("jobs:create")  # one action is not all of them
    assert not only_echo.can_submit("shell")

    everything = principal({"jobs:create"})
    assert everything.can_submit("demo.echo") and everything.can_submit("demo.export_csv")
    assert not everything.can_submit("shell")  # arbitrary commands need their own grant
    assert principal({"jobs:create:shell"}).can_submit("shell")
    assert not everything.can("jobs:read") and not everything.can("jobs:create:")


def test_intersect_is_what_both_allow() -> None:
    key = {"jobs:create", "jobs:read", "queues:manage"}
    creator = {"jobs:create:demo.echo", "jobs:read", "agents:read"}
    both = intersect(key, creator)
    assert both == {"jobs:create:demo.echo", "jobs:read"}
    for perm in ["jobs:create:demo.echo", "jobs:create:other", "jobs:create", "jobs:read",
                 "queues:manage", "agents:read"]:  # fmt: skip
        assert grants(both, perm) == (grants(key, perm) and grants(creator, perm)), perm


def test_scope_validation() -> None:
    assert p.validate_scope("jobs:read") == "jobs:read"
    assert p.validate_scope("jobs:create:reports.monthly-v2") == "jobs:create:reports.monthly-v2"
    for bad in ["jobs:*", "root", "jobs:create:", "jobs:create:a b", "jobs:delete", ""]:
        with pytest.raises(InvalidInput):
            p.validate_scope(bad)


def test_principal_is_frozen() -> None:
    who = principal({"jobs:read"})
    with pytest.raises(AttributeError):
        who.kind = "agent_key"  # type: ignore[misc]


def test_builtin_role_names_agree_with_the_store() -> None:
    assert tuple(p.ROLES) == BUILTIN_ROLE_NAMES


def test_a_custom_role_holds_exactly_its_grants() -> None:
    held_permissions = p.held_permissions
    echo_only = held_permissions("echoer", ["jobs:create:demo.echo"])
    assert grants(echo_only, "jobs:create:demo.echo")
    assert not grants(echo_only, "jobs:create:demo.other")
    assert not grants(echo_only, "jobs:create") and not grants(echo_only, "jobs:read")
    assert held_permissions("viewer", None) == role_permissions("viewer")
    assert held_permissions("nonexistent", None) == frozenset()
