"""conveyor.Client and conveyor.AsyncClient against a real server: jobs, waiting, queues,
agents, the event stream, errors as typed exceptions."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from conveyor.errors import (
    IdempotencyConflict,
    InvalidInput,
    InvalidParams,
    InvalidTransition,
    NotFound,
    Unauthenticated,
)
from conveyor.sdk.client import Client
from conveyor.sdk.errors import JobFailed, ServerUnreachable, WaitTimeout
from conveyor.sdk.models import JobRequest
from conveyor.states import JobState
from conveyor.store.queries.leases import Outcome
from tests.api.conftest import Live
from tests.helpers.live import free_port
from tests.sdk.conftest import Connect, claim, finish

T = TypeVar("T")


class Background:
    """Run a blocking client call in a thread; ``result()`` joins it (re-raising its error)."""

    def __init__(self, call: Callable[[], T]) -> None:
        self._value: Any = None
        self._error: BaseException | None = None

        def run() -> None:
            try:
                self._value = call()
            except BaseException as exc:
                self._error = exc

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def result(self, timeout: float = 30) -> Any:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the call did not return"
        if self._error is not None:
            raise self._error
        return self._value


def test_submit_get_and_submit_many(client: Client) -> None:
    job = client.submit("demo.echo", {"message": "hi"}, priority=5, labels={"os": "linux"},
                        max_attempts=2, timeout_s=30)  # fmt: skip
    assert job.state == JobState.QUEUED and job.priority == 5 and job.max_attempts == 2
    assert job.params == {"message": "hi"} and job.labels == {"os": "linux"}
    assert client.get(job.id) == client.get(str(job.id)) == job

    many = client.submit_many(
        [
            JobRequest(action="demo.echo", params={"rows": 1}),
            {"action": "demo.echo", "queue": "bulk"},
        ]
    )
    assert [j.params for j in many] == [{"rows": 1}, {}]
    assert [j.queue for j in many] == ["default", "bulk"]


def test_idempotency_key_returns_the_same_job(client: Client) -> None:
    first = client.submit("demo.echo", {"rows": 1}, idempotency_key="export-42")
    assert client.submit("demo.echo", {"rows": 1}, idempotency_key="export-42").id == first.id
    with pytest.raises(IdempotencyConflict):
        client.submit("demo.echo", {"rows": 2}, idempotency_key="export-42")


def test_error_answers_become_typed_errors(client: Client, live: Live, connect: Connect) -> None:
    with pytest.raises(InvalidInput, match=r"no\.such"):
        client.submit("no.such")
    with pytest.raises(InvalidParams) as bad:
        client.submit("demo.echo", {"rows": "many"})
    assert bad.value.details["path"] == ["rows"]
    with pytest.raises(NotFound):
        client.get(uuid.uuid4())
    with pytest.raises(NotFound):  # an id cannot climb out of its path segment
        client.get("../../me")
    with pytest.raises(Unauthenticated), connect(live.url, token="not-a-token") as stranger:
        stranger.get(uuid.uuid4())
    job = client.submit("demo.echo")
    finish(live, claim(live, job.id))
    with pytest.raises(InvalidTransition):
        client.cancel(job.id)
    assert client.page().items, "nothing was enqueued by the refused submissions? (sanity)"


def test_unreachable_server_is_a_clear_error(connect: Connect) -> None:
    with (
        connect(f"http://127.0.0.1:{free_port()}", token="t") as nowhere,
        pytest.raises(ServerUnreachable, match="cannot reach"),
    ):
        nowhere.get(uuid.uuid4())


def test_list_pages_newest_first_without_gaps(client: Client) -> None:
    submitted = [client.submit("demo.echo", {"rows": i + 1}) for i in range(7)]
    newest_first = [j.id for j in reversed(submitted)]
    assert [j.id for j in client.list(page_size=3)] == newest_first
    assert [j.id for j in client.list(limit=5, page_size=2)] == newest_first[:5]
    page = client.page(limit=3)
    assert len(page.items) == 3 and page.next_cursor is not None
    client.cancel(submitted[0].id)
    assert [j.id for j in client.list(state="cancelled")] == [submitted[0].id]
    assert [j.id for j in client.list(state=["queued", "cancelled"])] == newest_first
    assert list(client.list(queue="other")) == []


def test_wait_returns_once_the_job_is_cancelled(client: Client) -> None:
    job = client.submit("demo.echo")
    waiting = Background(lambda: client.wait(job.id, timeout=30))
    client.cancel(job.id)
    done = waiting.result()
    assert done.id == job.id and done.state == JobState.CANCELLED and done.is_terminal


def test_watch_yields_each_change_until_terminal(client: Client, live: Live) -> None:
    job = client.submit("demo.echo")
    watch = client.watch(job.id, timeout=30)
    assert next(watch).state == JobState.QUEUED
    claimed = claim(live, job.id)
    assert next(watch).state == JobState.RUNNING
    finish(live, claimed, result={"rows": 3})
    last = next(watch)
    assert last.state == JobState.SUCCEEDED and last.result == {"rows": 3}
    assert list(watch) == []


def test_result_returns_the_result_or_raises_job_failed(client: Client, live: Live) -> None:
    ok = client.submit("demo.echo")
    pending = Background(lambda: client.result(ok.id, timeout=30))
    finish(live, claim(live, ok.id), result={"rows": 3})
    assert pending.result() == {"rows": 3}

    bad = client.submit("demo.echo", max_attempts=1)
    error = {"type": "ValueError", "message": "no rows"}
    finish(live, claim(live, bad.id), Outcome.FAILED, error=error, retryable=False)
    with pytest.raises(JobFailed, match="ValueError: no rows") as failed:
        client.result(bad.id, timeout=30)
    assert failed.value.job.state == JobState.DEAD and failed.value.error == error

    gone = client.submit("demo.echo")
    client.cancel(gone.id)
    with pytest.raises(JobFailed, match="cancelled"):
        client.result(gone.id)


def test_wait_times_out_with_a_typed_error(client: Client) -> None:
    job = client.submit("demo.echo")
    with pytest.raises(WaitTimeout) as timed_out:
        client.wait(job.id, timeout=0.5)
    assert isinstance(timed_out.value, TimeoutError)
    assert timed_out.value.job.state == JobState.QUEUED


def test_cancel_running_then_retry(client: Client, live: Live) -> None:
    job = client.submit("demo.echo")
    claimed = claim(live, job.id)
    flagged = client.cancel(job.id)
    assert flagged.state == JobState.RUNNING and flagged.cancel_requested
    finish(live, claimed, Outcome.CANCELLED)
    assert client.wait(job.id, timeout=30).state == JobState.CANCELLED
    again = client.retry(job.id)
    assert again.state == JobState.QUEUED and again.max_attempts >= 1


def test_agents_and_actions(client: Client) -> None:
    actions = {a.name: a for a in client.actions()}
    assert "demo.echo" in actions and actions["demo.echo"].versions
    agents = client.agents()
    assert [a.name for a in agents] == ["catalog-agent"]


def test_queues_list_pause_and_resume(client: Client) -> None:
    client.submit("demo.echo", queue="bulk")
    client.submit("demo.echo", queue="bulk")
    queues = {q.name: q for q in client.queues()}
    assert queues["bulk"].counts == {"queued": 2} and not queues["bulk"].paused
    paused = client.pause_queue("bulk")
    assert paused.name == "bulk" and paused.paused
    assert {q.name: q.paused for q in client.queues()}["bulk"] is True
    assert client.resume_queue("bulk").paused is False


def test_drain_marks_the_agent_draining(client: Client) -> None:
    [agent] = client.agents()
    assert not agent.draining
    drained = client.drain(agent.id)
    assert drained.id == agent.id and drained.draining
    assert [a.draining for a in client.agents()] == [True]
    with pytest.raises(NotFound):
        client.drain(uuid.uuid4())


def test_events_follow_the_team_from_the_moment_the_stream_opens(client: Client) -> None:
    submitting: list[Background] = []

    def on_open() -> None:  # the stream is open: what happens now is in it
        if not submitting:  # (from another thread: the async client calls this on its loop)
            submitting.append(Background(lambda: client.submit("demo.echo")))

    events = client.events(kinds=["job"], on_open=on_open)
    first = next(events)
    job = submitting[0].result()
    assert first.kind == "job" and first.object_id == job.id
    client.cancel(job.id)
    later = next(e for e in events if e.object_id == job.id and e.seq > first.seq)
    assert later.kind == "job"
    resumed = next(client.events(kinds=["job"], after=first.seq))  # replays from an id
    assert resumed.seq > first.seq and resumed.object_id == job.id


def test_both_clients_are_exported_lazily() -> None:
    import conveyor
    import conveyor.sdk
    from conveyor.sdk.async_client import AsyncClient

    assert conveyor.AsyncClient is conveyor.sdk.AsyncClient is AsyncClient
    assert conveyor.Client is conveyor.sdk.Client is Client
