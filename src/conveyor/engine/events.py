"""The in-process event bus: the fast path that wakes claimers and listeners.

It carries no payloads, only "the outbox reached seq N", "work became
claimable" and "an agent must be told something" (a cancel, a drain), so it is bounded by construction and a burst of changes merges into
one wake-up. Whoever wakes reads what changed from the store. Waiters take a
signal *before* looking at the store and wait on it after, so a change that lands
in between is never missed.
"""

from __future__ import annotations

import asyncio


class Signal:
    """A one-shot wake-up taken before checking the store."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        self._event.set()

    @property
    def fired(self) -> bool:
        return self._event.is_set()

    async def wait(self, seconds: float | None) -> bool:
        """True if fired, False on timeout."""
        try:
            async with asyncio.timeout(seconds):
                await self._event.wait()
        except TimeoutError:
            return False
        return True


class EventBus:
    def __init__(self) -> None:
        self.last_seq = 0
        self._work = Signal()
        self._changed = Signal()
        self._control = Signal()

    def work_signal(self) -> Signal:
        """Fires the next time work may have become claimable."""
        return self._work

    def change_signal(self) -> Signal:
        """Fires the next time the outbox grows."""
        return self._changed

    def control_signal(self) -> Signal:
        """Fires the next time a ``control`` event (cancel, drain for an agent) is written."""
        return self._control

    def publish(self, seq: int, work: bool, control: bool = False) -> None:
        """Record that the outbox reached ``seq``; call on the event loop's thread."""
        if seq > self.last_seq:
            self.last_seq = seq
            self._changed, fired = Signal(), self._changed
            fired.fire()
        if work:
            self._work, fired = Signal(), self._work
            fired.fire()
        if control:
            self._control, fired = Signal(), self._control
            fired.fire()

    def wake_all(self) -> None:
        """Wake every waiter: used after a gap in which notifications may be lost."""
        self._work, fired_work = Signal(), self._work
        self._changed, fired_changed = Signal(), self._changed
        self._control, fired_control = Signal(), self._control
        fired_work.fire()
        fired_changed.fire()
        fired_control.fire()
