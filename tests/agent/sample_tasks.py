"""Tasks the Python executor tests run in real worker processes."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from typing import Annotated, Any

from pydantic import Field

from conveyor.sdk import NonRetryable, TaskContext, Tasks

tasks = Tasks(prefix="t.")


@tasks.action
def add(a: int, b: int = 1) -> int:
    """Add two numbers."""
    return a + b


@tasks.action(description="Add, asynchronously")
async def async_add(a: int, b: int, ctx: TaskContext) -> dict[str, Any]:
    await asyncio.sleep(0)
    return {"sum": a + b, "job": ctx.job_id}


@tasks.action
def whoami(ctx: TaskContext) -> dict[str, Any]:
    """Which job, attempt and lease this run is."""
    return {"job": ctx.job_id, "attempt": ctx.attempt, "lease_token": ctx.lease_token}


@tasks.action(timeout_s=30)
def typed(
    name: Annotated[str, Field(min_length=1, max_length=10)],
    count: Annotated[int, Field(ge=0)] = 3,
    tags: list[str] | None = None,
    ctx: TaskContext | None = None,
) -> list[str]:
    return [name] * count + (tags or [])


class ChargeDeclined(ValueError):
    pass


def _inner(amount: int) -> None:
    raise ChargeDeclined(f"card declined for {amount}")


@tasks.action
def boom(amount: int = 5) -> None:
    _inner(amount)


@tasks.action
def refuse() -> None:
    raise NonRetryable("no such customer")


@tasks.action
def spin(ctx: TaskContext) -> None:
    """Loops without ever looking at cancellation: only a kill stops it."""
    ctx.log(f"spinning in {os.getpid()}")
    while True:
        pass


@tasks.action
def nap(ctx: TaskContext, seconds: float = 1000.0) -> str:
    ctx.log("napping")
    ctx.sleep(seconds)
    return "rested"


@tasks.action
def finish_despite_stop(seconds: float = 1.5) -> str:
    """Says it started, then finishes its work even when stopped meanwhile (SIGTERM)."""
    print("started", flush=True)
    time.sleep(seconds)
    return "finished"


@tasks.action
async def async_nap(ctx: TaskContext) -> str:
    ctx.log("napping")
    try:
        await asyncio.sleep(1000)
    finally:
        ctx.log("woken up")
    return "rested"


@tasks.action
def chatty(ctx: TaskContext) -> str:
    print("one")
    ctx.log("two")
    print("three", file=sys.stderr)
    print("four", end="")
    print(" and more")
    subprocess.run(["echo", "from a child"], check=True)
    sys.stdout.write("partial line without newline")
    return "done"


@tasks.action
def report(ctx: TaskContext, rows: int = 3) -> str:
    ctx.progress(0.0, message="starting")
    with ctx.open_artifact("numbers.txt") as out:
        for i in range(rows):
            out.write(f"{i}\n")
            ctx.progress(done=i + 1, total=rows)
    path = ctx.artifact_path("data.bin")
    path.write_bytes(b"\x00\x01\x02")
    ctx.save_artifact(path, content_type="application/x-test")
    return "saved"


@tasks.action
def bad_artifact(ctx: TaskContext) -> str:
    ctx.artifact_path("../escape.txt")
    return "unreachable"


@tasks.action
def die(code: int = 7) -> None:
    sys.stdout.flush()
    os._exit(code)


@tasks.action
def leave_child(ctx: TaskContext) -> int:
    child = subprocess.Popen(["sleep", "1000"])
    ctx.log(f"child {child.pid}")
    return child.pid


@tasks.action
def environment() -> dict[str, str]:
    return dict(os.environ)


@tasks.action
def not_json() -> object:
    return object()


@tasks.action
def anything(**params: Any) -> dict[str, Any]:
    return params


@tasks.action
def spin_with_child(ctx: TaskContext) -> None:
    """Spins, with a child that ignores SIGTERM."""
    child = subprocess.Popen(["sh", "-c", "trap '' TERM; while :; do sleep 1; done"])
    ctx.log(f"spinning in {os.getpid()} with child {child.pid}")
    while True:
        pass
