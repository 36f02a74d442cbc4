"""PythonExecutor with real worker processes: results, errors, output, stop, artifacts."""

from __future__ import annotations

import asyncio
import gc
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from conveyor.agent.outcome import Outcome
from conveyor.agent.platform import posix
from conveyor.agent.python_exec import PythonExecutor, _Worker
from tests.agent.support import (
    RecordingSink,
    alive,
    assignment,
    children_running,
    group_left,
    wait_until,
)

SPEC = "tests.agent.sample_tasks:tasks"


@pytest.fixture
async def executor() -> AsyncIterator[PythonExecutor]:
    ex = PythonExecutor(SPEC, slots=1)
    yield ex
    await ex.close()


@pytest.fixture
def sink(tmp_path: Path) -> RecordingSink:
    return RecordingSink(tmp_path / "uploaded")


async def run(
    ex: PythonExecutor, sink: RecordingSink, action: str, params: object = None, **kw: float
) -> Outcome:
    return await asyncio.wait_for(
        ex.run(assignment(action, params, **kw), sink, asyncio.Event()), 20
    )


def worker_pids(ex: PythonExecutor) -> list[int]:
    return [slot.worker.process.pid for slot in ex._slots if slot.worker is not None]


async def test_sync_and_async_tasks_return_their_result(
    executor: PythonExecutor, sink: RecordingSink
) -> None:
    outcome = await run(executor, sink, "t.add", {"a": 2, "b": "3"})  # coerced like pydantic does
    assert (outcome.outcome, outcome.result) == ("succeeded", 5)
    job = assignment("t.async_add", {"a": 1, "b": 2})
    outcome = await executor.run(job, sink, asyncio.Event())
    assert outcome.outcome == "succeeded"
    assert outcome.result == {"sum": 3, "job": str(job.job_id)}


async def test_a_task_sees_its_job_attempt_and_lease_token(
    executor: PythonExecutor, sink: RecordingSink
) -> None:
    job = assignment("t.whoami")
    outcome = await executor.run(job, sink, asyncio.Event())
    assert outcome.result == {
        "job": str(job.job_id), "attempt": job.attempt, "lease_token": str(job.lease_token)
    }  # fmt: skip


async def test_a_worker_is_reused_between_jobs(
    executor: PythonExecutor, sink: RecordingSink
) -> None:
    await run(executor, sink, "t.add", {"a": 1})
    first = worker_pids(executor)
    await run(executor, sink, "t.add", {"a": 2})
    assert worker_pids(executor) == first


def test_offers_carry_the_schema_from_the_type_hints() -> None:
    ex = PythonExecutor(SPEC)
    offers = {offer.name: offer for offer in ex.offers()}
    assert ex.handles("t.typed") and not ex.handles("typed")
    typed = offers["t.typed"]
    assert typed.kind == "python"
    schema = typed.params_schema
    assert schema["required"] == ["name"]
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == {"name", "count", "tags"}  # ctx is injected, not a param
    assert schema["properties"]["name"] == {
        "maxLength": 10,
        "minLength": 1,
        "title": "Name",
        "type": "string",
    }
    assert schema["properties"]["count"]["minimum"] == 0
    assert offers["t.add"].description == "Add two numbers."
    assert offers["t.anything"].params_schema["additionalProperties"] is True


async def test_invalid_params_are_refused_before_the_call(
    executor: PythonExecutor, sink: RecordingSink
) -> None:
    for params in ({"a": "not a number"}, {"b": 1}, {"a": 1, "surprise": True}, ["a"]):
        outcome = await run(executor, sink, "t.add", params)
        assert outcome.outcome == "failed"
        assert not outcome.retryable
        assert outcome.error is not None and outcome.error["type"] == "invalid_params"
    outcome = await run(executor, sink, "t.typed", {"name": "x" * 11})
    assert outcome.error is not None and "at most 10 characters" in outcome.error["message"]


async def test_an_exception_fails_with_its_traceback(
    executor: PythonExecutor, sink: RecordingSink
) -> None:
    outcome = await run(executor, sink, "t.boom", {"amount": 12})
    assert outcome.outcome == "failed"
    assert outcome.retryable
    assert outcome.error is not None
    assert outcome.error["type"] == "ChargeDeclined"
    assert outcome.error["message"] == "card declined for 12"
    assert "in _inner" in outcome.error["traceback"]
    assert "ChargeDeclined: card declined for 12" in outcome.error["traceback"]
    refused = await run(executor, sink, "t.refuse")
    assert refused.error is not None and refused.error["type"] == "NonRetryable"
    assert not refused.retryable
    # the worker survives a failing task
    assert (await run(executor, sink, "t.add", {"a": 1})).result == 2


async def test_a_result_that_is_not_json_fails(
    executor: PythonExecutor, sink: RecordingSink
) -> None:
    outcome = await run(executor, sink, "t.not_json")
    assert outcome.error is not None and outcome.error["type"] == "result_not_serializable"


async def test_output_becomes_log_lines_in_order(
    executor: PythonExecutor, sink: RecordingSink
) -> None:
    outcome = await run(executor, sink, "t.chatty")
    assert outcome.result == "done"
    piped = [line for line in sink.lines if line[1] != "from a child"]
    assert piped == [
        ("stdout", "one"),
        ("log", "two"),
        ("stderr", "three"),
        ("stdout", "four and more"),
        ("stdout", "partial line without newline"),
    ]
    assert ("stdout", "from a child") in sink.lines  # the child wrote to descriptor 1


async def test_progress_and_artifacts_reach_the_sink(
    executor: PythonExecutor, sink: RecordingSink
) -> None:
    outcome = await run(executor, sink, "t.report", {"rows": 3})
    assert outcome.result == "saved"
    assert sink.progress_values[0] == {"fraction": 0.0, "message": "starting"}
    assert sink.progress_values[-1] == {"fraction": 1.0, "done": 3, "total": 3}
    numbers, kind = sink.artifacts["numbers.txt"]
    assert (numbers.read_text(), kind) == ("0\n1\n2\n", "text/plain")
    data, kind = sink.artifacts["data.bin"]
    assert (data.read_bytes(), kind) == (b"\x00\x01\x02", "application/x-test")


async def test_a_refused_upload_fails_the_task(
    executor: PythonExecutor, sink: RecordingSink
) -> None:
    sink.fail_uploads = True
    outcome = await run(executor, sink, "t.report")
    assert outcome.error is not None
    assert outcome.error["type"] == "ArtifactError"
    assert "upload refused (409)" in outcome.error["message"]
    bad = await run(executor, sink, "t.bad_artifact")
    assert bad.error is not None and "bad artifact name" in bad.error["message"]


async def test_cancel_kills_a_busy_task_and_the_slot_works_again(
    executor: PythonExecutor, sink: RecordingSink
) -> None:
    stop = asyncio.Event()
    job = asyncio.create_task(executor.run(assignment("t.spin", cancel_grace_s=0.3), sink, stop))
    line = await sink.wait_for(lambda t: t.startswith("spinning in "))
    pid = int(line.rsplit(" ", 1)[1])
    stop.set()
    outcome = await asyncio.wait_for(job, 10)
    assert outcome.outcome == "cancelled"
    assert not alive(pid)
    assert group_left(pid) == []
    after = await run(executor, sink, "t.add", {"a": 41})
    assert after.result == 42
    assert worker_pids(executor) != [pid]


@pytest.mark.parametrize("action", ["t.nap", "t.async_nap"])
async def test_cancel_interrupts_a_waiting_task_without_the_grace(
    executor: PythonExecutor, sink: RecordingSink, action: str
) -> None:
    stop = asyncio.Event()
    job = asyncio.create_task(executor.run(assignment(action, cancel_grace_s=60), sink, stop))
    await sink.wait_for(lambda t: t == "napping")
    stop.set()
    outcome = await asyncio.wait_for(job, 10)  # far less than the 60 s grace
    assert outcome.outcome == "cancelled"
    if action == "t.async_nap":
        assert "woken up" in sink.texts("log")  # its finally block ran


async def test_timeout_stops_the_task(executor: PythonExecutor, sink: RecordingSink) -> None:
    outcome = await run(executor, sink, "t.spin", timeout_s=0.5, cancel_grace_s=0.2)
    assert outcome.outcome == "failed"
    assert outcome.error is not None and outcome.error["type"] == "timeout"
    assert (await run(executor, sink, "t.add", {"a": 0})).result == 1


async def test_a_dying_worker_fails_the_job_and_is_replaced(
    executor: PythonExecutor, sink: RecordingSink
) -> None:
    outcome = await run(executor, sink, "t.die", {"code": 7})
    assert outcome.outcome == "failed"
    assert outcome.error is not None
    assert outcome.error["type"] == "worker_died"
    assert outcome.error["exit_code"] == 7
    assert (await run(executor, sink, "t.add", {"a": 1})).result == 2


@pytest.mark.parametrize("window_s", [3600.0, -1.0], ids=["new-pids-only", "every-process"])
async def test_processes_a_task_leaves_behind_are_stopped(
    executor: PythonExecutor, sink: RecordingSink, window_s: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The check after each job reads only the pids created since the last one when it
    # can (a warm worker, a quick job), else every process: both must find the child.
    monkeypatch.setattr(posix, "FAST_CHECK_WINDOW_S", window_s)
    assert (await run(executor, sink, "t.add", {"a": 1})).result == 2
    outcome = await run(executor, sink, "t.leave_child", cancel_grace_s=0.5)
    assert outcome.outcome == "succeeded"
    assert not alive(outcome.result)


async def test_workers_see_an_allow_listed_environment(
    sink: RecordingSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONVEYOR_AGENT_KEY", "cvk_agent_secret")
    monkeypatch.setenv("DATABASE_PASSWORD", "hunter2")
    ex = PythonExecutor(SPEC)
    try:
        outcome = await run(ex, sink, "t.environment")
    finally:
        await ex.close()
    env = outcome.result
    assert "CONVEYOR_AGENT_KEY" not in env and "DATABASE_PASSWORD" not in env
    assert "PATH" in env


async def test_jobs_beyond_the_slots_wait_for_a_free_worker(
    sink: RecordingSink, tmp_path: Path
) -> None:
    ex = PythonExecutor(SPEC, slots=2)
    try:
        stops = [asyncio.Event() for _ in range(3)]
        sinks = [RecordingSink(tmp_path / str(i)) for i in range(3)]
        jobs = [
            asyncio.create_task(ex.run(assignment("t.nap", cancel_grace_s=5), s, stop))
            for s, stop in zip(sinks, stops, strict=True)
        ]
        await sinks[0].wait_for(lambda t: t == "napping")
        await sinks[1].wait_for(lambda t: t == "napping")
        assert sinks[2].lines == []  # no third worker
        stops[2].set()  # cancelled while waiting for a slot: never started
        assert (await asyncio.wait_for(jobs[2], 10)).outcome == "cancelled"
        assert sinks[2].lines == []
        for stop in stops[:2]:
            stop.set()
        assert [(await j).outcome for j in jobs[:2]] == ["cancelled", "cancelled"]
    finally:
        await ex.close()


async def test_close_stops_the_workers(sink: RecordingSink) -> None:
    ex = PythonExecutor(SPEC, slots=2)
    await ex.warm()
    pids = worker_pids(ex)
    assert len(pids) == 2 and all(alive(pid) for pid in pids)
    await ex.close()
    assert not any(alive(pid) for pid in pids)


def test_a_bad_spec_fails_at_once() -> None:
    with pytest.raises(ValueError, match="module:attr"):
        PythonExecutor("tests.agent.sample_tasks")
    with pytest.raises(ValueError, match=r"not a conveyor\.Tasks"):
        PythonExecutor("tests.agent.sample_tasks:add")
    with pytest.raises(ValueError, match=r"cannot import tests\.agent\.no_such_module"):
        PythonExecutor("tests.agent.no_such_module:tasks")


AGENT = """
import asyncio
from pathlib import Path
from conveyor.agent.python_exec import PythonExecutor
from tests.agent.support import RecordingSink, assignment

async def main():
    ex = PythonExecutor("tests.agent.sample_tasks:tasks")
    sink = RecordingSink(Path("."))
    job = asyncio.create_task(ex.run(assignment("t.spin_with_child"), sink, asyncio.Event()))
    print(await sink.wait_for(lambda t: t.startswith("spinning in ")), flush=True)
    await job

asyncio.run(main())
"""


async def test_a_dead_agent_takes_its_workers_and_their_children_along() -> None:
    agent = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        AGENT,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)},
    )
    assert agent.stdout is not None
    line = (await asyncio.wait_for(agent.stdout.readline(), 20)).decode().split()
    worker, child = int(line[2]), int(line[5])
    assert alive(worker) and alive(child)
    agent.kill()  # SIGKILL: no chance to clean up
    await agent.wait()
    await wait_until(lambda: not group_left(worker), what="the worker's group to be gone")
    assert not alive(child)


async def test_a_worker_start_cancelled_at_any_point_leaves_nothing_behind() -> None:
    """The agent cancels a worker that is still starting when it stops (``close``).

    Each start is cancelled a few more steps of the event loop in; a pipe or process
    transport left open would fail the test (an unraisable ResourceWarning), and no
    worker process may outlive its start.
    """
    ex = PythonExecutor(SPEC, slots=1)
    started: list[int] = []
    for steps in range(40):
        task = asyncio.create_task(_Worker.start(ex.specs, ex.worker_env()))
        for _ in range(steps):
            await asyncio.sleep(0)
        task.cancel()
        try:
            worker = await task
        except asyncio.CancelledError:
            pass
        else:  # it was ready before the cancel arrived
            started.append(worker.pid)
            await worker.shutdown()
        gc.collect()  # an unclosed transport warns when it is collected
    await wait_until(lambda: not children_running(b"conveyor.agent.worker"), "the workers to exit")
    assert len(started) < 40  # the starts were cancelled on the way
