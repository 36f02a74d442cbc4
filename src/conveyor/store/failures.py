"""Which driver errors mean "the database is unavailable", and the typed error they become.

A database that restarts, refuses connections or runs out of them fails an
operation with the driver's connection-level errors (``OperationalError`` and its
kin, a pool timeout, a connection found dead). Above the store they are one
thing, :class:`~conveyor.errors.StoreUnavailable`, so the API answers 503 with
``Retry-After`` and the engine and CLI catch one type. Errors that say the
operation itself was wrong (integrity, programming) pass through unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from conveyor.errors import StoreUnavailable

RETRY_AFTER_S = 1  # what a client is told to wait: a restart usually takes a few seconds


def is_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database could not be reached or used, not that the
    operation was wrong."""
    if isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError | sa.exc.TimeoutError):
        return True
    return isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated


@contextmanager
def unavailable_as_store_error() -> Iterator[None]:
    """Raise :class:`StoreUnavailable` for the connection-level failures inside."""
    try:
        yield
    except sa.exc.SQLAlchemyError as exc:
        if not is_unavailable(exc):
            raise
        raise StoreUnavailable(
            f"the database is unavailable ({type(exc).__name__}): try again shortly",
            retry_after=RETRY_AFTER_S,
        ) from exc
