"""The agent: its sessions with the server (hello, credits, assignments, acks) and its jobs.

The WebSocket itself is :mod:`conveyor.agent.connection`, shipping logs, progress and
artifacts is :mod:`conveyor.agent.shipping`, and when the agent ends is
:mod:`conveyor.agent.lifecycle`.

Durable things (results, log chunks) stay in memory until the server acknowledges
them and are sent again after a reconnect; the server's fencing makes a duplicate
harmless. Everything else (heartbeats, progress, credits) is recomputed from the
current state on each connection, so a dropped connection changes nothing durable.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import ssl
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import structlog
from pydantic import BaseModel
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from conveyor import __version__, protocol
from conveyor.agent.connection import (
    AgentRefused,
    Backoff,
    Connection,
    ServerAccess,
    describe,
)
from conveyor.agent.credentials import CredentialsRefused, KeyCredentials, LoginCredentials
from conveyor.agent.credits import CreditLedger
from conveyor.agent.executor import Executor
from conveyor.agent.lifecycle import Lifecycle, until_time_to_end, wind_down
from conveyor.agent.outcome import Outcome
from conveyor.agent.running import RunningJob
from conveyor.agent.shipping import ArtifactUploader, JobReporter, LogShipper
from conveyor.sdk.tls import client_ssl_context

log = structlog.get_logger(__name__)


@dataclass
class AgentOptions:
    server: str
    key: str
    name: str
    slots: int = 1
    prefetch: int = 0  # jobs held beyond the slots while jobs are short (see agent.credits)
    prefetch_wait_s: float = 1.0  # a held job that waits longer for a slot is handed back
    labels: dict[str, str] = field(default_factory=dict)
    queues: list[str] = field(default_factory=lambda: ["default"])
    verify: bool | str = True  # True: the system trust store; str: a CA bundle file
    client_cert: str | None = None  # mutual TLS: presented on the WebSocket and uploads
    client_key: str | None = None
    ready_file: Path | None = None  # touched once the first session is up (for supervisors)
    lifecycle: Lifecycle = field(default_factory=Lifecycle)
    login: LoginCredentials | None = None  # a member's own login instead of ``key``
    team: str | None = None  # X-Conveyor-Team: the team a login agent works for


class Agent:
    def __init__(self, options: AgentOptions, executors: Sequence[Executor]) -> None:
        self.options = options
        self.lifecycle = options.lifecycle
        self.executors = list(executors)
        self.jobs: dict[uuid.UUID, RunningJob] = {}
        self.agent_id: uuid.UUID | None = None
        self.heartbeat_s = 10.0
        self.draining = False
        self.stopping = False
        self.connected = asyncio.Event()  # set while a session is up (tests await it)
        self.settled = asyncio.Event()  # set when no job is left to run or to report
        self.first_job = asyncio.Event()  # set when the first job starts
        self.activity = asyncio.Event()  # set whenever a job starts
        self.hurry = asyncio.Event()  # a second stop signal: release running jobs now
        self.started = 0  # jobs started in this process
        self.ledger = CreditLedger(options.slots, options.prefetch)
        self._slots = asyncio.Semaphore(options.slots)  # held jobs beyond it wait their turn
        # One context for the WebSocket and the artifact uploads: same trust, same identity.
        tls = client_ssl_context(
            options.verify, client_cert=options.client_cert, client_key=options.client_key
        )
        self._credentials: KeyCredentials | LoginCredentials = options.login or KeyCredentials(
            options.key
        )
        team = {"X-Conveyor-Team": options.team} if options.team else {}
        access = ServerAccess(options.server, self._credentials, team, tls)
        self.connection = Connection(access)
        self.logs = LogShipper(self.jobs, self._send)
        self.uploads = ArtifactUploader(access)

    # public

    def offers(self) -> list[protocol.ActionOffer]:
        return [offer for executor in self.executors for offer in executor.offers()]

    async def run(self, stop: asyncio.Event | None = None) -> str:
        """Connect and work until it is time to end; reconnects with jittered backoff.

        Ends when ``stop`` is set, after one job (``once``) or after idling, always
        through :func:`~conveyor.agent.lifecycle.wind_down`; returns why it ended.
        """
        stop = stop or asyncio.Event()
        ending = asyncio.create_task(self._end(stop), name="conveyor-agent-end")
        backoff = Backoff()
        session: asyncio.Task[None] | None = None
        try:
            while not ending.done():
                session = asyncio.create_task(self._connect_once())
                await asyncio.wait({session, ending}, return_when=asyncio.FIRST_COMPLETED)
                if not session.done():
                    break
                try:
                    session.result()
                    backoff.reset()
                except AgentRefused:
                    raise
                except ssl.SSLCertVerificationError as exc:
                    log.error(
                        "TLS certificate verification failed: the server is not trusted "
                        "(check --ca-bundle); retrying",
                        error=exc.verify_message or str(exc),
                    )
                except (OSError, ConnectionClosed, InvalidHandshake, TimeoutError) as exc:
                    log.warning("connection lost; reconnecting", error=describe(exc))
                except Exception:
                    log.exception("session failed; reconnecting")
                if self.draining and not self.jobs:
                    return "drained"
                await asyncio.wait({ending}, timeout=backoff.pause())
            return ending.result()
        finally:
            for task in (ending, session):
                if task is not None and not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
            for executor in self.executors:
                await executor.close()
            await self.uploads.close()
            await self._credentials.close()

    async def _end(self, stop: asyncio.Event) -> str:
        reason = await until_time_to_end(self, stop)
        await wind_down(self, reason)
        return reason

    @property
    def unsettled(self) -> int:
        """Jobs whose result or release the server has not acknowledged yet."""
        return len(self.jobs)

    def active(self) -> int:
        """Jobs held: running or waiting for a slot (not those only waiting for an ack)."""
        return sum(1 for job in self.jobs.values() if not job.done)

    def running(self) -> int:
        """Jobs that hold a slot now."""
        return sum(1 for job in self.jobs.values() if job.running and not job.done)

    def running_tasks(self) -> list[asyncio.Task[None]]:
        return [j.task for j in self.jobs.values() if not j.done and j.task is not None]

    async def stop_taking_work(self) -> None:
        """Withdraw every credit the server holds, then hand back the jobs not yet started."""
        self.stopping = True
        await self._withdraw_credits()
        self.release_waiting()

    async def _withdraw_credits(self) -> None:
        """Take back every credit the server holds: nothing more is claimed for this agent
        until it grants again (jobs it hands back are not claimed for it once more)."""
        self.ledger.reset()
        await self._send(protocol.Ready(credits=0, replace=True))

    def release_waiting(self) -> None:
        """Hand back at once the prefetched jobs that have not started: they run elsewhere."""
        for job in self.jobs.values():
            if not job.done and not job.running and job.task is not None:
                job.releasing = True
                job.stop.set()

    def release_running(self) -> list[asyncio.Task[None]]:
        """Stop the running jobs; each is reported as released (it runs again elsewhere)."""
        left = []
        for job in self.jobs.values():
            if not job.done and job.task is not None:
                job.releasing = True
                job.stop.set()
                left.append(job.task)
        return left

    def _grantable(self) -> int:
        """New credits for the server: none while stopping, draining or done (once)."""
        if self.stopping or self.draining:
            return 0
        credits = self.ledger.to_grant(self.active(), self.running())
        if self.lifecycle.once:
            credits = min(credits, 1 - self.started - self.ledger.outstanding)
        return max(credits, 0)

    async def _grant(self) -> None:
        if (credits := self._grantable()) > 0:
            self.ledger.granted(credits)
            await self._send(protocol.Ready(credits=credits))

    def _accepts(self) -> bool:
        """Whether an assignment that arrives now can be run here."""
        if self.stopping or self.draining or self.active() >= self.ledger.most:
            return False
        return not (self.lifecycle.once and self.started >= 1)

    def proxy(self) -> str | None:
        """The proxy the WebSocket goes through (None: direct); see :class:`Connection`."""
        return self.connection.proxy()

    # one connection

    async def _connect_once(self) -> None:
        try:
            async with self.connection.open() as ws:
                await self._session(ws)
        finally:
            self.connected.clear()

    async def _session(self, ws: ClientConnection) -> None:
        held = [
            protocol.HeldJob(job_id=job.id, lease_token=job.token)
            for job in self.jobs.values()
            if not job.lost
        ]
        await self._send(
            protocol.Hello(
                protocol=protocol.PROTOCOL_VERSION,
                name=self.options.name,
                version=__version__,
                labels=self.options.labels,
                queues=self.options.queues,
                slots=self.options.slots,
                actions=self.offers(),
                running=held,
            )
        )
        welcome = protocol.parse_server_message(await ws.recv())
        if isinstance(welcome, protocol.Refused):
            raise AgentRefused(welcome.message)
        if not isinstance(welcome, protocol.Welcome):
            raise AgentRefused(f"unexpected first message from the server: {welcome.type}")
        self.agent_id = welcome.agent_id
        self.heartbeat_s = welcome.heartbeat_s
        for status in welcome.jobs:
            if status.status == "lost":
                self._lose(status.job_id)
            elif status.cancel_requested and status.job_id in self.jobs:
                self.jobs[status.job_id].stop.set()
        for job in list(self.jobs.values()):
            await self.connection.resend(job.unacknowledged())
        log.info(
            "connected",
            server=self.options.server,
            agent_id=str(self.agent_id),
            slots=self.options.slots,
            actions=[offer.name for offer in self.offers()],
        )
        self.connected.set()
        if self.options.ready_file is not None:
            self.options.ready_file.touch()
        self.ledger.reset()
        await self._grant()
        loops = [
            asyncio.create_task(self._heartbeats()),
            asyncio.create_task(self.logs.run()),
            asyncio.create_task(self._renew_credentials()),
        ]
        try:
            async for frame in ws:
                await self._handle(protocol.parse_server_message(frame))
        finally:
            for loop in loops:
                loop.cancel()
            await asyncio.gather(*loops, return_exceptions=True)

    async def _send(self, message: BaseModel) -> None:
        await self.connection.send(message)

    async def _handle(self, message: protocol.ServerMessage) -> None:
        if isinstance(message, protocol.Assign):
            self.ledger.assigned(len(message.jobs))
            for assignment in message.jobs:
                await self._start(assignment)
        elif isinstance(message, protocol.Ack):
            for result in message.results:
                job = self.jobs.get(result.job_id)
                if job is not None:
                    job.result = None
                    if not result.applied:
                        log.warning("result refused: the lease was lost", job_id=str(job.id))
                    self._forget_if_settled(job)
            for ack in message.logs:
                job = self.jobs.get(ack.job_id)
                if job is not None and job.assignment.attempt == ack.attempt:
                    # Per chunk: a later chunk stored does not mean an earlier one was.
                    job.unacked_logs.pop(ack.seq, None)
                    self._forget_if_settled(job)
        elif isinstance(message, protocol.Cancel):
            for job_id in message.job_ids:
                if job_id in self.jobs:
                    log.info("cancel requested", job_id=str(job_id))
                    self.jobs[job_id].stop.set()
        elif isinstance(message, protocol.Lost):
            for job_id in message.job_ids:
                self._lose(job_id)
        elif isinstance(message, protocol.Drain):
            log.info("drain requested: finishing running jobs, taking no new work")
            self.draining = True
        elif isinstance(message, protocol.Refused):
            raise AgentRefused(message.message)

    def _lose(self, job_id: uuid.UUID) -> None:
        job = self.jobs.get(job_id)
        if job is None:
            return
        log.warning("job lost: another attempt owns it now; stopping it", job_id=str(job_id))
        job.lost = True
        job.stop.set()
        job.result = None
        job.unacked_logs.clear()
        job.lines.clear()
        self._forget_if_settled(job)

    def _forget_if_settled(self, job: RunningJob) -> None:
        if job.settled() or (job.done and job.lost):
            self.jobs.pop(job.id, None)
            if not self.jobs:
                self.settled.set()

    # running jobs

    def _executor_for(self, action: str) -> Executor | None:
        return next((e for e in self.executors if e.handles(action)), None)

    async def _start(self, assignment: protocol.Assignment) -> None:
        executor = self._executor_for(assignment.action)
        if executor is None or not self._accepts():
            # Kept until acknowledged, so a stopping agent closes only once it is handed back.
            job = RunningJob(assignment, done=True)
            job.result = protocol.Release(
                job_id=assignment.job_id,
                lease_token=assignment.lease_token,
                reason="agent cannot run it now",
            )
            self.jobs[job.id] = job
            self.settled.clear()
            await self._send(job.result)
            return
        job = RunningJob(assignment)
        self.jobs[job.id] = job
        self.started += 1
        self.settled.clear()
        self.first_job.set()
        self.activity.set()
        job.task = asyncio.create_task(self._run_job(job, executor), name=f"job-{job.id}")

    async def _run_job(self, job: RunningJob, executor: Executor) -> None:
        a = job.assignment
        if await self._take_slot(job):
            job.running = True
            log.debug("job started", job_id=str(a.job_id), action=a.action, attempt=a.attempt)
            began = time.monotonic()
            try:
                reporter = JobReporter(job, self.logs, self.uploads)
                outcome = await executor.run(a, reporter, job.stop)
            except Exception as exc:  # an executor bug must not kill the agent
                log.exception("executor failed", job_id=str(a.job_id))
                outcome = Outcome("failed", error={"type": type(exc).__name__, "message": str(exc)})
            finally:
                self._slots.release()
            self.ledger.ran(time.monotonic() - began)
        else:  # never started: cancelled, or handed back (the agent stops, or the wait was long)
            outcome = Outcome.cancelled()
            job.releasing = job.releasing or self.stopping
        job.done = True
        self.logs.cut_chunk(job)
        if not job.lost:
            if job.releasing:
                job.result = protocol.Release(
                    job_id=a.job_id, lease_token=a.lease_token, reason=job.release_reason
                )
            else:
                job.result = outcome.result_message(a.job_id, a.lease_token)
            await self.logs.finish(job)
            await self._send(job.result)
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
        if self.stopping:
            return False
        if not self._slots.locked():
            await self._slots.acquire()  # free now: no wait, no helper tasks
            return True
        began = time.monotonic()
        taken = asyncio.ensure_future(self._slots.acquire())
        stopped = asyncio.ensure_future(job.stop.wait())
        try:
            await asyncio.wait(
                {taken, stopped},
                timeout=self.options.prefetch_wait_s,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            stopped.cancel()
            if not taken.done():
                taken.cancel()
        if taken.done() and not taken.cancelled():
            if not job.stop.is_set() and not self.stopping:
                return True
            self._slots.release()
        elif not job.stop.is_set():  # waited too long
            waited = time.monotonic() - began
            self.ledger.stalled(waited)
            await self._withdraw_credits()
            job.releasing = True
            job.release_reason = "waited too long for a slot on this agent"
            log.info("held job handed back: the jobs ahead of it are long", job_id=str(job.id),
                     waited_s=round(waited, 3))  # fmt: skip
        return False

    # background loops of a session

    async def _renew_credentials(self) -> None:
        """A login agent refreshes its token in the open session; a refusal ends the session."""
        try:
            await self._credentials.renew(self._send)
        except CredentialsRefused as exc:
            log.error("the login was refused; log in again", error=str(exc))
            await self.connection.close(1008, "login refused")

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_s * random.uniform(0.8, 1.0))
            held = [
                protocol.HeldJob(job_id=job.id, lease_token=job.token)
                for job in self.jobs.values()
                if not job.done and not job.lost
            ]
            # Sent even with no jobs: the server gives no work to an agent it stopped hearing.
            await self._send(protocol.Heartbeat(jobs=held))


def parse_labels(values: Sequence[str]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for value in values:
        key, sep, val = value.partition("=")
        if not sep or not key:
            raise ValueError(f"label {value!r} is not key=value")
        labels[key] = val
    return labels


__all__ = ["Agent", "AgentOptions", "AgentRefused", "parse_labels"]
