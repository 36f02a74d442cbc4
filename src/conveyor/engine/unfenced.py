"""A test-only broken server: agents' results applied past their lease token's fence.

The fault suite (``tests/chaos``) must prove that its history checker catches a
server that lets a stale attempt's result win. This module is that server: before
the store fences a batch of reports, each report for a job still running under a
newer attempt is given that attempt's token, so the stale result is applied. Its
assignments carry no lease length either, so agents, which stop a job past its lease
when they know it, run on and report the stale result.

It is switched on only by ``ServerSettings.unfenced_results``, which needs both
``CONVEYOR_TESTING=1`` and ``CONVEYOR_TESTING_UNFENCED_RESULTS=1``; the server
logs a warning at start while it is on.
"""

from __future__ import annotations

import dataclasses
import uuid

from conveyor.states import JobState
from conveyor.store import Report, Store


async def unfence(store: Store, team_id: uuid.UUID, reports: list[Report]) -> list[Report]:
    """The reports, each carrying the current lease token of its job if it is running."""
    running = {
        job.id
        for job in await store.job_get_many(team_id, [r.job_id for r in reports])
        if job.state == JobState.RUNNING
    }
    current: dict[uuid.UUID, uuid.UUID] = {}
    for job_id in running:
        attempts = await store.attempt_list(team_id, job_id)
        if attempts:
            current[job_id] = max(attempts, key=lambda a: a.attempt).lease_token
    return [
        dataclasses.replace(r, token=current[r.job_id]) if r.job_id in current else r
        for r in reports
    ]
