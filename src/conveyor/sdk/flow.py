"""Flow control in the SDK: the methods :class:`conveyor.Client` and
:class:`conveyor.AsyncClient` share for queue limits and fairness, action limits and
rate keys (docs/flow-control.md). Requests are built in :mod:`conveyor.sdk._flow_calls`.
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, TypeVar

from conveyor.sdk import _flow_calls
from conveyor.sdk._calls import Call
from conveyor.sdk._flow_calls import KEEP, RateSpec
from conveyor.sdk.models import Action, Queue, RateKey

T = TypeVar("T")

__all__ = ["KEEP", "AsyncFlowMixin", "FlowMixin", "RateSpec"]


class FlowMixin:
    """Queue settings, action limits and rate keys (blocking)."""

    if TYPE_CHECKING:

        def _do(self, call: Call[T]) -> T: ...

    def update_queue(self, name: str, *, paused: bool = KEEP, rate_limit: RateSpec = KEEP,
                     concurrency_limit: int | None = KEEP, fair: bool = KEEP) -> Queue:  # fmt: skip
        """Change a queue's settings; those not given stay, None lifts a limit.

        ``rate_limit``: ``(count, interval_s)``, at most ``count`` starts in any such
        window; ``concurrency_limit``: running jobs at once; ``fair``: share the
        queue's agents across the jobs' fair keys. Jobs over a limit wait.
        """
        call = _flow_calls.update_queue(
            name, paused=paused, rate_limit=rate_limit, concurrency_limit=concurrency_limit,
            fair=fair,
        )  # fmt: skip
        return self._do(call)

    def set_action_limit(self, name: str, limit: int | None) -> Action:
        """At most ``limit`` jobs of the action run at once (None: no limit)."""
        return self._do(_flow_calls.set_action_limit(name, limit))

    def rate_limits(self) -> builtins.list[RateKey]:
        """The team's rate keys with a limit."""
        return self._do(_flow_calls.rate_limits())

    def set_rate_limit(self, key: str, count: int, interval_s: float) -> RateKey:
        """Jobs submitted with ``rate_key=key`` start at most ``count`` times per ``interval_s``."""
        return self._do(_flow_calls.set_rate_limit(key, count, interval_s))

    def delete_rate_limit(self, key: str) -> None:
        self._do(_flow_calls.delete_rate_limit(key))


class AsyncFlowMixin:
    """Queue settings, action limits and rate keys (asyncio)."""

    if TYPE_CHECKING:

        async def _do(self, call: Call[T]) -> T: ...

    async def update_queue(self, name: str, *, paused: bool = KEEP, rate_limit: RateSpec = KEEP,
                     concurrency_limit: int | None = KEEP, fair: bool = KEEP) -> Queue:  # fmt: skip
        """Change a queue's settings; those not given stay, None lifts a limit.

        ``rate_limit``: ``(count, interval_s)``, at most ``count`` starts in any such
        window; ``concurrency_limit``: running jobs at once; ``fair``: share the
        queue's agents across the jobs' fair keys. Jobs over a limit wait.
        """
        call = _flow_calls.update_queue(
            name, paused=paused, rate_limit=rate_limit, concurrency_limit=concurrency_limit,
            fair=fair,
        )  # fmt: skip
        return await self._do(call)

    async def set_action_limit(self, name: str, limit: int | None) -> Action:
        """At most ``limit`` jobs of the action run at once (None: no limit)."""
        return await self._do(_flow_calls.set_action_limit(name, limit))

    async def rate_limits(self) -> builtins.list[RateKey]:
        """The team's rate keys with a limit."""
        return await self._do(_flow_calls.rate_limits())

    async def set_rate_limit(self, key: str, count: int, interval_s: float) -> RateKey:
        """Jobs submitted with ``rate_key=key`` start at most ``count`` times per ``interval_s``."""
        return await self._do(_flow_calls.set_rate_limit(key, count, interval_s))

    async def delete_rate_limit(self, key: str) -> None:
        await self._do(_flow_calls.delete_rate_limit(key))
