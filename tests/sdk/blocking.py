"""Run the SDK's tests on both clients: ``AsyncClient`` behind ``Client``'s blocking surface.

Its coroutines run on an event loop in a thread of its own, so a test may call
it from several threads at once (as the tests do with ``Client``); its async
iterators become plain iterators, stepped on that loop.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator
from types import TracebackType
from typing import Any, TypeVar

from conveyor.sdk.async_client import AsyncClient
from conveyor.sdk.schedules import AsyncSchedules

T = TypeVar("T")
CALL_TIMEOUT_S = 120.0


class Blocking:
    """An :class:`AsyncClient`, called like a :class:`Client`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.wrapped = AsyncClient(
            *args, **kwargs
        )  # errors (NotConfigured) raise here, as in Client
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="async-client")
        self._thread.start()

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(CALL_TIMEOUT_S)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.wrapped, name)
        if isinstance(attr, AsyncSchedules):  # a group of methods: blocking the same way
            return _Group(self, attr)
        if inspect.isasyncgenfunction(attr):
            return lambda *args, **kwargs: self._iterate(attr(*args, **kwargs))
        if inspect.iscoroutinefunction(attr):
            return lambda *args, **kwargs: self._run(attr(*args, **kwargs))
        return attr

    def _iterate(self, stream: AsyncIterator[T]) -> Iterator[T]:
        try:
            while True:
                try:
                    yield self._run(anext(stream))
                except StopAsyncIteration:
                    return
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None and not self._loop.is_closed():
                self._run(aclose())

    def close(self) -> None:
        if self._loop.is_closed():
            return
        try:
            self._run(self.wrapped.close())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(30)
            self._loop.close()

    def __enter__(self) -> Blocking:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:  # fmt: skip
        self.close()


class _Group:
    """A group of an :class:`AsyncClient`'s methods (``schedules``), called like a Client's."""

    def __init__(self, client: Blocking, group: object) -> None:
        self._client, self._group = client, group

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._group, name)
        if inspect.iscoroutinefunction(attr):
            return lambda *args, **kwargs: self._client._run(attr(*args, **kwargs))
        return attr
