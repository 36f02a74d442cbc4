"""Coalesce what all agents send into batched store calls, without adding delay.

While one store call is in flight, new items queue up; the next call takes all of
them. Under light load every item goes alone at once; under heavy load batches
grow by themselves (the same idea as the SQLite writer's group commit). Items are
grouped by team because every store method is scoped by one team.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import structlog

log = structlog.get_logger(__name__)

Item = TypeVar("Item")
Res = TypeVar("Res")

Flush = Callable[[uuid.UUID, list[Item]], Awaitable[list[Res]]]


class Batcher(Generic[Item, Res]):
    """``await batcher.submit(team_id, item)`` returns that item's own result."""

    def __init__(self, name: str, flush: Flush[Item, Res], max_batch: int = 1000) -> None:
        self.name = name
        self._flush = flush
        self._max_batch = max_batch
        self._queue: asyncio.Queue[tuple[uuid.UUID, Item, asyncio.Future[Res]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"conveyor-batcher-{self.name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def submit(self, team_id: uuid.UUID, item: Item) -> Res:
        future: asyncio.Future[Res] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((team_id, item, future))
        return await future

    async def _run(self) -> None:
        while True:
            pending = [await self._queue.get()]
            while len(pending) < self._max_batch and not self._queue.empty():
                pending.append(self._queue.get_nowait())
            by_team: dict[uuid.UUID, list[tuple[Item, asyncio.Future[Res]]]] = defaultdict(list)
            for team_id, item, future in pending:
                by_team[team_id].append((item, future))
            for team_id, entries in by_team.items():
                await self._flush_team(team_id, entries)

    async def _flush_team(
        self, team_id: uuid.UUID, entries: list[tuple[Item, asyncio.Future[Res]]]
    ) -> None:
        try:
            results = await self._flush(team_id, [item for item, _ in entries])
        except Exception as exc:
            log.warning("batch failed", batcher=self.name, team_id=str(team_id), size=len(entries),
                        error=str(exc))  # fmt: skip
            for _, future in entries:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), result in zip(entries, results, strict=True):
            if not future.done():
                future.set_result(result)
