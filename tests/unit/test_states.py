"""The job state table."""

from __future__ import annotations

from conveyor.states import ALLOWED, RETRY_FROM, TERMINAL, JobState, can_transition


def test_terminal_states_only_leave_by_manual_retry() -> None:
    for state in TERMINAL:
        assert ALLOWED[state] <= {JobState.QUEUED}
        assert (state in RETRY_FROM) == bool(ALLOWED[state])


def test_running_cannot_go_back_to_pending() -> None:
    assert not can_transition(JobState.RUNNING, JobState.PENDING)
    assert can_transition(JobState.QUEUED, JobState.RUNNING)
    assert set(ALLOWED) == set(JobState)
