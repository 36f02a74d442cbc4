"""How long the agent still holds each job's lease, by its own clock, and stopping a job
whose lease it could not renew before the server hands the job to another agent.

An agent cut off from its server (a partition, a server that cannot write) cannot
renew its leases; past the lease the server's reaper runs the job again elsewhere.
The agent, which is not told, would run it on too: the job would run twice at once.
So the agent keeps, for each job, the moment its lease surely ends: the time it
*sent* the last heartbeat (or ``hello``) the server confirmed it extended, plus the
job's lease length (from its assignment). The server extended the lease when it read
that heartbeat, later than it was sent, so the server's lease ends at that moment or
after. One :data:`margin <LeaseWatch.margin_s>` before it, the agent stops the job as
a cancel does and hands it back: it is never reported as a success after its lease.

A server that sends no lease length (an older one) gets no such stop.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterable

from conveyor import protocol
from conveyor.agent.jobs import JobTable

MAX_BEATS_AWAITED = 64
"""Heartbeats remembered while their ack is awaited; an older one no longer matters."""


class LeaseWatch:
    """Numbers the heartbeats, extends the leases they confirm, stops the jobs whose end."""

    def __init__(self, jobs: JobTable, margin_s: Callable[[], float]) -> None:
        self._jobs = jobs
        self.margin_s = margin_s  # the heartbeat interval: one missed beat of slack
        self._beat = 0
        self._sent: dict[int, tuple[float, list[uuid.UUID]]] = {}

    def heartbeat(self, held: list[protocol.HeldJob]) -> protocol.Heartbeat:
        """The next heartbeat, numbered; its send time is kept until the server acks it."""
        self._beat += 1
        self._sent[self._beat] = (time.monotonic(), [job.job_id for job in held])
        if len(self._sent) > MAX_BEATS_AWAITED:
            del self._sent[min(self._sent)]
        return protocol.Heartbeat(jobs=held, beat=self._beat)

    def confirmed(self, beat: int) -> None:
        """The server extended every lease heartbeat ``beat`` named (those lost are apart)."""
        sent = self._sent.pop(beat, None)
        if sent is not None:
            self.extend(sent[1], since=sent[0])

    def extend(self, job_ids: Iterable[uuid.UUID], *, since: float) -> None:
        """Each lease runs at least its length from ``since`` (a monotonic time)."""
        for job_id in job_ids:
            self._jobs.extend_lease(job_id, since)

    async def watch(self) -> None:
        """Stop each job one margin before its lease ends; runs for the agent's life."""
        while True:
            margin = self.margin_s()
            self._jobs.stop_unleased(time.monotonic() + margin)
            await asyncio.sleep(min(margin / 2, 1.0))
