"""A stream of submits through the SDK, as clients keep sending while a fault strikes.

The SDK keys every submit and sends it again after a connection error, a timeout or
a 503; the stream records each acknowledged job (and when it was acknowledged) and
every error the SDK saw before it retried, so that a scenario can assert which
answers a fault produced (e.g. only 503s while the database restarts).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from conveyor import Client
from conveyor.errors import ConveyorError
from conveyor.sdk.errors import ApiError
from conveyor.sdk.retry import RetryPolicy
from tests.chaos.conftest import Scenario


@dataclass(frozen=True)
class RecordingRetry(RetryPolicy):
    """The SDK's retry rule, with a budget that outlasts a restart, noting each error."""

    attempts: int = 1000
    max_elapsed_s: float = 90.0
    max_pause_s: float = 1.0
    seen: list[ConveyorError] = field(default_factory=list)

    def pause(self, error: ConveyorError, failures: int, elapsed_s: float) -> float | None:
        self.seen.append(error)
        return super().pause(error, failures, elapsed_s)


class SubmitStream:
    """``clients`` threads submitting ``chaos.work`` jobs (no gate) until :meth:`stop`;
    each waits ``interval_s`` between submits (a steady load) and talks to ``url``."""

    def __init__(
        self, scenario: Scenario, clients: int = 2, interval_s: float = 0.0, url: str = ""
    ) -> None:
        self.retry = RecordingRetry()
        self.acknowledged: list[tuple[float, str]] = []  # (monotonic time, job id)
        self.failures: list[BaseException] = []  # submits the SDK gave up on
        self._ledger = str(scenario.ledger)
        self._url, self._token = url or scenario.server.url, scenario.server.token
        self._interval_s = interval_s
        self._stopping = threading.Event()
        self._threads = [threading.Thread(target=self._submit) for _ in range(clients)]
        for thread in self._threads:
            thread.start()

    def _submit(self) -> None:
        with Client(self._url, self._token, retry_policy=self.retry) as client:
            while not self._stopping.is_set():
                try:
                    job = client.submit("chaos.work", {"ledger": self._ledger, "gate": ""})
                except ConveyorError as exc:
                    self.failures.append(exc)
                    continue
                self.acknowledged.append((time.monotonic(), str(job.id)))
                self._stopping.wait(self._interval_s)

    def acknowledged_since(self, since: float) -> int:
        return sum(1 for at, _ in self.acknowledged if at > since)

    def ids(self) -> list[str]:
        return [job_id for _, job_id in self.acknowledged]

    def stop(self) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join(120)

    def errors_other_than_503(self) -> list[ConveyorError]:
        """What the SDK saw besides a 503 (``store_error`` is what the server answers 503)."""
        return [e for e in self.retry.seen if not _unavailable(e)]


def _unavailable(error: ConveyorError) -> bool:
    return error.code == "store_error" or (isinstance(error, ApiError) and error.status == 503)


def stored_jobs(scenario: Scenario) -> list[str]:
    """Every job the server holds: a submit whose answer was cut off may be stored too."""
    with Client(scenario.server.url, scenario.server.token) as sdk:
        return sorted(str(job.id) for job in sdk.list(page_size=500))
