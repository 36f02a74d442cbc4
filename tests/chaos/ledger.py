"""The ledger: every execution of a chaos task, appended and fsync'd by the task itself.

A task writes a ``start`` record before its work and an ``end`` record after it, one
JSON line each, so a process killed in between leaves a start with no end. Lines
are short and appended with ``O_APPEND``, so processes on the same machine never
interleave inside a line. The ledger is what *ran*; the server says what *counted*,
and the checker compares the two.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def append(path: str | Path, record: dict[str, Any]) -> None:
    """Append one record and fsync it: a record the test reads survived any crash after."""
    line = json.dumps({**record, "t": time.time()}, separators=(",", ":")) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class Execution:
    """One run of a task: which attempt, under which lease, in which processes."""

    job: str
    attempt: int
    token: str
    agent_pid: int
    pid: int
    start: float
    end: float | None = None
    outcome: str | None = None  # "returned" or "raised"; None: it never finished

    @property
    def finished(self) -> bool:
        return self.end is not None


def read(path: str | Path) -> list[Execution]:
    """Executions in start order; an end record completes the start of the same token."""
    path = Path(path)
    if not path.exists():
        return []
    runs: dict[str, Execution] = {}
    for line in path.read_text().splitlines():
        record = json.loads(line)
        if record["event"] == "start":
            runs[record["token"] + ":" + str(record["pid"])] = Execution(
                job=record["job"], attempt=record["attempt"], token=record["token"],
                agent_pid=record["agent_pid"], pid=record["pid"], start=record["t"],
            )  # fmt: skip
        else:
            run = runs[record["token"] + ":" + str(record["pid"])]
            run.end, run.outcome = record["t"], record["outcome"]
    return sorted(runs.values(), key=lambda run: run.start)
