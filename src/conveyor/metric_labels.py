"""Bounded Prometheus label values, shared by the server's and the agent's metrics.

A label whose values come from users (an action, a queue) keeps the first
:data:`LABEL_CAP` distinct values it sees and counts the rest under :data:`OTHER`,
so a scrape's size has a bound however many names the jobs use.
"""

from __future__ import annotations

LABEL_CAP = 50
"""Distinct values kept per bounded label (action, queue) before ``other``."""
OTHER = "other"


class CappedLabel:
    """A label's values: the first ``cap`` seen are kept, the others become ``other``."""

    def __init__(self, cap: int = LABEL_CAP) -> None:
        self.cap = cap
        self.seen: set[str] = set()

    def __call__(self, value: str) -> str:
        if value in self.seen:
            return value
        if len(self.seen) >= self.cap:
            return OTHER
        self.seen.add(value)
        return value
