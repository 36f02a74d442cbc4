"""Job states and the transitions between them (pure, no I/O).

The store applies transitions with conditional updates; the ``*_FROM`` sets below
are the single source of which states each operation may leave from.
"""

from __future__ import annotations

from enum import StrEnum


class JobState(StrEnum):
    PENDING = "pending"  # waiting on dependencies
    SCHEDULED = "scheduled"  # run_at in the future, including retry backoff
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    DEAD = "dead"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL


# A state from its database text without the Enum call machinery (hot paths).
STATE_OF = {state.value: state for state in JobState}
TERMINAL = frozenset({JobState.SUCCEEDED, JobState.DEAD, JobState.CANCELLED})
WAITING = frozenset({JobState.PENDING, JobState.SCHEDULED, JobState.QUEUED})

# Which states each operation may move a job out of.
CANCEL_NOW_FROM = WAITING  # becomes cancelled at once
CANCEL_REQUEST_FROM = frozenset({JobState.RUNNING})  # gets cancel_requested_at
RETRY_FROM = frozenset({JobState.DEAD, JobState.CANCELLED})  # manual retry
CLAIM_FROM = frozenset({JobState.QUEUED})
REPORT_FROM = frozenset({JobState.RUNNING})
PROMOTE_FROM = frozenset({JobState.SCHEDULED})

ALLOWED: dict[JobState, frozenset[JobState]] = {
    JobState.PENDING: frozenset({JobState.QUEUED, JobState.SCHEDULED, JobState.CANCELLED}),
    JobState.SCHEDULED: frozenset({JobState.QUEUED, JobState.CANCELLED}),
    JobState.QUEUED: frozenset({JobState.RUNNING, JobState.CANCELLED}),
    JobState.RUNNING: frozenset(
        {
            JobState.SUCCEEDED,
            JobState.SCHEDULED,  # failed with attempts left: backoff
            JobState.QUEUED,  # released unstarted
            JobState.DEAD,
            JobState.CANCELLED,
        }
    ),
    JobState.SUCCEEDED: frozenset(),
    JobState.DEAD: frozenset({JobState.QUEUED}),
    JobState.CANCELLED: frozenset({JobState.QUEUED}),
}


def can_transition(src: JobState, dst: JobState) -> bool:
    """Whether a job may move from ``src`` to ``dst``."""
    return dst in ALLOWED[src]


class AttemptOutcome(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    RELEASED = "released"
    LEASE_EXPIRED = "lease_expired"
    TIMED_OUT = "timed_out"
