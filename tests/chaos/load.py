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
from pathlib import Path

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


class BalancedSubmits:
    """Threads submitting ``chaos.work`` jobs (no gate) round-robin to the servers in
    ``urls``, as behind a load balancer (servers join and leave: change ``urls``), each
    acknowledged job noted with the server that acknowledged it; ``pause_s`` between two
    submits of a client keeps the load steady rather than flooding a small machine."""

    def __init__(
        self, ledger: Path, token: str, urls: list[str], clients: int = 2, pause_s: float = 0.2
    ) -> None:
        self.urls = urls
        self.acknowledged: list[tuple[float, str, str]] = []  # (monotonic, url, job id)
        self.failures: list[ConveyorError] = []  # submits the SDK gave up on
        self._ledger, self._token, self._pause_s = str(ledger), token, pause_s
        self._stopping = threading.Event()
        self._threads = [threading.Thread(target=self._submit) for _ in range(clients)]
        for thread in self._threads:
            thread.start()

    def _submit(self) -> None:
        clients: dict[str, Client] = {}
        turn = 0
        try:
            while not self._stopping.is_set():
                urls = list(self.urls)
                url = urls[turn % len(urls)]
                turn += 1
                if url not in clients:  # a short retry budget: a server may have left
                    retry = RecordingRetry(max_elapsed_s=10.0)
                    clients[url] = Client(url, self._token, retry_policy=retry)
                try:
                    job = clients[url].submit("chaos.work", {"ledger": self._ledger, "gate": ""})
                except ConveyorError as exc:  # not acknowledged: nothing is owed for it
                    self.failures.append(exc)
                    continue
                self.acknowledged.append((time.monotonic(), url, str(job.id)))
                self._stopping.wait(self._pause_s)
        finally:
            for client in clients.values():
                client.close()

    def count(self, url: str = "", since: float = 0.0) -> int:
        """Acknowledged by ``url`` (any server: "") after ``since`` (monotonic)."""
        return sum(1 for at, where, _ in self.acknowledged if url in ("", where) and at > since)

    def ids(self) -> list[str]:
        return [job_id for _, _, job_id in self.acknowledged]

    def stop(self) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join(120)
