"""A real server (``tests/api``'s ``live`` fixture: uvicorn on a free port) and a Client on it.

Every client test runs twice: with :class:`Client`, and with :class:`AsyncClient`
behind the same blocking calls (``tests/sdk/blocking.py``): the async client
passes the same tests as the sync one.

What no public endpoint does without an agent (claiming a job, writing its log,
finishing it) goes through the server's own store, as an agent's messages would.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from conveyor.sdk.client import Client
from conveyor.store.queries.leases import Outcome, Report
from conveyor.store.records import ClaimedJob, LogChunkIn
from tests.api.conftest import ECHO, Live
from tests.api.conftest import live as live  # the live-server fixture, shared with tests/api
from tests.sdk.blocking import Blocking

Connect = Callable[..., Client]


@pytest.fixture(autouse=True)
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test reads or writes the login of the person running the tests."""
    where = tmp_path / "conveyor-config"
    monkeypatch.setenv("CONVEYOR_CONFIG_DIR", str(where))
    return where


@pytest.fixture(params=["sync", "async"])
def connect(request: pytest.FixtureRequest) -> Iterator[Connect]:
    """``connect(server, token=...)``: a Client, or an AsyncClient called the same way."""
    opened: list[Client] = []

    def make(*args: Any, **kwargs: Any) -> Client:
        made = Client(*args, **kwargs) if request.param == "sync" else Blocking(*args, **kwargs)
        opened.append(cast(Client, made))
        return opened[-1]

    yield make
    for made in opened:
        made.close()


@pytest.fixture
def client(live: Live, connect: Connect) -> Iterator[Client]:
    live.offer(ECHO)
    with connect(live.url, token=live.admin_token, timeout=10) as c:
        yield c


def claim(live: Live, job_id: uuid.UUID) -> ClaimedJob:
    """Take the job as an agent would: it is running afterwards."""
    [claimed] = live.claim(ECHO)
    assert claimed.id == job_id
    return claimed


def finish(live: Live, job: ClaimedJob, outcome: Outcome = Outcome.SUCCEEDED, *,
           result: Any = None, error: dict[str, Any] | None = None,
           retryable: bool = True) -> None:  # fmt: skip
    report = Report(job.id, job.lease_token, outcome, result, error, retryable)
    [applied] = live.run(live.store.job_report(live.team_id, [report]))
    assert applied.applied


def write_log(live: Live, job: ClaimedJob, seq: int, *texts: str) -> None:
    lines: list[dict[str, Any]] = [{"ts": 1.0, "stream": "stdout", "text": t} for t in texts]
    chunk = LogChunkIn(job.id, job.lease_token, job.attempt, seq, lines)
    [appended] = live.run(live.store.log_append(live.team_id, [chunk]))
    assert appended.stored


def upload(live: Live, job: ClaimedJob, name: str, body: bytes) -> None:
    """Store an artifact over HTTP with the lease token, as the agent does."""
    with live.client(token=live.agent_key) as agent:
        response = agent.put(
            f"/jobs/{job.id}/artifacts/{name}",
            content=body,
            headers={"X-Conveyor-Lease-Token": str(job.lease_token), "Content-Type": "text/csv"},
        )
    assert response.is_success, response.text
