"""What a running Python task sees of its job: log, progress, artifacts, cancellation.

A task asks for it by declaring a parameter ``ctx: TaskContext``::

    @tasks.action()
    def export(rows: int, ctx: TaskContext) -> dict[str, int]:
        with ctx.open_artifact("export.csv", newline="") as out:
            for i in range(rows):
                ctx.check_cancelled()
                out.write(f"{i}\\n")
                if i % 10_000 == 0:
                    ctx.progress(done=i, total=rows)
        return {"rows": rows}

The context talks to the agent through a channel the worker provides; artifacts are
files on local disk that the agent streams to the server, never held in memory.
"""

from __future__ import annotations

import contextlib
import mimetypes
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Protocol

ARTIFACT_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")


class TaskCancelled(BaseException):
    """Raised by :meth:`TaskContext.check_cancelled` once the job is cancelled.

    A ``BaseException`` (like ``asyncio.CancelledError``), so ``except Exception``
    in a task does not swallow it by accident.
    """


class ArtifactError(Exception):
    """The agent could not store an artifact (bad name, upload refused, ...)."""


class TaskChannel(Protocol):
    """How a context reaches the agent; provided by the worker process."""

    def log(self, text: str) -> None:
        """One line of the job's log."""

    def progress(self, value: Any) -> None:
        """The job's newest progress (JSON)."""

    def save_artifact(self, name: str, path: Path, content_type: str) -> str | None:
        """Upload and wait; the error message, or None once stored."""


class TaskContext:
    """The job a task runs for, and its way to report back."""

    def __init__(
        self,
        *,
        job_id: str,
        attempt: int,
        action: str,
        workdir: Path,
        channel: TaskChannel,
        lease_token: str = "",
    ) -> None:
        self.job_id = job_id
        self.attempt = attempt
        self._lease_token = lease_token
        self.action = action
        self.workdir = workdir  # scratch space of this job, removed when it ends
        self._channel = channel
        self._cancelled = False
        self._sleeping = False

    @property
    def lease_token(self) -> str:
        """The token that fences this attempt's writes (read-only).

        A new attempt gets a new token, so a task can tell its runs apart, e.g. to
        record which execution produced a result; it is not a credential to share.
        """
        return self._lease_token

    # reporting

    def log(self, message: str) -> None:
        """Add a line (or several) to the job's log, stamped by the agent."""
        for line in str(message).splitlines() or [""]:
            self._channel.log(line)

    def progress(
        self,
        fraction: float | None = None,
        *,
        done: float | None = None,
        total: float | None = None,
        message: str | None = None,
    ) -> None:
        """Report progress: a ``fraction`` in [0, 1], or ``done`` of ``total``, and/or a message.

        The job's progress becomes ``{"fraction": ..., "done": ..., "total": ..., "message": ...}``
        (keys left out when unknown); only the newest report matters.
        """
        if fraction is None and done is not None and total:
            fraction = done / total
        if fraction is not None and not 0.0 <= fraction <= 1.0:
            raise ValueError(f"progress fraction {fraction} is not between 0 and 1")
        value = {"fraction": fraction, "done": done, "total": total, "message": message}
        self._channel.progress({k: v for k, v in value.items() if v is not None})

    # artifacts

    def artifact_path(self, name: str) -> Path:
        """Where to write an artifact before :meth:`save_artifact` (in the job's scratch dir)."""
        _check_name(name)
        directory = self.workdir / "artifacts"
        directory.mkdir(parents=True, exist_ok=True)
        return directory / name

    def save_artifact(
        self, path: str | os.PathLike[str], name: str | None = None, content_type: str | None = None
    ) -> None:
        """Upload the file at ``path`` as artifact ``name`` (default: the file's name).

        Returns once the agent has stored it; raises :class:`ArtifactError` otherwise.
        Saving a name again replaces the earlier file.
        """
        source = Path(path)
        name = name or source.name
        _check_name(name)
        if not source.is_file():
            raise ArtifactError(f"artifact {name!r}: {source} is not a file")
        kind = content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
        error = self._channel.save_artifact(name, source.resolve(), kind)
        if error is not None:
            raise ArtifactError(f"artifact {name!r}: {error}")

    @contextlib.contextmanager
    def open_artifact(
        self,
        name: str,
        mode: str = "w",
        *,
        content_type: str | None = None,
        encoding: str | None = "utf-8",
        newline: str | None = None,
    ) -> Iterator[IO[Any]]:
        """Write an artifact as a file; it is uploaded when the block ends without error."""
        if mode not in ("w", "wt", "wb"):
            raise ValueError("open_artifact writes: mode 'w', 'wt' or 'wb'")
        path = self.artifact_path(name)
        binary = "b" in mode
        with path.open(
            mode, encoding=None if binary else encoding, newline=None if binary else newline
        ) as handle:
            yield handle
        self.save_artifact(path, name, content_type)

    # cancellation

    @property
    def cancelled(self) -> bool:
        """True once the job was cancelled (or timed out): stop soon, cleanup is allowed."""
        return self._cancelled

    def check_cancelled(self) -> None:
        """Raise :class:`TaskCancelled` if the job was cancelled."""
        if self._cancelled:
            raise TaskCancelled("the job was cancelled")

    def sleep(self, seconds: float) -> None:
        """``time.sleep`` that a cancel interrupts (raising :class:`TaskCancelled`).

        For sync tasks; async tasks use ``asyncio.sleep``, which a cancel interrupts too.
        """
        self.check_cancelled()
        self._sleeping = True
        try:
            time.sleep(seconds)
        finally:
            self._sleeping = False
        self.check_cancelled()

    def _cancel(self, *, interrupt: bool = True) -> None:
        """Mark the job cancelled (called from the worker's SIGTERM handler)."""
        self._cancelled = True
        if interrupt and self._sleeping:
            self._sleeping = False
            raise TaskCancelled("the job was cancelled")


def _check_name(name: str) -> None:
    if not ARTIFACT_NAME_RE.match(name) or name in (".", ".."):
        raise ArtifactError(
            f"bad artifact name {name!r}: letters, digits, '.', '_' and '-', 255 at most"
        )
