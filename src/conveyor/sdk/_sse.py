"""A small server-sent events reader (the WHATWG parsing rules) over httpx line streams.

One decoder, fed a line at a time, serves both clients: :func:`parse` for the
sync one's ``iter_lines()``, :func:`aparse` for the async one's ``aiter_lines()``.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ServerEvent:
    """One dispatched event; ``comment`` events are keep-alives (``: ping``)."""

    event: str = "message"
    data: str = ""
    id: str | None = None
    retry_ms: int | None = None
    comment: bool = False


class Decoder:
    """The parser's state between lines: what the next blank line dispatches."""

    __slots__ = ("_data", "_event", "_last_id", "_retry")

    def __init__(self) -> None:
        self._event = ""
        self._data: list[str] = []
        self._last_id: str | None = None  # carries over between events, as in browsers
        self._retry: int | None = None

    def feed(self, raw: str) -> ServerEvent | None:
        """Take one line; return the event it completes (or the comment it is), if any."""
        line = raw.rstrip("\r\n")
        if not line:
            dispatched = None
            if self._data or self._event:
                dispatched = ServerEvent(
                    self._event or "message", "\n".join(self._data), self._last_id, self._retry
                )
            self._event, self._data, self._retry = "", [], None
            return dispatched
        if line.startswith(":"):
            return ServerEvent(event="comment", data=line[1:].strip(), comment=True)
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self._last_id = value
        elif name == "retry" and value.isdigit():
            self._retry = int(value)
        return None


def parse(lines: Iterable[str]) -> Iterator[ServerEvent]:
    """Turn the lines of an event stream into events, in order.

    Comments are yielded too (as ``comment=True``) so a reader can notice a live
    but quiet stream.
    """
    decoder = Decoder()
    for line in lines:
        event = decoder.feed(line)
        if event is not None:
            yield event


async def aparse(lines: AsyncIterable[str]) -> AsyncIterator[ServerEvent]:
    """:func:`parse` for an async line stream."""
    decoder = Decoder()
    async for line in lines:
        event = decoder.feed(line)
        if event is not None:
            yield event
