"""The store's cached reads (authentication, the action catalog) never outlive a change.

Both dialects: every kind of write that changes what authentication reads is seen
by the very next read. PostgreSQL also keeps authentication reads (SQLite reads
them afresh every time: see store.read_cache); there a change made by another
replica is forgotten when its notification arrives, or when the listener
reconnects after missing it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa

from conveyor.protocol import ActionOffer
from conveyor.store import Store
from conveyor.store.transaction import Tx

T0 = datetime(2030, 1, 1, tzinfo=UTC)
PREFIX = "abc123abc123"
PROMPT_S = 20.0


async def _key(store: Store, team: uuid.UUID, maker: uuid.UUID | None) -> uuid.UUID:
    key = await store.api_key_create(
        team, kind="client", name="ci", prefix=PREFIX, secret_hash="0" * 64,
        scopes=["jobs:read"], created_by=maker, expires_at=None, now=T0,
    )  # fmt: skip
    return key.id


async def _creator_role(store: Store) -> tuple[str, list[str]]:
    found = await store.api_key_access(PREFIX)
    assert found is not None and found[1] is not None
    [membership] = found[1].memberships
    return membership.role, sorted(membership.role_permissions or [])


def _terminate(tx: Tx, pid: int) -> bool:
    return bool(tx.conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
                .scalar_one())  # fmt: skip


def _rename_behind_the_stores_back(tx: Tx, name: str) -> None:
    """A change no store method made: nothing forgets the cached copy."""
    tx.conn.execute(sa.text("UPDATE api_keys SET name = :name"), {"name": name})


async def test_every_access_write_is_seen_by_the_next_read(store: Store, team: uuid.UUID) -> None:
    maker = await store.user_create("m@example.com", "h", team_id=team, role="operator")
    await _key(store, team, maker.id)
    assert await _creator_role(store) == ("operator", [])
    assert (await store.user_access(maker.id)).user.disabled is False  # type: ignore[union-attr]

    await store.member_set_role(team, maker.id, "viewer")
    assert (await _creator_role(store))[0] == "viewer"

    role = await store.role_create(team, "runner", "runs exports", ["jobs:read"])
    await store.member_set_role(team, maker.id, role.name)
    assert await _creator_role(store) == ("runner", ["jobs:read"])
    await store.role_update(team, role.id, permissions=["jobs:read", "jobs:create"])
    assert await _creator_role(store) == ("runner", ["jobs:create", "jobs:read"])

    await store.user_set_disabled(maker.id, True)
    found = await store.api_key_access(PREFIX)
    assert found is not None and found[1] is not None and found[1].user.disabled
    assert (await store.user_access(maker.id)).user.disabled is True  # type: ignore[union-attr]

    await store.member_remove(team, maker.id)
    found = await store.api_key_access(PREFIX)
    assert found is not None and found[1] is not None and found[1].memberships == []
    assert (await store.user_access(maker.id)).memberships == []  # type: ignore[union-attr]

    [key] = await store.api_key_list(team)
    await store.api_key_revoke(team, key.id)
    found = await store.api_key_access(PREFIX)
    assert found is not None and found[0].revoked_at is not None


async def test_a_new_version_offered_is_what_the_next_submit_validates_against(
    store: Store, team: uuid.UUID
) -> None:
    async def offer(schema: dict[str, object]) -> None:
        await store.agent_connect(
            team, name="box", labels={}, slots=1, version="1.0", queues=["default"],
            actions=[ActionOffer(name="demo.echo", params_schema=schema)], key_id=None,
            user_id=None,
        )  # fmt: skip

    await offer({"type": "object"})
    first = await store.action_latest(team, "demo.echo")
    await offer({"type": "object", "required": ["n"]})
    latest = await store.action_latest(team, "demo.echo")
    assert first is not None and latest is not None
    assert latest.params_schema == {"type": "object", "required": ["n"]}


async def test_postgresql_keeps_a_copy_until_a_write_forgets_it(
    store: Store, team: uuid.UUID
) -> None:
    key_id = await _key(store, team, None)
    assert (await store.api_key_access(PREFIX))[0].name == "ci"  # type: ignore[index]
    await store.db.write(_rename_behind_the_stores_back, None, "renamed")
    seen = (await store.api_key_access(PREFIX))[0].name  # type: ignore[index]
    # SQLite reads afresh (another process may have written: see read_cache).
    assert seen == ("ci" if store.dialect == "postgresql" else "renamed")

    await store.api_key_revoke(team, key_id)
    found = await store.api_key_access(PREFIX)
    assert found is not None and found[0].name == "renamed" and found[0].revoked_at is not None
