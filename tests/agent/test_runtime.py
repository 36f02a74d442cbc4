"""The agent runtime against a real server in the same event loop (see ``harness``)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest

from conveyor.agent.lifecycle import Lifecycle
from tests.agent.harness import WAIT_S, GateExecutor, harness

T = TypeVar("T")


async def within(waited: Awaitable[T]) -> T:
    async with asyncio.timeout(WAIT_S):
        return await waited


async def test_the_server_assigns_no_more_jobs_than_the_agent_has_free_slots(
    tmp_path: Path,
) -> None:
    async with harness(tmp_path) as h:
        gates = GateExecutor()
        agent = h.agent(gates, slots=2)
        h.run(agent)
        await within(agent.connected.wait())
        jobs = await h.submit(5)
        started = [await within(gates.started.get()) for _ in range(2)]
        assert sorted(await h.states(jobs)) == ["queued"] * 3 + ["running"] * 2
        for ending in range(len(jobs) - 2):  # each job that ends frees a slot for one more
            gates.gate(started[ending]).set()
            started.append(await within(gates.started.get()))
        for job_id in started[-2:]:
            gates.gate(job_id).set()
        await within(agent.jobs.settled.wait())
        assert sorted(started) == sorted(jobs) and gates.most_running == 2
        assert await h.states(jobs) == ["succeeded"] * 5
        for job_id in jobs:  # none was assigned beyond the credits and handed back
            assert [a["outcome"] for a in await h.attempts(job_id)] == ["succeeded"]


async def test_a_result_made_while_disconnected_is_sent_again_after_reconnecting(
    tmp_path: Path,
) -> None:
    async with harness(tmp_path) as h:
        gates = GateExecutor()
        agent = h.agent(gates, through_link=True)
        h.run(agent)
        await within(agent.connected.wait())
        [job_id] = await h.submit()
        assert await within(gates.started.get()) == job_id
        h.link.cut()
        gates.gate(job_id).set()  # the job ends, its last log line and result unsent
        task = agent.jobs[job_id].task
        assert task is not None
        await within(task)
        assert agent.jobs[job_id].result is not None  # kept until acknowledged
        h.link.restore()
        await within(agent.jobs.settled.wait())  # reconnected, re-sent, acknowledged
        assert (await h.job(job_id))["state"] == "succeeded"
        assert [a["outcome"] for a in await h.attempts(job_id)] == ["succeeded"]
        texts = await h.log_texts(job_id)
        assert texts == [f"started {job_id}", f"finished {job_id}"]


@pytest.mark.parametrize("hurry", [False, True], ids=["grace over", "second stop"])
async def test_a_job_still_running_past_the_grace_or_a_second_stop_is_handed_back_and_runs_elsewhere(
    tmp_path: Path, hurry: bool
) -> None:
    async with harness(tmp_path) as h:
        first = GateExecutor()
        stop = asyncio.Event()
        # A second stop signal skips a grace that would outlast the test.
        grace = 4 * WAIT_S if hurry else 0.0
        leaving = h.agent(first, name="leaving", lifecycle=Lifecycle(shutdown_grace_s=grace))
        ended = h.run(leaving, stop)
        await within(leaving.connected.wait())
        [job_id] = await h.submit()
        assert await within(first.started.get()) == job_id
        stop.set()
        if hurry:
            leaving.hurry()
        assert await within(ended) == "signal"
        assert first.stopped.get_nowait() == job_id  # stopped, not finished there
        second = GateExecutor(open_gates=True)
        staying = h.agent(second, name="staying")
        h.run(staying)
        assert await within(second.started.get()) == job_id
        await within(staying.jobs.settled.wait())
        job = await h.job(job_id)
        assert job["state"] == "succeeded" and job["agent_id"] == str(staying.agent_id)
        attempts = await h.attempts(job_id)
        assert [(a["agent_id"], a["outcome"]) for a in attempts] == [
            (str(leaving.agent_id), "released"),
            (str(staying.agent_id), "succeeded"),
        ]


async def test_a_job_the_server_says_is_lost_is_stopped_and_never_reported(
    tmp_path: Path,
) -> None:
    async with harness(tmp_path) as h:
        gates = GateExecutor()
        agent = h.agent(gates)
        h.run(agent)
        await within(agent.connected.wait())
        [job_id] = await h.submit()
        assert await within(gates.started.get()) == job_id
        later = datetime.now(UTC) + timedelta(hours=1)  # the lease has expired by then
        reaped = await h.store.job_reap_expired(now=later)
        assert [job for job, _state in reaped] == [job_id]
        assert await within(gates.stopped.get()) == job_id  # the next heartbeat: lost
        await within(agent.jobs.settled.wait())
        assert job_id not in agent.jobs
        assert (await h.job(job_id))["state"] == "scheduled"  # retried, as the reaper chose
        assert [a["outcome"] for a in await h.attempts(job_id)] == ["lease_expired"]


async def test_a_prefetched_job_not_started_is_handed_back_at_once_on_shutdown(
    tmp_path: Path,
) -> None:
    async with harness(tmp_path) as h:
        first = GateExecutor()
        stop = asyncio.Event()
        # A long grace and a long prefetch wait: only the shutdown itself hands a job back.
        leaving = h.agent(first, name="leaving", prefetch=4, prefetch_wait_s=4 * WAIT_S,
                          lifecycle=Lifecycle(shutdown_grace_s=4 * WAIT_S))  # fmt: skip
        ended = h.run(leaving, stop)
        await within(leaving.connected.wait())
        [short] = await h.submit()
        first.gate(short).set()  # a short job: the agent then holds work beyond its slot
        assert await within(first.started.get()) == short
        await within(leaving.jobs.settled.wait())
        running, held = await h.submit(2, max_attempts=1)
        assert await within(first.started.get()) == running
        while held not in leaving.jobs:  # assigned, waiting here for the busy slot
            leaving.jobs.activity.clear()
            await within(leaving.jobs.activity.wait())
        assert not leaving.jobs[held].running
        stop.set()
        second = GateExecutor(open_gates=True)
        staying = h.agent(second, name="staying")
        h.run(staying)
        assert await within(second.started.get()) == held  # while the first job still runs
        assert not ended.done() and first.running == 1
        first.gate(running).set()
        assert await within(ended) == "signal"
        await within(staying.jobs.settled.wait())
        # Its one attempt was still left to run it: the release spent none.
        assert await h.states([running, held]) == ["succeeded", "succeeded"]
        attempts = await h.attempts(held)
        assert [(a["agent_id"], a["outcome"]) for a in attempts] == [
            (str(leaving.agent_id), "released"),
            (str(staying.agent_id), "succeeded"),
        ]
        assert [a["outcome"] for a in await h.attempts(running)] == ["succeeded"]
