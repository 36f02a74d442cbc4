"""Sequential jobs: a concurrency key with limit 1 runs its jobs one at a time, back to back.

The dispatcher's safety-net poll is set to an hour, so each next job can only start
because the end of the one before it woke the dispatcher.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from itertools import pairwise
from pathlib import Path

import pytest

from tests.e2e.conftest import python_agent, submit, wait_states
from tests.helpers.live import LiveServer


@pytest.fixture
def quiet_server(db_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    server = LiveServer(db_url, tmp_path, dispatch_poll_s="3600")
    yield server
    server.process.stop()


def test_jobs_sharing_a_key_with_limit_1_run_one_after_another(quiet_server: LiveServer) -> None:
    agent = python_agent(quiet_server, "pair", slots=2)
    try:
        _run_sequence(quiet_server)
    finally:
        agent.process.kill()


def _run_sequence(server: LiveServer) -> None:
    with server.client() as api:
        ids = [
            submit(api, "e2e.add", {"a": i, "b": 0}, concurrency_key="export", concurrency_limit=1)
            for i in range(8)
        ]
        assert wait_states(api, ids, timeout=60) == dict.fromkeys(ids, "succeeded")
        spans = []
        for job_id in ids:
            job = api.get(f"/jobs/{job_id}").json()
            spans.append((_at(job["started_at"]), _at(job["finished_at"])))
    spans.sort()
    assert len(spans) == 8
    for (_, end), (start, _) in pairwise(spans):
        assert start >= end  # never two at once


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)
