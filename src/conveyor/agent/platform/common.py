"""What the platform modules share: waiting for a stop signal with plain handlers."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterable
from typing import Any


def wait_with_handlers(signals: Iterable[signal.Signals], done: Callable[[], bool]) -> None:
    """Block until one of ``signals`` arrives or ``done()`` is true (checked each second).

    For systems without ``sigtimedwait`` (macOS, Windows): a handler sets an event.
    """
    stopped = threading.Event()

    def handler(signum: int, frame: Any) -> None:
        stopped.set()

    for sig in signals:
        signal.signal(sig, handler)
    while not stopped.wait(1.0):
        if done():
            return
