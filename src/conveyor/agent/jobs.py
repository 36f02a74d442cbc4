"""The agent's jobs, from their assignment until the server acknowledges how they ended.

A job taken here waits for one of the agent's slots (a prefetched job may wait a
little), runs in its executor, and is kept with its result and unacknowledged log
chunks until the server acknowledges them, so that they can be sent again after a
reconnect. A job is handed back instead of run when it cannot run here, when the
agent is ending before it started, or when it waited too long for a slot; a job the
server says is lost is stopped and never reported.

Credits are the runtime's: the table only tells it when a slot frees (``grant``) and
when held jobs turned out to wait behind long ones (``withdraw``).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence

import structlog

from conveyor import protocol, tracing
from conveyor.agent.credits import CreditLedger
from conveyor.agent.executor import Executor
from conveyor.agent.metrics import AgentMetrics
from conveyor.agent.outcome import Outcome
from conveyor.agent.running import RunningJob
from conveyor.agent.shipping import ArtifactUploader, JobReporter, LogShipper, Send

log = structlog.get_logger(__name__)

Hook = Callable[[], Awaitable[None]]


class JobTable:
    """The jobs an agent holds, by id: running, waiting for a slot, or waiting for an ack."""

    def __init__(
        self,
        executors: Sequence[Executor],
        ledger: CreditLedger,
        *,
        prefetch_wait_s: float,
        send: Send,
        logs: LogShipper,
        uploads: ArtifactUploader,
        grant: Hook,
        withdraw: Hook,
        metrics: AgentMetrics,
    ) -> None:
        self._executors = executors
        self._ledger = ledger
        self._prefetch_wait_s = prefetch_wait_s
        self._send = send
        self._logs = logs
        self._uploads = uploads
        self._grant = grant
        self._withdraw = withdraw
        self._metrics = metrics
        self._jobs: dict[uuid.UUID, RunningJob] = {}
        self._slots = asyncio.Semaphore(ledger.slots)  # held jobs beyond it wait their turn
        self._closed = False  # the agent is ending: a job not started yet never starts
        self.settled = asyncio.Event()  # set when no job is left to run or to report
        self.activity = asyncio.Event()  # set whenever a job is taken
        self.taken = 0  # jobs taken to run in this process

    # what the table holds

    def __len__(self) -> int:
        """Jobs whose result or release the server has not acknowledged yet."""
        return len(self._jobs)

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._jobs

    def __getitem__(self, job_id: uuid.UUID) -> RunningJob:
        return self._jobs[job_id]

    def __iter__(self) -> Iterator[RunningJob]:
        return iter(self._jobs.values())

    def active(self) -> int:
        """Jobs held: running or waiting for a slot (not those only waiting for an ack)."""
        return sum(1 for job in self._jobs.values() if not job.done)

    def running(self) -> int:
        """Jobs that hold a slot now."""
        return sum(1 for job in self._jobs.values() if job.running and not job.done)

    def running_tasks(self) -> list[asyncio.Task[None]]:
        return [j.task for j in self._jobs.values() if not j.done and j.task is not None]

    def held(self) -> list[protocol.HeldJob]:
        """The leases to claim in a ``hello``: every job not lost, ended ones included."""
        return [
            protocol.HeldJob(job_id=job.id, lease_token=job.token)
            for job in self._jobs.values()
            if not job.lost
        ]

    def live(self) -> list[protocol.HeldJob]:
        """The leases a heartbeat keeps alive: the jobs not lost that run, or whose result
        or release the server has not acknowledged yet (its lease must outlast the write)."""
        return [
            protocol.HeldJob(job_id=job.id, lease_token=job.token)
            for job in self._jobs.values()
            if not job.lost and (not job.done or job.result is not None)
        ]

    def overdue(self, after_s: float) -> list[RunningJob]:
        """Jobs with something durable unacknowledged for ``after_s``: to send again now.

        Each is marked as sent, so it is sent again only after another ``after_s``.
        """
        now = time.monotonic()
        due = [job for job in self._jobs.values() if not job.lost and job.overdue(now, after_s)]
        for job in due:
            job.heard_at = now
        return due

    # what the server says

    def acknowledged(self, ack: protocol.Ack) -> None:
        """Forget what the server stored; a job with nothing left unacknowledged goes."""
        now = time.monotonic()
        for result in ack.results:
            job = self._jobs.get(result.job_id)
            if job is not None:
                job.heard_at = now
                job.result = None
                if not result.applied:
                    log.warning("result refused: the lease was lost", job_id=str(job.id))
                self._forget_if_settled(job)
        for chunk in ack.logs:
            job = self._jobs.get(chunk.job_id)
            if job is not None and job.assignment.attempt == chunk.attempt:
                job.heard_at = now
                # Per chunk: a later chunk stored does not mean an earlier one was.
                job.chunk_acknowledged(chunk.seq)
                self._forget_if_settled(job)

    def cancel(self, job_id: uuid.UUID) -> None:
        """Stop a job on request; it reports ``cancelled`` once its processes are gone."""
        job = self._jobs.get(job_id)
        if job is not None:
            log.info("cancel requested", job_id=str(job_id))
            job.stop.set()

    def lose(self, job_id: uuid.UUID) -> None:
        """Another attempt owns the job now: stop it and report nothing of it."""
        job = self._jobs.get(job_id)
        if job is None:
            return
        if job.done and job.result is not None:  # stored with a lost ack, or after its lease
            log.warning("job lost with its result unacknowledged: the server may have stored "
                        "it before the ack was lost, or another attempt owns the job now",
                        job_id=str(job_id))  # fmt: skip
        elif job.done:  # its result was stored before the ack came: the lease has ended
            log.debug("job ended and reported", job_id=str(job_id))
        else:
            log.warning("job lost: another attempt owns it now; stopping it", job_id=str(job_id))
        job.lost = True
        job.stop.set()
        job.result = None
        job.drop_log()
        self._forget_if_settled(job)

    def extend_lease(self, job_id: uuid.UUID, since: float) -> None:
        job = self._jobs.get(job_id)
        if job is not None:
            job.extend_lease(since)

    def stop_unleased(self, before: float) -> list[RunningJob]:
        """Stop and hand back each unfinished job whose lease ends ``before`` (monotonic):
        renewed too late, it would run on while the server hands it to another agent."""
        due = [
            job
            for job in self._jobs.values()
            if not (job.done or job.lost or job.releasing)
            and job.lease_ends_at is not None
            and job.lease_ends_at <= before
        ]
        for job in due:
            log.warning(
                "lease not renewed (the server is out of reach): stopping the job before "
                "the lease ends, so that it does not run twice",
                job_id=str(job.id),
            )
            job.releasing = True
            job.release_reason = "its lease could not be renewed: the agent lost the server"
            job.stop.set()
        if due:
            self._metrics.lease_renewals_failed.inc(len(due))
        return due

    # handing back

    def close(self) -> None:
        """Start no more jobs: the agent is ending (one not started yet is handed back)."""
        self._closed = True

    def hand_back_waiting(self) -> None:
        """Hand back at once the prefetched jobs that have not started: they run elsewhere."""
        for job in self._jobs.values():
            if not job.done and not job.running and job.task is not None:
                job.releasing = True
                job.stop.set()

    def hand_back_running(self) -> list[asyncio.Task[None]]:
        """Stop the jobs not ended; each is reported as released (it runs again elsewhere)."""
        left = []
        for job in self._jobs.values():
            if not job.done and job.task is not None:
                job.releasing = True
                job.stop.set()
                left.append(job.task)
        return left

    # running

    async def take(self, assignment: protocol.Assignment, *, accept: bool) -> None:
        """Run an assigned job, or hand it back at once if not ``accept`` or nothing here
        runs its action."""
        executor = next((e for e in self._executors if e.handles(assignment.action)), None)
        if executor is None or not accept:
            # Kept until acknowledged, so a stopping agent closes only once it is handed back.
            job = RunningJob(assignment, done=True)
            job.result = protocol.Release(
                job_id=assignment.job_id,
                lease_token=assignment.lease_token,
                reason="agent cannot run it now",
            )
            self._jobs[job.id] = job
            self.settled.clear()
            job.heard_at = time.monotonic()
            await self._send(job.result)
            return
        job = RunningJob(assignment)
        self._jobs[job.id] = job
        self.taken += 1
        self.settled.clear()
        self.activity.set()
        job.task = asyncio.create_task(self._run(job, executor), name=f"job-{job.id}")

    async def _run(self, job: RunningJob, executor: Executor) -> None:
        a = job.assignment
        # This job's task: every line logged while it runs names the job and the attempt.
        structlog.contextvars.bind_contextvars(job_id=str(a.job_id), attempt=a.attempt)
        if await self._take_slot(job):
            job.running = True
            log.debug("job started", job_id=str(a.job_id), action=a.action, attempt=a.attempt)
            began = time.monotonic()
            self._metrics.busy.inc()
            try:
                reporter = JobReporter(job, self._logs, self._uploads)
                with tracing.span(
                    "conveyor.job.run", parent=a.traceparent, attributes=_attributes(a)
                ) as span:
                    outcome = await executor.run(a, reporter, job.stop)
                    if span is not None:
                        span.set_attribute("conveyor.outcome", outcome.outcome)
            except Exception as exc:  # an executor bug must not kill the agent
                log.exception("executor failed", job_id=str(a.job_id))
                self._metrics.on_executor_error(a.action)
                outcome = Outcome("failed", error={"type": type(exc).__name__, "message": str(exc)})
            finally:
                self._slots.release()
                self._metrics.busy.dec()
            self._ledger.ran(time.monotonic() - began)
        else:  # never started: cancelled, or handed back (the agent ends, or the wait was long)
            outcome = Outcome.cancelled()
            job.releasing = job.releasing or self._closed
        job.done = True
        self._logs.cut_chunk(job)
        if not job.lost:
            # Handed back if it did not finish, or finished after its lease had ended.
            if job.releasing and (outcome.outcome == "cancelled" or job.lease_over()):
                job.result = protocol.Release(
                    job_id=a.job_id, lease_token=a.lease_token, reason=job.release_reason
                )
            else:
                job.result = outcome.result_message(a.job_id, a.lease_token)
            with tracing.span(
                "conveyor.job.report", parent=a.traceparent, attributes=_attributes(a)
            ):
                await self._logs.finish(job)  # its last log lines, then the result
                job.heard_at = time.monotonic()
                await self._send(job.result)
        ended = "lost" if job.lost else outcome.outcome
        self._metrics.on_job_ended(
            "released" if isinstance(job.result, protocol.Release) else ended, a.action
        )
        # One line per job (its start is at debug level): this runs for every short job.
        log.info("job finished", job_id=str(a.job_id), action=a.action, attempt=a.attempt,
                 outcome=outcome.outcome, lost=job.lost)  # fmt: skip
        self._forget_if_settled(job)
        await self._grant()

    async def _take_slot(self, job: RunningJob) -> bool:
        """Wait for a free slot; False if the job is stopped first (it then never starts).

        A held job that waits longer than ``prefetch_wait_s`` (the jobs ahead of it turned
        out long) is handed back to run elsewhere, and the prefetch stops until jobs are
        short again: short jobs must not queue behind a long one here while other agents
        are free.
        """
        if self._closed:
            return False
        if not self._slots.locked():
            await self._slots.acquire()  # free now: no wait, no helper tasks
            return True
        began = time.monotonic()
        slot = asyncio.ensure_future(self._slots.acquire())
        stopped = asyncio.ensure_future(job.stop.wait())
        try:
            await asyncio.wait(
                {slot, stopped},
                timeout=self._prefetch_wait_s,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            stopped.cancel()
            if not slot.done():
                slot.cancel()
        if slot.done() and not slot.cancelled():
            if not job.stop.is_set() and not self._closed:
                return True
            self._slots.release()
        elif not job.stop.is_set():  # waited too long
            waited = time.monotonic() - began
            self._ledger.stalled(waited)
            await self._withdraw()
            job.releasing = True
            job.release_reason = "waited too long for a slot on this agent"
            log.info("held job handed back: the jobs ahead of it are long", job_id=str(job.id),
                     waited_s=round(waited, 3))  # fmt: skip
        return False

    def _forget_if_settled(self, job: RunningJob) -> None:
        if job.settled() or (job.done and job.lost):
            self._jobs.pop(job.id, None)
            if not self._jobs:
                self.settled.set()


def _attributes(job: protocol.Assignment) -> tracing.Attributes:
    """What the agent's spans of a job say about it (only built while tracing is on)."""
    if not tracing.enabled():
        return {}
    return {
        "conveyor.job_id": str(job.job_id),
        "conveyor.action": job.action,
        "conveyor.attempt": job.attempt,
        "conveyor.queue": job.queue,
    }
