"""Stats in the SDK: the method :class:`conveyor.Client` and :class:`conveyor.AsyncClient`
share for ``GET /api/v1/stats`` (throughput, queue depths, wait and run times, agents,
recent failures)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, TypeVar

from conveyor.sdk._calls import Call
from conveyor.sdk.stats_models import Stats

T = TypeVar("T")
Window = Literal["hour", "day"]

__all__ = ["AsyncStatsMixin", "Stats", "StatsMixin", "Window"]


def stats_call(window: Window = "hour") -> Call[Stats]:
    return Call("GET", "stats", Stats.model_validate, params={"window": window})


class StatsMixin:
    """The team's figures (blocking)."""

    if TYPE_CHECKING:

        def _do(self, call: Call[T]) -> T: ...

    def stats(self, window: Window = "hour") -> Stats:
        """Throughput per minute, queue depths, wait and run time percentiles, agents and
        the latest failures over the last ``hour`` or ``day``."""
        return self._do(stats_call(window))


class AsyncStatsMixin:
    """The team's figures (asyncio)."""

    if TYPE_CHECKING:

        async def _do(self, call: Call[T]) -> T: ...

    async def stats(self, window: Window = "hour") -> Stats:
        """Throughput per minute, queue depths, wait and run time percentiles, agents and
        the latest failures over the last ``hour`` or ``day``."""
        return await self._do(stats_call(window))
