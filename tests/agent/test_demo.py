"""The built-in demo actions, run the way an agent runs them."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path

from conveyor.agent.python_exec import PythonExecutor
from conveyor.agent.shell import ShellExecutor
from conveyor.demo import EXPORT_HEADER, countdown_action
from tests.agent.support import RecordingSink, assignment


async def test_export_csv_writes_a_header_and_the_rows(tmp_path: Path) -> None:
    ex = PythonExecutor("conveyor.demo:tasks")
    sink = RecordingSink(tmp_path)
    try:
        job = assignment("demo.export_csv", {"rows": 100_000})
        outcome = await asyncio.wait_for(ex.run(job, sink, asyncio.Event()), 60)
        assert outcome.outcome == "succeeded", outcome.error
        assert outcome.result == {"rows": 100_000, "artifact": "export.csv"}
        path, content_type = sink.artifacts["export.csv"]
        assert content_type == "text/csv"
        with path.open(newline="") as handle:
            rows = csv.reader(handle)
            assert tuple(next(rows)) == EXPORT_HEADER
            first = next(rows)
            assert first[0] == "1" and first[2].endswith("@example.com")
            assert sum(1 for _ in rows) == 99_999
        with path.open("rb") as handle:
            assert sum(1 for _ in handle) == 100_001
        assert sink.progress_values[-1] == {"fraction": 1.0, "done": 100_000, "total": 100_000}
        empty = await ex.run(assignment("demo.export_csv", {"rows": 0}), sink, asyncio.Event())
        assert empty.outcome == "succeeded"
        assert sink.artifacts["export.csv"][0].read_text().splitlines() == [",".join(EXPORT_HEADER)]
    finally:
        await ex.close()


async def test_echo_sleep_and_fail(tmp_path: Path) -> None:
    ex = PythonExecutor("conveyor.demo:tasks")
    sink = RecordingSink(tmp_path)
    try:
        echo = await ex.run(assignment("demo.echo", {"a": 1, "b": ["x"]}), sink, asyncio.Event())
        assert echo.result == {"a": 1, "b": ["x"]}
        slept = await ex.run(assignment("demo.sleep", {"seconds": 0.01}), sink, asyncio.Event())
        assert slept.result == {"slept": 0.01}
        failed = await ex.run(assignment("demo.fail", {"retryable": False}), sink, asyncio.Event())
        assert failed.outcome == "failed" and not failed.retryable
    finally:
        await ex.close()


async def test_the_countdown_shell_demo_logs_and_succeeds(tmp_path: Path) -> None:
    ex = ShellExecutor([countdown_action()])
    sink = RecordingSink(tmp_path)
    outcome = await ex.run(assignment("demo.countdown", {"seconds": 1}), sink, asyncio.Event())
    assert outcome.outcome == "succeeded"
    assert sink.texts("stdout") == ["T-minus 1", "liftoff"]
