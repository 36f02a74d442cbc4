"""Python tasks the end-to-end tests run on real agents."""

from __future__ import annotations

import os
import time
from pathlib import Path

from conveyor.sdk.context import TaskContext
from conveyor.sdk.tasks import Tasks

tasks = Tasks(prefix="e2e.")


def _wait_for(path: Path) -> None:
    # The task's own behaviour: it waits for a file the test writes when it chooses.
    while not path.exists():
        time.sleep(0.01)


@tasks.action
def add(a: int, b: int) -> int:
    return a + b


@tasks.action
def hold(folder: str, ctx: TaskContext) -> dict[str, int]:
    """Record this attempt's pid, then wait for the test to let this attempt finish."""
    attempt = ctx.attempt
    (Path(folder) / f"{attempt}.pid").write_text(str(os.getpid()))
    _wait_for(Path(folder) / f"go-{attempt}")
    return {"attempt": attempt, "pid": os.getpid()}


@tasks.action
def lines(count: int, folder: str) -> int:
    """Print line k, then wait until the test has seen it over SSE (it writes ack-k)."""
    for k in range(count):
        print(f"line {k}", flush=True)
        _wait_for(Path(folder) / f"ack-{k}")
    return count


@tasks.action
def nap(ms: int) -> int:
    """Work that takes ``ms`` milliseconds (flow-limit tests measure overlaps)."""
    time.sleep(ms / 1000)
    return ms


@tasks.action
def flaky(succeed_on: int, ctx: TaskContext) -> int:
    """Fail every attempt before ``succeed_on`` (a retry's and a dead job's figures)."""
    if ctx.attempt < succeed_on:
        raise RuntimeError(f"attempt {ctx.attempt} fails on purpose")
    return ctx.attempt
