"""Writes that change what the store's read cache holds say so (see read_cache).

The topic is noted on the transaction (this process forgets it on commit) and
written as one ``control`` event ``{"forget": topic}`` (every other replica's
control loop forgets it when it reads the event).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from conveyor.store.queries.listing import CONTROL, emit_events
from conveyor.store.transaction import Tx

P = ParamSpec("P")
R = TypeVar("R")

NOBODY = uuid.UUID(int=0)
"""Team and object of a forget event: it is about no team's objects (and no team's
event stream shows ``control`` events)."""


def forget(tx: Tx, topic: str) -> None:
    """Record, in ``tx``, that cached copies of ``topic`` are stale once it commits."""
    if topic in tx.forget:
        return
    tx.forget.add(topic)
    emit_events(tx, CONTROL, [(NOBODY, NOBODY, {"forget": topic})])


def forgetting(topic: str, op: Callable[Concatenate[Tx, P], R]) -> Callable[Concatenate[Tx, P], R]:
    """``op`` followed, in its transaction, by :func:`forget` of ``topic``."""

    def run(tx: Tx, /, *args: P.args, **kwargs: P.kwargs) -> R:
        result = op(tx, *args, **kwargs)
        forget(tx, topic)
        return result

    return run
