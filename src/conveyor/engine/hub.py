"""The agents connected to this replica, and the dispatcher that feeds them.

An agent grants credits (free slots); the dispatcher claims at most that many jobs
for it from the store and sends them in one ``assign``. It wakes on the engine's
work signal (a submit, a retry falling due, a released job) or on new credits, with
a slow jittered poll as the safety net. What agents send back (results, heartbeats,
logs) goes through :class:`Batcher`s, so all agents share batched store calls.

Cancels and drains reach an agent whichever replica it is connected to: the
replica that records one writes a ``control`` event in the outbox (on PostgreSQL
its NOTIFY says so), and every replica's control loop reads those events and
pushes each to the agent if it holds that agent's connection. The same loop
forgets the store's cached reads that another process's write changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from pydantic import BaseModel

from conveyor import protocol, tracing
from conveyor.engine.batcher import Batcher
from conveyor.engine.dispatch_trace import dispatch_span
from conveyor.engine.engine import Engine
from conveyor.engine.events import Signal
from conveyor.engine.outbox import OutboxReader, lookbehind_for
from conveyor.engine.unfenced import unfence
from conveyor.errors import ConveyorError, StoreError
from conveyor.store import AuditEntry, ClaimRequest, JobSpec, Lease, Outcome, Report
from conveyor.store.records import (
    ClaimedJob,
    Event,
    HeartbeatResult,
    LogAppended,
    LogChunkIn,
    ReportResult,
    Submitted,
)

log = structlog.get_logger(__name__)

DISPATCH_POLL_S = 5.0
CONTROL_POLL_S = 2.0
"""Longest wait between two reads of control events without a signal (a lost NOTIFY)."""
CONTROL_PAGE = 500
REPORT_RETRIES = 6
"""A result whose store write failed is tried again this many times, with backoff from
:data:`REPORT_RETRY_S` doubling up to :data:`REPORT_RETRY_MAX_S` (about 6 s in all: a
database restart); after that the agent, which got no ack, sends it again itself."""
REPORT_RETRY_S = 0.2
REPORT_RETRY_MAX_S = 3.0


@dataclass(frozen=True)
class HeartbeatReply:
    lost: list[uuid.UUID]
    cancel_requested: list[uuid.UUID]


@dataclass
class AgentSession:
    """One live agent connection on this replica."""

    agent_id: uuid.UUID
    team_id: uuid.UUID
    name: str
    labels: dict[str, str]
    queues: list[str]
    actions: dict[str, list[str]]
    send: Callable[[BaseModel], Awaitable[None]]
    close: Callable[[str], Awaitable[None]]
    slots: int = 0
    held: int = 0  # jobs it held at its last heartbeat
    credits: int = 0
    draining: bool = False
    hungry: bool = False  # its last claim found less than it asked for: wait for new work
    claiming: bool = False  # a claim for it is in flight: no second one beside it
    passed_over: bool = False  # the dispatcher skipped it for a submit's claim: come back
    last_heard: float = 0.0  # loop time of the last message from the agent
    progress: dict[uuid.UUID, Any] = field(default_factory=dict)

    def claim_request(self) -> ClaimRequest:
        return ClaimRequest(
            agent_id=self.agent_id,
            queues=self.queues,
            actions=self.actions,
            labels=self.labels,
            limit=self.credits,
        )


class AgentHub:
    def __init__(
        self,
        engine: Engine,
        heartbeat_s: float = 10.0,
        poll_s: float = DISPATCH_POLL_S,
        *,
        unfenced_results: bool = False,
    ) -> None:
        self.engine = engine
        self.unfenced_results = unfenced_results  # test-only: see conveyor.engine.unfenced
        self.poll_s = poll_s
        # An agent silent for this long (frozen, half-open socket) gets no new work.
        self.silence_limit_s = heartbeat_s * 3
        self.store = engine.store
        self.metrics = engine.metrics
        self.sessions: dict[uuid.UUID, AgentSession] = {}
        if self.metrics is not None:
            self.metrics.watch(self._slot_gauges)
        self._credits = Signal()
        self.parked = Signal()  # fires when the dispatcher next goes idle; replaced each time
        self._turn = 0  # rotates which waiting agent a submit offers its jobs first
        self._task: asyncio.Task[None] | None = None
        self._control_task: asyncio.Task[None] | None = None
        self.reports: Batcher[Report, ReportResult] = Batcher("reports", self._flush_reports)
        self.heartbeats: Batcher[list[Lease], HeartbeatReply] = Batcher(
            "heartbeats", self._flush_heartbeats
        )
        self.logs: Batcher[LogChunkIn, LogAppended] = Batcher("logs", self.store.log_append)
        self.seen: Batcher[uuid.UUID, None] = Batcher("seen", self._flush_seen)

    # lifecycle

    async def start(self) -> None:
        for batcher in (self.reports, self.heartbeats, self.logs, self.seen):
            batcher.start()
        self._task = asyncio.create_task(self._dispatch_loop(), name="conveyor-dispatcher")
        reader = OutboxReader(await self.store.event_last_seq(), lookbehind_for(self.store.dialect))
        self._control_task = asyncio.create_task(
            self._control_loop(reader), name="conveyor-control"
        )

    async def stop(self) -> None:
        for task in (self._task, self._control_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        for session in list(self.sessions.values()):
            with contextlib.suppress(Exception):
                await session.close("server shutting down")
        for batcher in (self.reports, self.heartbeats, self.logs, self.seen):
            await batcher.stop()

    # sessions

    async def attach(self, session: AgentSession) -> None:
        """Register a session; an older connection of the same agent is closed."""
        previous = self.sessions.get(session.agent_id)
        self.sessions[session.agent_id] = session
        if previous is not None and previous is not session:
            with contextlib.suppress(Exception):
                await previous.close("replaced by a newer connection of the same agent")

    def detach(self, session: AgentSession) -> None:
        if self.sessions.get(session.agent_id) is session:
            del self.sessions[session.agent_id]

    def _slot_gauges(self) -> tuple[int, int, int]:
        """Agents connected here, their slots, and those busy as of each one's last heartbeat."""
        sessions = list(self.sessions.values())
        total = sum(s.slots for s in sessions)
        return len(sessions), total, sum(min(s.held, s.slots) for s in sessions)

    def connected_ids(self) -> set[uuid.UUID]:
        return set(self.sessions)

    def grant(self, session: AgentSession, credits: int, *, replace: bool = False) -> None:
        session.credits = credits if replace else session.credits + credits
        self._wake_dispatcher()

    def _wake_dispatcher(self) -> None:
        self._credits, fired = Signal(), self._credits
        fired.fire()

    # control: cancels, drains and cache forgets recorded by any replica

    async def _control_loop(self, reader: OutboxReader) -> None:
        loop = asyncio.get_running_loop()
        while True:
            signal = self.engine.bus.control_signal()
            try:
                start = reader.read_from(loop.time())
                while True:
                    batch = await self.store.event_control_after(
                        start, limit=CONTROL_PAGE, skip=reader.delivered()
                    )
                    await self._push_control([e for e in batch if reader.fresh(e.seq)])
                    if len(batch) < CONTROL_PAGE:
                        break
                    start = batch[-1].seq
            except Exception:
                log.exception("reading control events failed")
            await signal.wait(CONTROL_POLL_S * random.uniform(0.8, 1.2))

    async def _push_control(self, events: list[Event]) -> None:
        """Push each cancel and drain to its agent, if this replica holds its connection;
        forget cached reads another process changed (see store.read_cache)."""
        cancels: dict[uuid.UUID, list[uuid.UUID]] = {}
        for event in events:
            if "forget" in event.data:
                self.store.forget_cached(event.data["forget"])
                continue
            session = self.sessions.get(uuid.UUID(event.data["agent_id"]))
            if session is None:
                continue
            if event.data.get("cancel"):
                cancels.setdefault(session.agent_id, []).append(event.object_id)
            if event.data.get("drain"):
                session.draining = True
                with contextlib.suppress(Exception):
                    await session.send(protocol.Drain())
        for agent_id, job_ids in cancels.items():
            session = self.sessions.get(agent_id)
            if session is not None:
                log.info("pushing cancel", agent=session.name, agent_id=str(agent_id),
                         team_id=str(session.team_id), jobs=len(job_ids))  # fmt: skip
                with contextlib.suppress(Exception):
                    await session.send(protocol.Cancel(job_ids=job_ids))

    # dispatch

    async def _dispatch_loop(self) -> None:
        """Claim for every agent with credits, then sleep until new work or new credits.

        An agent whose last claim came back short is not asked for again until new
        work is signalled: new credits alone would only buy it an empty claim.
        """
        while True:
            work, credits = self.engine.bus.work_signal(), self._credits
            now = asyncio.get_running_loop().time()
            ready = [
                session
                for session in self.sessions.values()
                if session.credits > 0
                and not session.hungry
                and not session.draining
                and now - session.last_heard < self.silence_limit_s
            ]
            # Concurrently: on PostgreSQL each claim has its own connection (SKIP LOCKED keeps
            # them apart); on SQLite the writer folds them into one transaction.
            await asyncio.gather(*(self._dispatch_safely(s) for s in ready))
            waits = [
                asyncio.ensure_future(work.wait(None)),
                asyncio.ensure_future(credits.wait(None)),
            ]
            self.parked, parked = Signal(), self.parked
            parked.fire()
            try:
                timeout = self.poll_s * random.uniform(0.5, 1.5)
                retry_in_s = self.store.flow_retry_in()  # a rate limit frees a start
                if retry_in_s is not None:
                    timeout = min(timeout, retry_in_s + 0.001)
                await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waits:
                    waiter.cancel()
            self.store.flow_retry_done()
            if work.fired or not credits.fired:  # new work, the safety-net poll, a rate limit
                for session in self.sessions.values():
                    session.hungry = False

    async def _dispatch_safely(self, session: AgentSession) -> int:
        try:
            return await self._dispatch_to(session)
        except Exception:
            log.exception("dispatch failed", agent=session.name, agent_id=str(session.agent_id),
                          team_id=str(session.team_id))  # fmt: skip
            return 0

    async def _dispatch_to(self, session: AgentSession) -> int:
        if session.credits <= 0:
            return 0
        if session.claiming:  # a submit is claiming for it right now (see submit)
            session.passed_over = True
            return 0
        request = session.claim_request()
        session.claiming = True
        began_ns = time.time_ns() if tracing.enabled() else None
        try:
            claimed = await self.store.job_claim(session.team_id, request)
        finally:
            session.claiming = False
        session.hungry = len(claimed) < request.limit
        if not claimed:
            return 0
        session.credits -= len(claimed)
        await self._hand_over(session, claimed, began_ns)
        return len(claimed)

    async def _hand_over(
        self, session: AgentSession, claimed: list[ClaimedJob], began_ns: int | None = None
    ) -> None:
        """Send claimed jobs to their agent; if it is gone, release them at once.

        While tracing is on, each job's claim is a span of its own trace (from
        ``began_ns``, when the claim started), and the agent gets that span's context.
        """
        traced = tracing.enabled()
        jobs = [
            protocol.Assignment(
                job_id=job.id,
                action=job.action,
                params=job.params,
                queue=job.queue,
                attempt=job.attempt,
                max_attempts=job.max_attempts,
                lease_token=job.lease_token,
                timeout_s=job.timeout_s,
                cancel_grace_s=job.cancel_grace_s,
                # Test-only unfenced servers hide it too: the agent's own fence (it stops a
                # job past its lease) would keep the stale result the checker must catch.
                lease_s=None if self.unfenced_results else job.lease_s,
                traceparent=(
                    dispatch_span(session.agent_id, session.name, job, began_ns) if traced else None
                ),
            )
            for job in claimed
        ]
        if self.metrics is not None:
            for job in claimed:
                self.metrics.on_started(
                    job.id, job.action, job.queue, job.started_at, job.queued_at
                )
        try:
            await session.send(protocol.Assign(jobs=jobs))
        except Exception:
            # The agent is gone: hand the jobs back at once rather than wait for leases.
            releases = [Report(job.id, job.lease_token, Outcome.RELEASED) for job in claimed]
            results = await self.store.job_report(session.team_id, releases)
            for release, result in zip(releases, results, strict=True):
                self._count_report(release, result)
            raise

    # submit with direct dispatch

    async def submit(
        self, team_id: uuid.UUID, specs: list[JobSpec], *, audit: AuditEntry | None = None
    ) -> list[Submitted]:
        """Submit jobs; agents of the team waiting here with free credits claim them at once.

        The claim runs in the submit's own transaction (it is the ordinary claim:
        every rule applies), so a job submitted to an idle fleet starts without a
        wake-up and a second transaction. Jobs no waiting agent takes stay queued
        for the dispatcher. The agents take turns being asked first.
        """
        takers = self._waiting(team_id)
        traced: tracing.Attributes | None = (
            {"db.system.name": self.store.dialect, "conveyor.jobs": len(specs)}
            if tracing.enabled()
            else None
        )
        if not takers:
            with tracing.span("conveyor.store.job_submit", attributes=traced):
                submitted = await self.store.job_submit_many(team_id, specs, audit=audit)
            self._count_submitted(specs, submitted)
            return submitted
        for session in takers:
            session.claiming = True
        began_ns = time.time_ns() if tracing.enabled() else None
        try:
            with tracing.span("conveyor.store.job_submit_and_claim", attributes=traced):
                submitted, claims = await self.store.job_submit_and_claim(
                    team_id, specs, [s.claim_request() for s in takers], audit=audit
                )
        finally:
            for session in takers:
                session.claiming = False
            if any(session.passed_over for session in takers):
                # The submit asked only for its own jobs; older ones may still be there.
                for session in takers:
                    session.passed_over = False
                self._wake_dispatcher()
        self._count_submitted(specs, submitted)
        for session, claimed in zip(takers, claims, strict=True):
            if claimed:
                session.credits -= len(claimed)
                try:
                    await self._hand_over(session, claimed, began_ns)
                except Exception:  # the submit stands; the jobs went back to the queue
                    log.warning("handing over submitted jobs failed", agent=session.name,
                                agent_id=str(session.agent_id), team_id=str(session.team_id))  # fmt: skip
        return submitted

    def _count_submitted(self, specs: list[JobSpec], submitted: list[Submitted]) -> None:
        if self.metrics is None:
            return
        self.metrics.on_submitted(
            (spec.action, spec.queue)
            for spec, done in zip(specs, submitted, strict=True)
            if done.created
        )

    def _waiting(self, team_id: uuid.UUID) -> list[AgentSession]:
        """The team's agents here that could take work now, rotated for a fair first pick."""
        now = asyncio.get_running_loop().time()
        takers = [
            session
            for session in self.sessions.values()
            if session.team_id == team_id
            and session.credits > 0
            and not session.claiming
            and not session.draining
            and now - session.last_heard < self.silence_limit_s
        ]
        if len(takers) > 1:
            self._turn = (self._turn + 1) % len(takers)
            takers = takers[self._turn :] + takers[: self._turn]
        return takers

    # batched writes

    async def report(self, team_id: uuid.UUID, report: Report) -> ReportResult:
        """Store one agent's result or release, trying again while the store fails.

        Each report retries in its own task, so the other agents' reports go on being
        batched meanwhile; a refusal (not a store failure) is not retried.
        """
        pause = REPORT_RETRY_S
        for _ in range(REPORT_RETRIES):
            try:
                return self._count_report(report, await self.reports.submit(team_id, report))
            except Exception as exc:
                if not _transient(exc):
                    raise
                log.warning("storing a result failed; trying again", job_id=str(report.job_id),
                            team_id=str(team_id), retry_in_s=pause, error=str(exc)[:200])  # fmt: skip
            await asyncio.sleep(pause * random.uniform(0.5, 1.0))  # backoff, not a state
            pause = min(pause * 2, REPORT_RETRY_MAX_S)
        return self._count_report(report, await self.reports.submit(team_id, report))

    def _count_report(self, report: Report, result: ReportResult) -> ReportResult:
        if result.applied and self.metrics is not None:
            self.metrics.on_reported(report.job_id, str(report.outcome), result.state)
        return result

    async def _flush_reports(self, team_id: uuid.UUID, reports: list[Report]) -> list[ReportResult]:
        # A report that makes work claimable (a job back in the queue, room under a
        # concurrency limit) announces it on commit, which wakes the dispatcher of every
        # replica: the agents waiting for work on the others too.
        if self.unfenced_results:
            reports = await unfence(self.store, team_id, reports)
        return await self.store.job_report(team_id, reports)

    async def _flush_seen(self, team_id: uuid.UUID, agent_ids: list[uuid.UUID]) -> list[None]:
        """Every agent's liveness ping lands in one write per batch, not one per agent."""
        await self.store.agents_seen(team_id, sorted(set(agent_ids)))
        return [None] * len(agent_ids)

    async def _flush_heartbeats(
        self, team_id: uuid.UUID, batches: list[list[Lease]]
    ) -> list[HeartbeatReply]:
        # A job named twice (a stale agent and the current one) goes in separate
        # rounds, so each lease gets its own verdict.
        rounds: list[dict[uuid.UUID, Lease]] = []
        for lease in (lease for batch in batches for lease in batch):
            target = next((r for r in rounds if lease.job_id not in r), None)
            if target is None:
                rounds.append(target := {})
            target[lease.job_id] = lease
        lost: set[tuple[uuid.UUID, uuid.UUID]] = set()
        cancel: set[uuid.UUID] = set()
        for round_ in rounds:
            result: HeartbeatResult = await self.store.lease_extend(team_id, list(round_.values()))
            lost.update((job_id, round_[job_id].token) for job_id in result.lost)
            cancel.update(result.cancel_requested)
        replies = []
        for batch in batches:
            replies.append(
                HeartbeatReply(
                    lost=[x.job_id for x in batch if (x.job_id, x.token) in lost],
                    cancel_requested=[
                        x.job_id
                        for x in batch
                        if x.job_id in cancel and (x.job_id, x.token) not in lost
                    ],
                )
            )
        return replies


def _transient(exc: Exception) -> bool:
    """Whether a store call may succeed if tried again: anything but a refusal."""
    return isinstance(exc, StoreError) or not isinstance(exc, ConveyorError)
