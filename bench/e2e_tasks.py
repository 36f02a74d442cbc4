"""The no-op Python task the end-to-end benchmark runs on Conveyor agents.

It returns the wall-clock time at which its body ran, so the benchmark can tell
"the job's ``started_at``" (the claim, in the store) from "the task's code ran".
"""

from __future__ import annotations

import time

from conveyor.sdk.tasks import Tasks

tasks = Tasks(prefix="bench.")


@tasks.action(description="Do nothing; return when it ran (time.time())")
def noop() -> float:
    return time.time()
