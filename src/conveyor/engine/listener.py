"""Feed PostgreSQL notifications into the bus, and poll as the safety net.

NOTIFY is the fast path between replicas; it can be lost (the LISTEN connection
drops, a replica restarts). The poller reads the outbox's newest seq on a slow
jittered interval and wakes everyone when it moved without a notification, so
work keeps flowing with the listener down.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime

import orjson
import psycopg
import sqlalchemy as sa
import structlog

from conveyor.engine.events import EventBus, Signal
from conveyor.engine.service import Service
from conveyor.store import CACHED_TOPICS, Store

log = structlog.get_logger(__name__)
CHANNEL = "conveyor_events"
POLL_INTERVAL_S = 2.0


class OutboxPoller(Service):
    name = "outbox-poller"

    def __init__(self, store: Store, bus: EventBus, interval_s: float = POLL_INTERVAL_S):
        super().__init__(interval_s, jitter=0.5)
        self.store = store
        self.bus = bus

    async def run_once(self, now: datetime | None = None) -> int:
        seq = await self.store.event_last_seq()
        if seq > self.bus.last_seq:
            self.bus.publish(seq, work=True)
        return 0


class Listener:
    """LISTEN on a dedicated connection; reconnect with backoff when it drops."""

    def __init__(
        self, url: str, bus: EventBus, forget: Callable[[str], None] | None = None
    ) -> None:
        u = sa.make_url(url)
        self.conninfo = u.set(drivername="postgresql").render_as_string(hide_password=False)
        self.bus = bus
        # Drops the store's cached reads a notification names (see store.read_cache).
        self.forget = forget or (lambda topic: None)
        self.backend_pid: int | None = None
        self.connected = asyncio.Event()
        self.reconnected = Signal()  # fires on the next (re)connect; replaced each time
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="conveyor-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        delay = 0.1
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True)
                async with conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.backend_pid = conn.info.backend_pid
                    self.connected.set()
                    # Anything may have happened while we were not listening.
                    for topic in CACHED_TOPICS:
                        self.forget(topic)
                    self.bus.wake_all()
                    self.reconnected, fired = Signal(), self.reconnected
                    fired.fire()
                    delay = 0.1
                    async for note in conn.notifies():
                        payload = orjson.loads(note.payload)
                        for topic in payload.get("forget", ()):
                            self.forget(topic)  # before anyone hears of the change
                        self.bus.publish(
                            int(payload["seq"]),
                            bool(payload["work"]),
                            bool(payload.get("control")),
                        )
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("event listener lost its connection; reconnecting", error=str(exc))
            self.connected.clear()
            self.backend_pid = None
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
