"""When the clients send a request again: connection errors, timeouts and 503s,
for requests that are safe to repeat, with exponential backoff and full jitter.

A request is safe to repeat when doing it twice changes nothing more than doing it
once: a GET, or a submit carrying idempotency keys (the clients give every submit
one, a fresh UUID per logical submit kept across its retries, unless the caller
passes their own). A submit whose answer was lost (the job was created, the reply
never arrived) is then sent again and the server returns the job it made.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from conveyor.errors import ConveyorError
from conveyor.sdk.errors import ApiError, ServerUnreachable


@dataclass(frozen=True)
class RetryPolicy:
    """How a client retries: at most ``attempts`` sends in all and ``max_elapsed_s``
    seconds since the first, pausing a random time up to ``base_s * 2**n`` (at most
    ``max_pause_s``; longer if the server's ``retry_after`` says so, within the
    budget). ``RetryPolicy(attempts=1)`` never retries."""

    attempts: int = 5
    max_elapsed_s: float = 30.0
    base_s: float = 0.2
    max_pause_s: float = 5.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("a retry policy makes at least one attempt")
        if self.max_elapsed_s < 0 or self.base_s < 0 or self.max_pause_s < 0:
            raise ValueError("retry times must not be negative")

    def pause(self, error: ConveyorError, failures: int, elapsed_s: float) -> float | None:
        """Seconds to wait before sending again after the ``failures``-th failure, or
        None: give up and raise ``error``. Only for requests safe to repeat."""
        if failures >= self.attempts or not is_transient(error):
            return None
        pause = random.uniform(0, min(self.max_pause_s, self.base_s * 2 ** (failures - 1)))
        hinted = error.details.get("retry_after")
        if isinstance(hinted, int | float) and not isinstance(hinted, bool):
            pause = max(pause, min(float(hinted), self.max_pause_s))
        if elapsed_s + pause > self.max_elapsed_s:
            return None
        return pause


NO_RETRY = RetryPolicy(attempts=1)


def is_transient(error: ConveyorError) -> bool:
    """The server could not be reached, did not answer in time, or answered 503 (its
    database is restarting, it is overloaded): the same request may work shortly."""
    if isinstance(error, ServerUnreachable):  # RequestTimeout too
        return True
    if isinstance(error, ApiError):
        return error.status == 503
    return error.code == "store_error"
