"""How a job ended on this agent: the one outcome type of every executor and the worker pipe.

Executors return it, the Python worker sends it over its pipe, and the runtime turns
it into the protocol's ``result`` message; the server keeps its own record of attempts.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from conveyor import protocol


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a job ended on this agent; ``cancelled`` only once its processes are gone."""

    outcome: protocol.OutcomeKind
    result: Any = None
    error: dict[str, Any] | None = None
    retryable: bool = True

    @classmethod
    def succeeded(cls, result: Any = None) -> Outcome:
        return cls("succeeded", result=result)

    @classmethod
    def failed(cls, kind: str, message: str, *, retryable: bool = True, **extra: Any) -> Outcome:
        return cls("failed", error={"type": kind, "message": message, **extra}, retryable=retryable)

    @classmethod
    def cancelled(cls) -> Outcome:
        return cls("cancelled")

    @classmethod
    def timed_out(cls, timeout_s: float) -> Outcome:
        return cls.failed("timeout", f"timed out after {timeout_s:g} s", timeout_s=timeout_s)

    def result_message(self, job_id: uuid.UUID, lease_token: uuid.UUID) -> protocol.Result:
        """The ``result`` that reports this outcome for one attempt.

        A result or error the protocol cannot carry (too large, a NUL) becomes a failure
        that says so, not retried: the server would refuse it, and the same task would
        produce it again."""
        try:
            return protocol.Result(
                job_id=job_id,
                lease_token=lease_token,
                outcome=self.outcome,
                result=self.result,
                error=self.error,
                retryable=self.retryable,
            )
        except ValidationError as exc:
            problem = exc.errors()[0]
            where = ".".join(str(step) for step in problem["loc"])
            refused = Outcome.failed(
                "result_refused", f"{where}: {problem['msg']}"[:1000], retryable=False
            )
            return refused.result_message(job_id, lease_token)
