"""The task of the log test: it is given a secret, prints it and keeps it in an artifact."""

from __future__ import annotations

from conveyor.sdk.context import TaskContext
from conveyor.sdk.tasks import Tasks

tasks = Tasks(prefix="e2e-logs.")


@tasks.action
def keep(password: str, ctx: TaskContext) -> dict[str, int]:
    """The job's own output and artifact may hold its secret: the processes' logs may not."""
    print(f"the password is {password}", flush=True)
    with ctx.open_artifact("secret.txt") as handle:
        handle.write(password)
    return {"length": len(password)}
