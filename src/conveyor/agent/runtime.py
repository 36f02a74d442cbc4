"""The agent: its sessions with the server (hello, credits, assignments, acks) and its phase.

The parts it orchestrates each live apart: the WebSocket and re-sending in
:mod:`conveyor.agent.connection`, running jobs in :mod:`conveyor.agent.jobs`,
shipping logs, progress and artifacts in :mod:`conveyor.agent.shipping`, and when
the agent ends in :mod:`conveyor.agent.lifecycle`.

Durable things (results, log chunks) stay in memory until the server acknowledges
them and are sent again after a reconnect, or in the same session when they went
unacknowledged for :data:`RESEND_AFTER_HEARTBEATS` heartbeats (a store write that
failed on the server answers nothing); the server's fencing makes a duplicate
harmless. A job whose result is not acknowledged yet stays in the heartbeats, so
its lease outlives the write. Everything else (heartbeats, progress, credits) is recomputed from the
current state on each connection, so a dropped connection changes nothing durable.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import random
import socket
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

from conveyor import __version__, bounds, protocol
from conveyor.agent.connection import (
    AgentRefused,
    Backoff,
    Connection,
    ServerAccess,
    describe,
)
from conveyor.agent.credentials import CredentialsRefused, KeyCredentials, LoginCredentials
from conveyor.agent.credits import WINDOW_S, CreditLedger
from conveyor.agent.executor import Executor
from conveyor.agent.jobs import JobTable
from conveyor.agent.leases import LeaseWatch
from conveyor.agent.lifecycle import Lifecycle, until_time_to_end, wind_down
from conveyor.agent.metrics import AgentMetrics
from conveyor.agent.shipping import ArtifactUploader, LogShipper
from conveyor.sdk.tls import client_ssl_context

log = structlog.get_logger(__name__)

RESEND_AFTER_HEARTBEATS = 2
"""Send again what the server left unacknowledged for this many heartbeat intervals."""


@dataclass
class AgentOptions:
    server: str
    key: str
    name: str
    slots: int = 1
    prefetch: int = 0  # jobs held beyond the slots while jobs are short (see agent.credits)
    prefetch_wait_s: float = 1.0  # a held job that waits longer for a slot is handed back
    prefetch_window_s: float = WINDOW_S  # seconds of work held per slot while jobs are short
    labels: dict[str, str] = field(default_factory=dict)
    queues: list[str] = field(default_factory=lambda: ["default"])
    verify: bool | str = True  # True: the system trust store; str: a CA bundle file
    client_cert: str | None = None  # mutual TLS: presented on the WebSocket and uploads
    client_key: str | None = None
    ready_file: Path | None = None  # touched once the first session is up (for supervisors)
    lifecycle: Lifecycle = field(default_factory=Lifecycle)
    login: LoginCredentials | None = None  # a member's own login instead of ``key``
    team: str | None = None  # X-Conveyor-Team: the team a login agent works for


class Phase(enum.Enum):
    """Where the agent is in its life; it only ever moves forward (see :meth:`Agent.enter`).

    Whether a session is up is apart from it (:attr:`Agent.connected`): an agent in
    any phase reconnects, to report what it still holds.
    """

    WORKING = 1  # takes work while connected
    DRAINING = 2  # the server asked: finishes what it holds, takes nothing new, stays connected
    STOPPING = 3  # ending: takes nothing new, hands back what has not started, lets the rest end
    HURRYING = 4  # ending now (a second stop signal): hands back the running jobs too


class Agent:
    def __init__(self, options: AgentOptions, executors: Sequence[Executor]) -> None:
        self.options = options
        self.lifecycle = options.lifecycle
        self.executors = list(executors)
        self.phase = Phase.WORKING
        self.connected = asyncio.Event()  # set while a session is up
        self.agent_id: uuid.UUID | None = None  # from the server's welcome
        self.welcomed = False  # the current session got as far as the welcome
        self.heartbeat_s = 10.0  # from the server's welcome
        self.ledger = CreditLedger(options.slots, options.prefetch, options.prefetch_window_s)
        self.metrics = AgentMetrics(options.slots)  # served only with --metrics-port
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
        self.logs = LogShipper(self._send)
        self.uploads = ArtifactUploader(access)
        self.jobs = JobTable(
            self.executors,
            self.ledger,
            prefetch_wait_s=options.prefetch_wait_s,
            send=self._send,
            logs=self.logs,
            uploads=self.uploads,
            grant=self._grant,
            withdraw=self._withdraw_credits,
            metrics=self.metrics,
        )
        # One heartbeat of slack: a job stops one missed beat before its lease can end.
        self.leases = LeaseWatch(self.jobs, margin_s=lambda: self.heartbeat_s)

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
        watch = asyncio.create_task(self.leases.watch(), name="conveyor-agent-leases")
        backoff = Backoff()
        session: asyncio.Task[None] | None = None
        try:
            while not ending.done():
                self.welcomed = False
                session = asyncio.create_task(self._connect_once())
                await asyncio.wait({session, ending}, return_when=asyncio.FIRST_COMPLETED)
                if not session.done():
                    break
                if self.welcomed:  # it was up: a drop after it is a new outage
                    backoff.reset()
                try:
                    session.result()
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
                if self.phase is Phase.DRAINING and not self.jobs:
                    return "drained"
                self.metrics.reconnects.inc()
                await asyncio.wait({ending}, timeout=backoff.pause())
            return ending.result()
        finally:
            for task in (ending, session, watch):
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

    def enter(self, phase: Phase) -> None:
        """Move on to ``phase``; never back (a drain asked while stopping changes nothing)."""
        if phase.value > self.phase.value:
            self.phase = phase

    async def stop_taking_work(self) -> None:
        """Withdraw every credit the server holds, then hand back the jobs not yet started."""
        self.enter(Phase.STOPPING)
        self.jobs.close()
        await self._withdraw_credits()
        self.jobs.hand_back_waiting()

    def hurry(self) -> None:
        """End now, after a stop: hand back the running jobs too, without waiting out
        the shutdown grace (a second stop signal)."""
        self.enter(Phase.HURRYING)
        self.jobs.close()
        if self.jobs.hand_back_running():
            log.warning("stopping now: releasing the running jobs to run elsewhere")

    async def _withdraw_credits(self) -> None:
        """Take back every credit the server holds: nothing more is claimed for this agent
        until it grants again (jobs it hands back are not claimed for it once more)."""
        self.ledger.reset()
        await self._send(protocol.Ready(credits=0, replace=True))

    def _grantable(self) -> int:
        """New credits for the server: none unless working, nor once the one job is taken."""
        if self.phase is not Phase.WORKING:
            return 0
        credits = self.ledger.to_grant(self.jobs.active(), self.jobs.running())
        if self.lifecycle.once:
            credits = min(credits, 1 - self.jobs.taken - self.ledger.outstanding)
        return max(credits, 0)

    async def _grant(self) -> None:
        if (credits := self._grantable()) > 0:
            self.ledger.granted(credits)
            await self._send(protocol.Ready(credits=credits))

    def _accepts(self) -> bool:
        """Whether an assignment that arrives now can be run here."""
        if self.phase is not Phase.WORKING or self.jobs.active() >= self.ledger.most:
            return False
        return not (self.lifecycle.once and self.jobs.taken >= 1)

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
            self.metrics.connected.set(0)

    async def _session(self, ws: ClientConnection) -> None:
        hello_sent_at = time.monotonic()
        await self._send(
            protocol.Hello(
                protocol=protocol.PROTOCOL_VERSION,
                name=self.options.name,
                version=__version__,
                host=_hostname(),
                labels=self.options.labels,
                queues=self.options.queues,
                slots=self.options.slots,
                actions=self.offers(),
                running=self.jobs.held(),
            )
        )
        welcome = protocol.parse_server_message(await ws.recv())
        if isinstance(welcome, protocol.Refused):
            raise AgentRefused(welcome.message)
        if not isinstance(welcome, protocol.Welcome):
            raise AgentRefused(f"unexpected first message from the server: {welcome.type}")
        self.agent_id = welcome.agent_id
        # This session's task and the jobs it starts log with it (see conveyor.logs).
        structlog.contextvars.bind_contextvars(agent_id=str(self.agent_id))
        self.heartbeat_s = welcome.heartbeat_s
        self.welcomed = True
        # The server renewed the leases it answers "yours" when it read the hello.
        self.leases.extend(
            (s.job_id for s in welcome.jobs if s.status == "yours"), since=hello_sent_at
        )
        for status in welcome.jobs:
            if status.status == "lost":
                self.jobs.lose(status.job_id)
            elif status.cancel_requested:
                self.jobs.cancel(status.job_id)
        for job in self.jobs.overdue(0.0):
            await self.connection.resend(job.unacknowledged())
        log.info(
            "connected",
            server=self.options.server,
            agent_id=str(self.agent_id),
            slots=self.options.slots,
            actions=[offer.name for offer in self.offers()],
        )
        self.connected.set()
        self.metrics.connected.set(1)
        if self.options.ready_file is not None:
            self.options.ready_file.touch()
        self.ledger.reset()
        await self._grant()
        loops = [
            asyncio.create_task(self._heartbeats()),
            asyncio.create_task(self.logs.run(self.jobs)),
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
                await self.jobs.take(assignment, accept=self._accepts())
        elif isinstance(message, protocol.Ack):
            self.jobs.acknowledged(message)
            if message.beat is not None:
                self.leases.confirmed(message.beat)
        elif isinstance(message, protocol.Cancel):
            for job_id in message.job_ids:
                self.jobs.cancel(job_id)
        elif isinstance(message, protocol.Lost):
            for job_id in message.job_ids:
                self.jobs.lose(job_id)
        elif isinstance(message, protocol.Drain):
            log.info("drain requested: finishing running jobs, taking no new work")
            self.enter(Phase.DRAINING)
        elif isinstance(message, protocol.Refused):
            raise AgentRefused(message.message)

    # background loops of a session

    async def _renew_credentials(self) -> None:
        """A login agent refreshes its token in the open session; a refusal ends the session."""
        try:
            await self._credentials.renew(self._send)
        except CredentialsRefused as exc:
            log.error("the login was refused; log in again", error=str(exc))
            await self.connection.close(1008, "login refused")

    async def _heartbeats(self) -> None:
        """Heartbeat the held leases, and send again what stays unacknowledged."""
        while True:
            await asyncio.sleep(self.heartbeat_s * random.uniform(0.8, 1.0))
            # Sent even with no jobs: the server gives no work to an agent it stopped hearing.
            await self._send(self.leases.heartbeat(self.jobs.live()))
            for job in self.jobs.overdue(self.heartbeat_s * RESEND_AFTER_HEARTBEATS):
                log.info("sending again what the server has not acknowledged", job_id=str(job.id))
                await self.connection.resend(job.unacknowledged())


def parse_labels(values: Sequence[str]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for value in values:
        key, sep, val = value.partition("=")
        if not sep or not key:
            raise ValueError(f"label {value!r} is not key=value")
        labels[key] = val
    return labels


__all__ = ["Agent", "AgentOptions", "AgentRefused", "Phase", "parse_labels"]


def _hostname() -> str:
    """This machine's name as the dashboard shows it (cut to what the hello may carry)."""
    return "".join(c for c in socket.gethostname() if c.isprintable())[: bounds.HOST_MAX]
