"""Copies of the reads every request makes, kept until a write changes what they read.

Every submit authenticates its caller and validates its params against the
action's newest schema: two reads that took about half of a submit's time before
its transaction began (measured one job at a time on PostgreSQL). What they read
changes rarely (a key revoked, a role edited, an agent offering a new version), so
the store keeps what it read, by topic, and every write that could change a topic
says so (:func:`conveyor.store.queries.forget.forget`):

- on the replica that wrote it, the topic is forgotten when the write commits,
  before its caller hears back, so the next request there reads afresh;
- on every other replica, and for changes made by admin tools in their own
  processes, through PostgreSQL: the transaction's NOTIFY names the topic, so each
  replica forgets it as the notification arrives (at the commit); a ``control``
  event in the outbox, which each replica's control loop reads as it reads
  cancels, covers a notification lost while a listener reconnected.

On SQLite nothing tells the server about another process's writes at once (its
control loop polls), and ``conveyor admin disable`` must stop a user at once, so
there only the catalog (which only the server writes) and the flow settings (a
stale copy of which only delays a claim: see queries/flow.py) are kept;
authentication reads the database on every request.

A copy read while a forget happened is not kept (each topic counts its forgets), so
no copy outlives the change it missed. ``max_age_s`` bounds a copy's life anyway;
"nothing found" is never kept.
"""

from __future__ import annotations

import time
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any, Final

ACCESS: Final = "access"
"""Who may do what: API keys, users, memberships, roles (what authentication reads)."""
CATALOG: Final = "catalog"
"""The actions agents offer (what a submit validates its params against)."""
FLOW: Final = "flow"
"""Which queues and actions have flow settings (what routes a claim: queries/flow.py)."""
TOPICS: Final = (ACCESS, CATALOG, FLOW)

DEFAULT_MAX_AGE_S = 60.0
DEFAULT_MAX_ENTRIES = 10_000


@dataclass
class _Topic:
    forgets: int = 0  # how many times the topic was forgotten: a fill checks it
    entries: dict[Hashable, tuple[float, Any]] = field(default_factory=dict)


class ReadCache:
    """Per-topic copies with a generation check against forgets made during a read."""

    def __init__(
        self,
        *,
        topics: tuple[str, ...] = TOPICS,
        max_age_s: float = DEFAULT_MAX_AGE_S,
        max_entries: int = DEFAULT_MAX_ENTRIES,
    ) -> None:
        self.topics = topics  # the others are never kept
        self.max_age_s = max_age_s
        self.max_entries = max_entries
        self._topics = {name: _Topic() for name in TOPICS}

    def get(self, topic: str, key: Hashable) -> tuple[bool, Any]:
        """``(True, value)`` for a copy young enough, else ``(False, None)``."""
        if topic not in self.topics:
            return False, None
        found = self._topics[topic].entries.get(key)
        if found is None or time.monotonic() - found[0] > self.max_age_s:
            return False, None
        return True, found[1]

    def generation(self, topic: str) -> int:
        """Taken before a read; :meth:`put` keeps the value only if it is unchanged."""
        return self._topics[topic].forgets

    def put(self, topic: str, key: Hashable, value: Any, generation: int) -> None:
        state = self._topics[topic]
        if value is None or generation != state.forgets or topic not in self.topics:
            return  # nothing found, or forgotten while it was read: may be stale
        if key not in state.entries and len(state.entries) >= self.max_entries:
            del state.entries[next(iter(state.entries))]  # the oldest copy
        state.entries[key] = (time.monotonic(), value)

    def forget(self, topic: str) -> None:
        state = self._topics[topic]
        state.forgets += 1
        state.entries.clear()
