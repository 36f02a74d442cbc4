"""The contract between the agent's connection (the runtime) and what runs jobs.

The runtime owns the network: it hands an executor one :class:`~conveyor.protocol.Assignment`
with a :class:`JobSink` to report through and a ``stop`` event (set on cancel or
``lost``), and sends the :class:`~conveyor.agent.outcome.Outcome` it gets back. Executors own processes:
they never return while a process of the job is still alive.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError

from conveyor import protocol
from conveyor.agent.outcome import Outcome

TRUNCATION_MARKER = " …[truncated: the line had {size} bytes]"


class JobSink(Protocol):
    """Where an executor reports a running job; implemented by the runtime."""

    def log(self, stream: str, text: str) -> None:
        """One line without its newline (``stdout``, ``stderr`` or ``log``); the runtime stamps it."""

    def progress(self, value: Any) -> None:
        """The job's latest progress (JSON); only the newest value matters."""

    async def artifact(self, name: str, path: Path, content_type: str) -> None:
        """Upload a file as an artifact of this attempt (streamed); raises on refusal."""

    async def room(self) -> None:
        """Return once the job's pending log has room: executors await it before reading
        more of the job's output, so a job that writes too fast waits on its pipe."""


class Executor(Protocol):
    """Runs the actions it offers; one instance serves every job of its kind."""

    def offers(self) -> list[protocol.ActionOffer]: ...

    def handles(self, action: str) -> bool: ...

    async def run(
        self, job: protocol.Assignment, sink: JobSink, stop: asyncio.Event
    ) -> Outcome: ...

    async def close(self) -> None: ...


def effective_timeout(job_timeout_s: float | None, action_timeout_s: float | None) -> float | None:
    """The stricter of the job's and the action's run timeout (``None``: no limit)."""
    limits = [t for t in (job_timeout_s, action_timeout_s) if t is not None]
    return min(limits) if limits else None


def clip_line(text: str, size: int | None = None, limit: int = protocol.MAX_LOG_LINE_BYTES) -> str:
    """Cut a log line to ``limit`` UTF-8 bytes, marker included, saying how long it was.

    ``size`` is the original length in bytes when the caller already dropped the tail.
    """
    encoded = text.encode("utf-8", "replace")
    size = max(size or 0, len(encoded))
    if size <= limit:
        return text
    marker = TRUNCATION_MARKER.format(size=size)
    keep = max(limit - len(marker.encode()), 0)
    return encoded[:keep].decode("utf-8", "ignore") + marker


def invalid_params(exc: ValidationError) -> Outcome:
    """A job whose params do not fit the action: running it again cannot help."""
    errors = exc.errors(include_url=False, include_context=False, include_input=False)
    details = "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'params'}: {e['msg']}" for e in errors
    )
    return Outcome.failed(
        "invalid_params", f"invalid params: {details}", retryable=False, errors=errors
    )
