"""Python tasks the fault scenarios run: each execution is written to the ledger.

Every task returns ``{"attempt", "token"}``: the attempt and lease token of the run
that produced the result, which the checker matches with the job's final attempt.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

from conveyor.sdk.context import TaskContext
from conveyor.sdk.tasks import Tasks
from tests.chaos import ledger as ledger_file

tasks = Tasks(prefix="chaos.")


def _record(ledger: str, ctx: TaskContext, event: str, **extra: Any) -> None:
    ledger_file.append(
        ledger,
        {"event": event, "job": ctx.job_id, "attempt": ctx.attempt, "token": ctx.lease_token,
         "agent_pid": os.getppid(), "pid": os.getpid(), **extra},
    )  # fmt: skip


def _gate_open(gate: Path, attempt: int) -> bool:
    return (gate / "all").exists() or (gate / str(attempt)).exists()


@tasks.action
def work(ledger: str, ctx: TaskContext, gate: str = "") -> dict[str, Any]:
    """Run until the test opens the gate: file ``<gate>/all`` or ``<gate>/<attempt>``, or
    until the agent stops it (SIGTERM interrupts ``ctx.sleep``: a cooperative task)."""
    _record(ledger, ctx, "start")
    try:
        while gate and not _gate_open(Path(gate), ctx.attempt):
            ctx.sleep(
                0.01
            )  # the task's own behaviour: it waits for the test's file; a stop ends it
    except BaseException:
        _record(ledger, ctx, "end", outcome="raised")
        raise
    _record(ledger, ctx, "end", outcome="returned")
    return {"attempt": ctx.attempt, "token": ctx.lease_token}


@tasks.action
def poison(ledger: str, ctx: TaskContext) -> dict[str, Any]:
    """Kill the agent running it (SIGKILL), on every attempt, then die too."""
    _record(ledger, ctx, "start")
    os.kill(os.getppid(), signal.SIGKILL)
    os._exit(1)


@tasks.action
def flood(ledger: str, ctx: TaskContext, mib: int) -> dict[str, Any]:
    """Write ``mib`` MiB to file descriptor 1 (as a chatty program does), in 1 KiB lines."""
    _record(ledger, ctx, "start")
    block = (b"x" * 1023 + b"\n") * 64  # 64 KiB
    for _ in range(mib * 16):
        os.write(1, block)
    _record(ledger, ctx, "end", outcome="returned")
    return {"attempt": ctx.attempt, "token": ctx.lease_token}
