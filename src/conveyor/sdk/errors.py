"""Errors only a client meets: an unknown server error, a failed job, a wait that ran out.

Server answers whose ``code`` names a class of :mod:`conveyor.errors` become that
class (``NotFound``, ``InvalidParams``, ...); any other becomes :class:`ApiError`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from conveyor.errors import ConveyorError

if TYPE_CHECKING:
    from conveyor.sdk.models import Job


class ApiError(ConveyorError):
    """The server answered with an error this client has no class for."""

    code = "api_error"

    def __init__(self, message: str | None = None, *, status: int = 0, code: str = "",
                 details: dict[str, Any] | None = None) -> None:  # fmt: skip
        super().__init__(message)
        self.status = status
        self.error_code = code or self.code
        self.details = dict(details or {})

    def __str__(self) -> str:
        return f"{self.message} (HTTP {self.status}, {self.error_code})"


class NotConfigured(ConveyorError):
    """No server to talk to: pass ``server=``, set CONVEYOR_SERVER or run `conveyor login`."""

    code = "not_configured"


class ServerUnreachable(ConveyorError):
    """The server could not be reached."""

    code = "server_unreachable"


class RequestTimeout(ServerUnreachable):
    """The server did not answer in time."""

    code = "request_timeout"


class JobFailed(ConveyorError):
    """The job ended without succeeding."""

    code = "job_failed"

    def __init__(self, job: Job) -> None:
        self.job = job
        super().__init__(_describe(job), job_id=str(job.id), state=str(job.state))

    @property
    def error(self) -> Any:
        """The job's error (``{"type", "message", ...}`` for a dead job; None when cancelled)."""
        return self.job.error


class WaitTimeout(ConveyorError, TimeoutError):
    """The job did not finish within the time given."""

    code = "wait_timeout"

    def __init__(self, job: Job, timeout: float) -> None:
        self.job = job
        super().__init__(
            f"job {job.id} is still {job.state} after {timeout:g} s",
            job_id=str(job.id),
            state=str(job.state),
        )


def _describe(job: Job) -> str:
    if job.state == "cancelled":
        return f"job {job.id} was cancelled"
    error = job.error
    if isinstance(error, dict):
        kind, message = error.get("type"), error.get("message")
        text = ": ".join(str(p) for p in (kind, message) if p)
        if text:
            return f"job {job.id} failed: {text}"
    elif error:
        return f"job {job.id} failed: {error}"
    return f"job {job.id} ended {job.state}"
