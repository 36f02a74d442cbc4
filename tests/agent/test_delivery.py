"""Finished work is never thrown away: a result whose store write failed, a job that
finishes during the shutdown, a job that writes faster than its log can be shipped.

In process (see ``harness``): the store write fails for a moment because the test puts
a failing write in front of the server's own store, as a database restart would fail it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa

from conveyor import protocol
from conveyor.agent import runtime
from conveyor.agent.connection import BACKOFF_MAX_S, BACKOFF_MIN_S, Backoff
from conveyor.agent.executor import JobSink
from conveyor.agent.lifecycle import Lifecycle
from conveyor.agent.outcome import Outcome
from conveyor.agent.python_exec import PythonExecutor
from conveyor.agent.runtime import Agent, AgentOptions
from conveyor.engine import hub
from conveyor.store import Lease, Report, Store
from tests.agent.harness import WAIT_S, GateExecutor, harness

T = TypeVar("T")


async def within(waited: Awaitable[T]) -> T:
    async with asyncio.timeout(WAIT_S):
        return await waited


class FailingReports:
    """Makes the store's result writes fail (as during a database restart) until healed;
    counts the writes tried and signals each heartbeat that extends a watched job."""

    def __init__(self, store: Store, *, failures: int | None = None) -> None:
        self.store = store
        self.left = failures  # None: fail until heal()
        self.failing = True
        self.tried = 0
        self.failed = asyncio.Event()
        self.extended: dict[uuid.UUID, asyncio.Event] = {}
        self._report = store.job_report
        self._extend = store.lease_extend

    async def job_report(self, team_id: uuid.UUID, reports: list[Report], **kw: Any) -> Any:
        self.tried += 1
        if self.failing and (self.left is None or self.left > 0):
            if self.left is not None:
                self.left -= 1
            self.failed.set()
            raise sa.exc.OperationalError("UPDATE jobs", None, Exception("the database restarts"))
        return await self._report(team_id, reports, **kw)

    async def lease_extend(self, team_id: uuid.UUID, held: list[Lease], **kw: Any) -> Any:
        answer = await self._extend(team_id, held, **kw)
        for lease in held:
            if lease.job_id in answer.extended and lease.job_id in self.extended:
                self.extended[lease.job_id].set()
        return answer

    def heal(self) -> None:
        self.failing = False


@contextmanager
def failing_reports(
    store: Store, monkeypatch: pytest.MonkeyPatch, *, failures: int | None = None
) -> Iterator[FailingReports]:
    wrapper = FailingReports(store, failures=failures)
    monkeypatch.setattr(store, "job_report", wrapper.job_report)
    monkeypatch.setattr(store, "lease_extend", wrapper.lease_extend)
    yield wrapper


async def test_a_result_whose_write_failed_is_stored_by_the_server_trying_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The agent would send it again only much later: the server's own retries store it.
    monkeypatch.setattr(runtime, "RESEND_AFTER_HEARTBEATS", 10_000, raising=False)
    async with harness(tmp_path) as h:
        gates = GateExecutor(open_gates=True)
        agent = h.agent(gates)
        with failing_reports(h.store, monkeypatch, failures=2) as store:
            h.run(agent)
            await within(agent.connected.wait())
            [job_id] = await h.submit()
            await within(agent.jobs.settled.wait())
        assert store.tried == 3
        assert (await h.job(job_id))["state"] == "succeeded"
        assert [a["outcome"] for a in await h.attempts(job_id)] == ["succeeded"]


async def test_a_result_the_server_gave_up_storing_is_sent_again_and_its_lease_kept_alive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hub, "REPORT_RETRIES", 0, raising=False)  # the server gives up at once
    async with harness(tmp_path) as h:
        gates = GateExecutor()
        agent = h.agent(gates)
        with failing_reports(h.store, monkeypatch) as store:
            h.run(agent)
            await within(agent.connected.wait())
            [job_id] = await h.submit()
            assert await within(gates.started.get()) == job_id
            gates.gate(job_id).set()
            await within(store.failed.wait())
            before = (await h.store.job_get(agent_team(h), job_id)).lease_expires_at
            # The job has ended on the agent, unacknowledged: its heartbeats still extend it.
            store.extended[job_id] = asyncio.Event()
            await within(store.extended[job_id].wait())
            after = (await h.store.job_get(agent_team(h), job_id)).lease_expires_at
            assert before is not None and after is not None and after > before
            assert job_id in agent.jobs and agent.jobs[job_id].done
            tried = store.tried
            store.heal()
            await within(agent.jobs.settled.wait())  # sent again in the same session
        assert store.tried > tried
        assert (await h.job(job_id))["state"] == "succeeded"
        assert [a["outcome"] for a in await h.attempts(job_id)] == ["succeeded"]


def agent_team(h: Any) -> uuid.UUID:
    """The team of the harness's agents (the one team a fresh server has)."""
    session = next(iter(h.app.state.services.hub.sessions.values()))
    team: uuid.UUID = session.team_id
    return team


class Announcing:
    """A :class:`PythonExecutor` that tells the test when a job printed ``started``."""

    def __init__(self, inner: PythonExecutor) -> None:
        self.inner = inner
        self.started: asyncio.Queue[uuid.UUID] = asyncio.Queue()

    def offers(self) -> list[protocol.ActionOffer]:
        return self.inner.offers()

    def handles(self, action: str) -> bool:
        return self.inner.handles(action)

    async def run(self, job: protocol.Assignment, sink: JobSink, stop: asyncio.Event) -> Outcome:
        announced = self.started

        class Watched:
            def log(self, stream: str, text: str) -> None:
                if text == "started":
                    announced.put_nowait(job.job_id)
                sink.log(stream, text)

            def progress(self, value: Any) -> None:
                sink.progress(value)

            async def artifact(self, name: str, path: Path, content_type: str) -> None:
                await sink.artifact(name, path, content_type)

            async def room(self) -> None:
                await sink.room()

        return await self.inner.run(job, Watched(), stop)

    async def close(self) -> None:
        await self.inner.close()


async def test_a_job_that_finishes_after_the_shutdown_grace_keeps_its_success(
    tmp_path: Path,
) -> None:
    async with harness(tmp_path) as h:
        executor = Announcing(PythonExecutor("tests.agent.sample_tasks:tasks"))
        options = AgentOptions(server=h.url, key=h.agent_key, name="leaving",
                               lifecycle=Lifecycle(shutdown_grace_s=0.0))  # fmt: skip
        agent = Agent(options, [executor])
        stop = asyncio.Event()
        ended = asyncio.create_task(agent.run(stop))
        try:
            await within(agent.connected.wait())
            answer = await h.api.post("/jobs", json={"action": "t.finish_despite_stop"})
            assert answer.status_code == 201, answer.text
            job_id = uuid.UUID(answer.json()["id"])
            assert await within(executor.started.get()) == job_id
            stop.set()  # no grace: the job is stopped at once, and finishes anyway
            assert await within(ended) == "signal"
        finally:
            ended.cancel()
        job = await h.job(job_id)
        assert (job["state"], job["result"]) == ("succeeded", "finished")
        assert [a["outcome"] for a in await h.attempts(job_id)] == ["succeeded"]


def test_reconnect_pauses_stay_short_and_fully_jittered() -> None:
    backoff = Backoff()
    pauses = [backoff.pause() for _ in range(50)]
    assert max(pauses) <= BACKOFF_MAX_S <= 5.0  # an outage of seconds costs seconds
    assert min(pauses[10:]) < BACKOFF_MAX_S / 2  # anywhere below the ceiling, not near it
    backoff.reset()
    assert backoff.pause() <= BACKOFF_MIN_S


async def test_a_session_that_was_up_starts_the_backoff_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ceilings: list[float] = []
    paused = asyncio.Event()

    class Recorded(Backoff):
        def pause(self) -> float:
            ceilings.append(self._next)
            paused.set()
            return super().pause()

    monkeypatch.setattr(runtime, "Backoff", Recorded)
    async with harness(tmp_path) as h:
        agent = h.agent(GateExecutor(), through_link=True)
        h.run(agent)
        for _ in range(4):  # each drop follows a session that was up: a prompt retry
            await within(agent.connected.wait())
            h.link.cut()
            h.link.restore()
            await within(paused.wait())  # the session ended; the agent pauses, then retries
            paused.clear()
        await within(agent.connected.wait())
    assert len(ceilings) >= 4 and set(ceilings) == {BACKOFF_MIN_S}
