"""Read the outbox in order on either dialect, late commits included."""

from __future__ import annotations

from collections import deque

LOOKBEHIND_S = 2.0
"""How long after its seq a PostgreSQL event may still appear (a late commit)."""


def lookbehind_for(dialect: str) -> float:
    """SQLite commits one writer at a time: no event can appear behind another."""
    return LOOKBEHIND_S if dialect == "postgresql" else 0.0


class OutboxReader:
    """Reads a team's outbox in order, including events committed out of seq order.

    On PostgreSQL a transaction can take a lower seq than another and commit after
    it; a reader that only asks for ``seq > last`` would skip it for good. This one
    re-reads a short window behind what it delivered (``lookbehind_s``) and hands
    out each event once. SQLite commits one writer at a time, so it needs no window.
    """

    def __init__(self, start: int, lookbehind_s: float) -> None:
        self.high = start  # highest seq delivered: the stream's resume point
        self.lookbehind_s = lookbehind_s
        self._marks: deque[tuple[float, int]] = deque()  # (time, high then)
        self._sent: set[int] = set()
        self._low = start

    def read_from(self, now: float) -> int:
        """Where the next read starts: the resume point as it was ``lookbehind_s`` ago."""
        if self.lookbehind_s <= 0:
            return self.high
        self._marks.append((now, self.high))
        while self._marks and self._marks[0][0] < now - self.lookbehind_s:
            self._low = self._marks.popleft()[1]
        self._sent = {seq for seq in self._sent if seq > self._low}
        return self._low

    def delivered(self) -> list[int]:
        """What it delivered at or after :meth:`read_from`'s start: a re-read skips these,
        so looking behind costs only the late events, not the window's every row. In no
        particular order: the store only tests membership."""
        return list(self._sent)

    def fresh(self, seq: int) -> bool:
        """Whether ``seq`` is new to this reader (and now counts as delivered)."""
        if seq <= self._low or seq in self._sent or (self.lookbehind_s <= 0 and seq <= self.high):
            return False
        if self.lookbehind_s > 0:
            self._sent.add(seq)
        self.high = max(self.high, seq)
        return True
