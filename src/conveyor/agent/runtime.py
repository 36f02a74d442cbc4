"""The agent's connection to the server: hello, credits, jobs, logs, results, reconnects.

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
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import structlog
from pydantic import BaseModel
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.proxy import get_proxy
from websockets.uri import parse_uri

from conveyor import __version__, protocol
from conveyor.agent.credentials import (
    BearerAuth,
    CredentialsRefused,
    KeyCredentials,
    LoginCredentials,
)
from conveyor.agent.credits import CreditLedger
from conveyor.agent.executor import Executor
from conveyor.agent.lifecycle import Lifecycle, until_time_to_end, wind_down
from conveyor.agent.outcome import Outcome
from conveyor.agent.running import RunningJob
from conveyor.sdk.tls import client_ssl_context

log = structlog.get_logger(__name__)

LOG_FLUSH_S = 0.02  # coalesce log lines this long before sending a chunk
PROGRESS_EVERY_S = 0.5  # at most this often per job: each update is an event in the store
BACKOFF_MIN_S = 0.2
BACKOFF_MAX_S = 30.0


class AgentRefused(Exception):
    """The server refused this agent (bad key, revoked, incompatible version): do not retry."""


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


class _Sink:
    """What an executor reports through, for one job."""

    def __init__(self, agent: Agent, job: RunningJob) -> None:
        self.agent = agent
        self.job = job

    def log(self, stream: str, text: str) -> None:
        if self.job.lost:
            return
        kind = stream if stream in ("stdout", "stderr") else "log"
        self.job.lines.append(protocol.LogLine(ts=time.time(), stream=kind, text=text))
        self.agent.wake_flusher()

    def progress(self, value: Any) -> None:
        self.job.progress = value
        self.job.progress_dirty = True
        self.agent.wake_flusher()

    async def artifact(self, name: str, path: Path, content_type: str) -> None:
        await self.agent.upload(self.job, name, path, content_type)


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
        self._ws: ClientConnection | None = None
        self._flush_wake = asyncio.Event()
        self.ledger = CreditLedger(options.slots, options.prefetch)
        self._slots = asyncio.Semaphore(options.slots)  # held jobs beyond it wait their turn
        # One context for the WebSocket and the artifact uploads: same trust, same identity.
        self._ssl = client_ssl_context(
            options.verify, client_cert=options.client_cert, client_key=options.client_key
        )
        self._credentials: KeyCredentials | LoginCredentials = options.login or KeyCredentials(
            options.key
        )
        self._team_header = {"X-Conveyor-Team": options.team} if options.team else {}
        self._http = httpx.AsyncClient(
            base_url=options.server.rstrip("/"),
            auth=BearerAuth(self._credentials),
            headers=self._team_header,
            timeout=httpx.Timeout(30.0, connect=10.0),
            verify=self._ssl,
        )

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
        backoff = BACKOFF_MIN_S
        session: asyncio.Task[None] | None = None
        try:
            while not ending.done():
                session = asyncio.create_task(self._connect_once())
                await asyncio.wait({session, ending}, return_when=asyncio.FIRST_COMPLETED)
                if not session.done():
                    break
                try:
                    session.result()
                    backoff = BACKOFF_MIN_S
                except AgentRefused:
                    raise
                except ssl.SSLCertVerificationError as exc:
                    log.error(
                        "TLS certificate verification failed: the server is not trusted "
                        "(check --ca-bundle); retrying",
                        error=exc.verify_message or str(exc),
                    )
                except (OSError, ConnectionClosed, InvalidHandshake, TimeoutError) as exc:
                    log.warning("connection lost; reconnecting", error=_describe(exc))
                except Exception:
                    log.exception("session failed; reconnecting")
                if self.draining and not self.jobs:
                    return "drained"
                await asyncio.wait({ending}, timeout=backoff * random.uniform(0.5, 1.5))
                backoff = min(backoff * 2, BACKOFF_MAX_S)
            return ending.result()
        finally:
            for task in (ending, session):
                if task is not None and not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
            for executor in self.executors:
                await executor.close()
            await self._http.aclose()
            await self._credentials.close()

    async def _end(self, stop: asyncio.Event) -> str:
        reason = await until_time_to_end(self, stop)
        await wind_down(self, reason)
        return reason

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
        """The proxy the WebSocket goes through: from HTTPS_PROXY, ALL_PROXY, NO_PROXY and the
        like (websockets reads them, as httpx does for the uploads); None when direct."""
        return get_proxy(parse_uri(self._ws_url()))

    def wake_flusher(self) -> None:
        self._flush_wake.set()

    # one connection

    def _ws_url(self) -> str:
        parts = urlsplit(self.options.server)
        scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
        path = parts.path.rstrip("/") + "/api/v1/agent/connect"
        return urlunsplit((scheme, parts.netloc, path, "", ""))

    async def _connect_once(self) -> None:
        url = self._ws_url()
        try:
            await self._credentials.ensure_fresh()
        except CredentialsRefused as exc:
            raise AgentRefused(f"the login was refused: {exc} (log in again)") from None
        try:
            ws = await connect(
                url,
                additional_headers={
                    "Authorization": f"Bearer {self._credentials.bearer}",
                    **self._team_header,
                },
                open_timeout=10,
                max_size=16 * 1024 * 1024,
                # Compressing every frame cost more CPU per job than the job itself; log
                # chunks are the only large messages, and they go in batches anyway.
                compression=None,
                ssl=self._ssl if url.startswith("wss:") else None,
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status in (401, 403):
                raise AgentRefused(
                    f"the server refused the agent (HTTP {status}): check its key"
                ) from None
            raise
        async with ws:
            self._ws = ws
            try:
                await self._session(ws)
            finally:
                self._ws = None
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
        # Re-send what the server has not acknowledged.
        for job in list(self.jobs.values()):
            for seq in sorted(job.unacked_logs):
                await self._send(job.unacked_logs[seq])
            if job.result is not None:
                await self._send(job.result)
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
            asyncio.create_task(self._flusher()),
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
        ws = self._ws
        if ws is None:
            return  # kept in the unacked buffers; re-sent after reconnecting
        with contextlib.suppress(ConnectionClosed):
            await ws.send(protocol.encode(message))

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
                outcome = await executor.run(a, _Sink(self, job), job.stop)
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
        self._cut_chunk(job)
        if not job.lost:
            if job.releasing:
                job.result = protocol.Release(
                    job_id=a.job_id, lease_token=a.lease_token, reason=job.release_reason
                )
            else:
                job.result = outcome.result_message(a.job_id, a.lease_token)
            for seq in sorted(job.unacked_logs):
                await self._send(job.unacked_logs[seq])
            if job.progress_dirty:  # the last value, unthrottled; stored before the result
                job.progress_dirty = False
                await self._send(
                    protocol.Progress(
                        job_id=a.job_id, lease_token=a.lease_token, progress=job.progress
                    )
                )
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

    async def upload(self, job: RunningJob, name: str, path: Path, content_type: str) -> None:
        """Stream a file to the server as an artifact of this attempt."""

        async def chunks() -> Any:
            with path.open("rb") as source:
                while chunk := await asyncio.to_thread(source.read, 1024 * 1024):
                    yield chunk

        response = await self._http.put(
            f"/api/v1/jobs/{job.id}/artifacts/{name}",
            content=chunks(),
            headers={
                "X-Conveyor-Lease-Token": str(job.token),
                "Content-Type": content_type,
            },
        )
        if response.status_code >= 400:
            raise RuntimeError(f"artifact upload refused ({response.status_code}): {response.text}")

    # background loops of a session

    async def _renew_credentials(self) -> None:
        """A login agent refreshes its token in the open session; a refusal ends the session."""
        try:
            await self._credentials.renew(self._send)
        except CredentialsRefused as exc:
            log.error("the login was refused; log in again", error=str(exc))
            if self._ws is not None:
                await self._ws.close(1008, "login refused")

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

    async def _flusher(self) -> None:
        while True:
            await self._flush_wake.wait()
            self._flush_wake.clear()
            await asyncio.sleep(LOG_FLUSH_S)
            for job in list(self.jobs.values()):
                if job.lost:
                    continue
                chunk = self._cut_chunk(job)
                if chunk is not None:
                    await self._send(chunk)
                if job.progress_dirty and not job.done:
                    await self._send_progress(job)

    async def _send_progress(self, job: RunningJob) -> None:
        now = time.monotonic()
        wait = job.progress_sent_at + PROGRESS_EVERY_S - now
        if wait > 0:
            asyncio.get_running_loop().call_later(wait, self.wake_flusher)
            return
        job.progress_dirty = False
        job.progress_sent_at = now
        await self._send(
            protocol.Progress(job_id=job.id, lease_token=job.token, progress=job.progress)
        )

    def _cut_chunk(self, job: RunningJob) -> protocol.LogChunk | None:
        chunk = job.cut_chunk()
        if job.lines:
            self.wake_flusher()
        return chunk


def _describe(exc: BaseException) -> str:
    """The error and its cause: a TLS alert hides behind "no valid HTTP response"."""
    text = str(exc) or type(exc).__name__
    cause = exc.__cause__ or exc.__context__
    return f"{text} ({cause})" if cause is not None and str(cause) else text


def parse_labels(values: Sequence[str]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for value in values:
        key, sep, val = value.partition("=")
        if not sep or not key:
            raise ValueError(f"label {value!r} is not key=value")
        labels[key] = val
    return labels


__all__ = ["Agent", "AgentOptions", "AgentRefused", "parse_labels"]
