"""A small server-sent events reader (the WHATWG parsing rules) over httpx line streams."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ServerEvent:
    """One dispatched event; ``comment`` events are keep-alives (``: ping``)."""

    event: str = "message"
    data: str = ""
    id: str | None = None
    retry_ms: int | None = None
    comment: bool = False


def parse(lines: Iterable[str]) -> Iterator[ServerEvent]:
    """Turn the lines of an event stream into events, in order.

    Comments are yielded too (as ``comment=True``) so a reader can notice a live
    but quiet stream.
    """
    event, last_id, retry = "", None, None
    data: list[str] = []
    for raw in lines:
        line = raw.rstrip("\r\n")
        if not line:
            if data or event:
                yield ServerEvent(event or "message", "\n".join(data), last_id, retry)
            event, data, retry = "", [], None
            continue
        if line.startswith(":"):
            yield ServerEvent(event="comment", data=line[1:].strip(), comment=True)
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
        elif name == "id" and "\0" not in value:
            last_id = value
        elif name == "retry" and value.isdigit():
            retry = int(value)
