"""PostgreSQL: a replica forgets its cached reads when another replica changes them.

Replica B's write names what it changed in its NOTIFY; replica A's listener forgets
its copies as the notification arrives, and everything when it reconnects after
missing one (see store.read_cache).
"""

from __future__ import annotations

import uuid

from conveyor.engine import Engine
from conveyor.store import Store
from tests.engine.test_listener import _listening, _terminate
from tests.store.test_read_cache import PREFIX, _key, _rename_behind_the_stores_back

PROMPT_S = 20.0


async def _created_and_heard(engine: Engine, other: Store, team: uuid.UUID) -> uuid.UUID:
    """A key made through replica B, once A has heard of it (its forget is behind us)."""
    control = engine.bus.control_signal()
    key_id = await _key(other, team, None)
    assert await control.wait(PROMPT_S), "no control notification arrived"
    return key_id


async def test_another_replicas_revoke_is_forgotten_as_its_notification_arrives(
    replicas: tuple[Engine, Store, uuid.UUID],
) -> None:
    engine, other, team = replicas
    await _listening(engine)
    key_id = await _created_and_heard(engine, other, team)
    assert (await engine.store.api_key_access(PREFIX))[0].revoked_at is None  # type: ignore[index]
    await other.db.write(_rename_behind_the_stores_back, None, "renamed")
    assert (await engine.store.api_key_access(PREFIX))[0].name == "ci"  # type: ignore[index]

    control = engine.bus.control_signal()
    await other.api_key_revoke(team, key_id)
    # The listener forgets before it publishes the notification to the bus.
    assert await control.wait(PROMPT_S), "no control notification arrived"
    found = await engine.store.api_key_access(PREFIX)
    assert found is not None and found[0].revoked_at is not None


async def test_a_revoke_missed_while_the_listener_was_down_is_forgotten_on_reconnect(
    replicas: tuple[Engine, Store, uuid.UUID],
) -> None:
    engine, other, team = replicas
    await _listening(engine)
    listener = engine.listener
    assert listener is not None and listener.backend_pid is not None
    key_id = await _created_and_heard(engine, other, team)
    assert (await engine.store.api_key_access(PREFIX))[0].revoked_at is None  # type: ignore[index]

    # The revoke's notification is lost: the listener reads it but forgets nothing.
    listener.forget = lambda topic: None
    await other.api_key_revoke(team, key_id)
    assert (await engine.store.api_key_access(PREFIX))[0].revoked_at is None  # type: ignore[index]

    listener.forget = engine.store.forget_cached
    reconnected = listener.reconnected
    assert await other.db.write(_terminate, None, listener.backend_pid)
    assert await reconnected.wait(PROMPT_S), "the listener never reconnected"
    found = await engine.store.api_key_access(PREFIX)
    assert found is not None and found[0].revoked_at is not None
